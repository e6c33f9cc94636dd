import { expect, test } from "./fixtures";
import { signInAsDemoUser } from "./sign-in";

const rows = "[data-testid=services] tbody tr";

test.beforeEach(async ({ page }) => {
  await signInAsDemoUser(page, "Payments Engineer");
});

test("search narrows the catalog as you type, without a page load", async ({ page }) => {
  await page.goto("/services");
  await expect(page.locator(rows)).toHaveCount(20);
  await expect(page.getByTestId("result-count")).toHaveText("1–20 of 30");
  // Wait until the wasm bundle has taken over the server-rendered page.
  await page.waitForFunction(() => document.body.dataset.hydrated === "true");

  // A full navigation would wipe this marker; client-side updates keep it.
  await page.evaluate(() => ((window as any).__stillSamePage = true));
  await page.getByLabel("Search services").pressSequentially("ledg", { delay: 40 });

  await expect(page.locator(rows)).toHaveCount(1);
  await expect(page.locator(rows).first()).toContainText("ledger");
  await expect(page).toHaveURL(/\/services\?q=ledg$/);
  expect(await page.evaluate(() => (window as any).__stillSamePage)).toBe(true);

  await page.getByRole("link", { name: "ledger" }).click();
  await expect(page).toHaveURL(/\/services\/payments\/ledger$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("ledger");
  await expect(page.getByText("ghcr.io/acme/ledger:3.0.0", { exact: true })).toBeVisible();
  // ... and the manifests as last applied.
  await expect(page.getByTestId("service-applied")).toContainText("image: ghcr.io/acme/ledger:3.0.0");
});

test("team filter and pagination are kept in the URL", async ({ page }) => {
  await page.goto("/services");
  await page.waitForFunction(() => document.body.dataset.hydrated === "true");
  await page.getByLabel("Team").selectOption("search");
  await expect(page).toHaveURL(/team=search/);
  await expect(page.getByTestId("result-count")).toHaveText("1–14 of 14");

  await page.getByLabel("Status").selectOption("failed");
  await expect(page).toHaveURL(/team=search&status=failed/);
  await expect(page.getByTestId("result-count")).toHaveText("1–1 of 1");
  await page.getByLabel("Sort by").selectOption("name");
  await expect(page).toHaveURL(/sort=name/);

  await page.goto("/services?sort=name");
  await expect(page.locator(rows).first()).toContainText("analytics-collector");
  await expect(page.getByLabel("Sort by")).toHaveValue("name");

  await page.goto("/services?page=2");
  await expect(page.getByTestId("result-count")).toHaveText("21–30 of 30");
  await page.getByRole("link", { name: "← Previous" }).click();
  await expect(page).toHaveURL(/\/services$/);
});

test("an unknown service shows the not-found page", async ({ page }) => {
  const response = await page.goto("/services/payments/no-such-service");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await page.getByRole("link", { name: "Browse the service catalog" }).click();
  await expect(page.locator(rows)).toHaveCount(20);
});
