import { expect, test } from "./fixtures";
import { signInAsDemoUser } from "./sign-in";

test.beforeEach(async ({ page }) => {
  await signInAsDemoUser(page, "Search Engineer");
  await page.waitForFunction(() => document.body.dataset.hydrated === "true");
});

test("filter by team, open a service, follow its host to the hosts list and back", async ({ page }) => {
  await page.getByLabel("Team").selectOption("payments");
  await expect(page.getByTestId("result-count")).toHaveText("1–16 of 16");
  await page.getByRole("link", { name: "merchant-portal" }).click();

  await expect(page).toHaveURL(/\/services\/payments\/merchant-portal$/);
  const hosts = page.getByTestId("service-hosts");
  await expect(hosts).toContainText("merchants.payments.example.com");
  await expect(page.getByTestId("service-certificates")).toContainText("expiring soon");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Hosts" }).click();
  const row = page.getByRole("row", { name: /merchants\.payments\.example\.com/ });
  await row.getByRole("link", { name: "payments/merchant-portal" }).click();
  await expect(page).toHaveURL(/\/services\/payments\/merchant-portal$/);
});

test("certificates expiring within 30 days stand out", async ({ page }) => {
  await page.goto("/certificates");
  const expiring = page.locator("tr.expiring");
  await expect(expiring).toHaveCount(2);
  await expect(expiring.first()).toContainText("wildcard-search");
});

test("teams show their leads once they signed in", async ({ page }) => {
  await page.goto("/teams");
  await page.getByRole("link", { name: "Search" }).first().click();
  await expect(page).toHaveURL(/\/teams\/search$/);
  await expect(page.getByRole("heading", { name: "Members" }).locator("..")).toContainText("search-engineer@example.com");
  await page.getByRole("link", { name: /14 services/ }).click();
  await expect(page.getByTestId("result-count")).toHaveText("1–14 of 14");
});
