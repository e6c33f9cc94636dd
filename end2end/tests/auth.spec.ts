import { expect, test } from "./fixtures";
import { OIDC_URL } from "../playwright.config";

test("signing in through the identity provider lands on the page first asked for", async ({ page }) => {
  await page.goto(`${OIDC_URL}/services/payments/ledger`);

  // The provider's own login and consent pages.
  await page.locator("input[name=login]").fill("payments-lead");
  await page.locator("input[name=password]").fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();

  await expect(page).toHaveURL(`${OIDC_URL}/services/payments/ledger`);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("ledger");
  await expect(page.getByTestId("user-name")).toHaveText("Lee Lead");
  await expect(page.getByText("payments · lead")).toBeVisible();
  await expect(page.getByText("Development sign-in")).toHaveCount(0);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Signed out" })).toBeVisible();
  const response = await page.goto(`${OIDC_URL}/api/v1/me`);
  expect(response?.status()).toBe(401);
});

test("development sign-in shows its banner and creates a token shown once", async ({ page }) => {
  await page.goto("/settings/tokens");
  await expect(page.getByText("Development sign-in")).toBeVisible();
  await page.getByRole("button", { name: /Search Lead/ }).click();
  await expect(page).toHaveURL(/\/settings\/tokens$/);
  await expect(page.getByText("search · lead")).toBeVisible();
  await page.waitForFunction(() => document.body.dataset.hydrated === "true");

  await page.getByLabel("Name").fill("ci-deploys");
  await page.getByLabel(/request \(submit, cancel, comment\)/).check();
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = page.getByTestId("new-token").locator("code");
  await expect(secret).toHaveText(/^sgp_/);
  const token = await secret.textContent();
  await expect(page.getByTestId("tokens")).toContainText("ci-deploys");
  await expect(page.getByTestId("tokens")).toContainText("read,request");

  const me = await page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  expect(me.status()).toBe(200);
  expect((await me.json()).email).toBe("search-lead@example.com");

  await page.getByRole("button", { name: "Revoke ci-deploys" }).click();
  await expect(page.getByTestId("tokens")).toHaveCount(0);
  const after = await page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  expect(after.status()).toBe(401);

  // Every page carries the banner, not only the sign-in page.
  await page.goto("/services");
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(page.getByText("Development sign-in")).toBeVisible();
});
