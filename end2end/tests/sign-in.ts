import { expect, type Page } from "@playwright/test";

/** Signs in through the development sign-in page as one of the demo users. */
export async function signInAsDemoUser(page: Page, name: string, path = "/services") {
  await page.goto(path);
  await expect(page).toHaveURL(/\/login\?return_to=/);
  await page.getByRole("button", { name: new RegExp(name) }).click();
  await expect(page.getByTestId("user-name")).toHaveText(name);
}
