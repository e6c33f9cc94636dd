import AxeBuilder from "@axe-core/playwright";
import { expect, hydrated, test } from "./fixtures";
import { signInAsDemoUser } from "./sign-in";

/** Each violation as its rule and the elements at fault, so a failure reads at a glance. */
async function violations(page: import("@playwright/test").Page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

const pages = [
  "/services",
  "/services/payments/ledger",
  "/teams",
  "/teams/payments",
  "/hosts",
  "/certificates",
  "/clusters",
  "/infrastructure",
  "/infrastructure/object?path=clusters/demo/payments/deployment-ledger.yaml",
  "/requests",
  "/requests/new?kind=service",
  "/requests/new?kind=ingress",
  "/requests/new?kind=certificate",
  "/requests/new?kind=exposure",
  "/requests/new?kind=decommission",
  "/requests/new?kind=restore",
  "/requests/new?kind=adopt",
  "/requests/new?kind=import",
  "/reviews",
  "/audit",
  "/admin/users",
  "/admin/users/1",
  "/settings/tokens",
  "/no-such-page",
];

test("the sign-in page has no accessibility violations", async ({ page }) => {
  await page.goto("/login");
  expect(await violations(page)).toEqual([]);
});

for (const path of pages) {
  test(`${path} has no accessibility violations once hydrated`, async ({ page }) => {
    await signInAsDemoUser(page, "Platform Admin");
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    expect(await violations(page)).toEqual([]);
  });
}

test("the request form with its live preview filled in has no accessibility violations", async ({ page }) => {
  await signInAsDemoUser(page, "Payments Engineer", "/requests/new?kind=service");
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill("a11y-preview");
  await page.getByLabel("Image", { exact: true }).fill("ghcr.io/acme/a11y-preview:1.0.0");
  await page.getByLabel("Reason").fill("The preview scrolls on its own");
  // The preview now holds the manifests and the plan: long enough to scroll.
  await expect(page.getByTestId("preview-yaml")).toContainText("kind: Deployment");
  expect(await violations(page)).toEqual([]);
});
