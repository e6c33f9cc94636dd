import { expect, hydrated, test } from "./fixtures";
import { signInAsDemoUser } from "./sign-in";

test("an engineer changes an image from the service page and follows it to applied", async ({
  engineer,
  lead,
}) => {
  await signInAsDemoUser(engineer, "Payments Engineer", "/services/payments/payouts");
  await hydrated(engineer);
  await engineer.getByRole("link", { name: "Change", exact: true }).click();
  await expect(engineer).toHaveURL(/\/requests\/new\?kind=service&team=payments&of=payouts/);
  await hydrated(engineer);

  // The form holds the approved state; only what should differ is typed.
  await expect(engineer.getByLabel("Name", { exact: true })).toHaveValue("payouts");
  const image = engineer.getByLabel("Image", { exact: true });
  await expect(image).toHaveValue(/^ghcr\.io\/acme\/payouts:/);
  await image.fill("ghcr.io/acme/payouts:2.4.0");

  // The plan shows that one field, nothing else.
  const plan = engineer.getByTestId("plan");
  const deployment = plan.locator("li", { hasText: "Deployment payments/payouts" });
  await expect(deployment.locator("td.added")).toHaveText("ghcr.io/acme/payouts:2.4.0");
  await expect(deployment.locator("tr")).toHaveCount(1);
  await expect(plan.locator("li", { hasText: "Service payments/payouts" })).toContainText("unchanged");

  await engineer.getByLabel("Reason").fill("2.4 writes settlement files faster");
  await engineer.getByRole("button", { name: "Submit for review" }).click();
  await expect(engineer).toHaveURL(/\/requests\/\d+$/);
  const requestPath = new URL(engineer.url()).pathname;
  await hydrated(engineer);

  await signInAsDemoUser(lead, "Payments Lead", requestPath);
  await hydrated(lead);
  await lead.getByRole("button", { name: "Approve" }).click();

  // The engineer's page follows to applied without a reload; the catalog has the image.
  await expect(engineer.getByRole("heading", { level: 1 })).toContainText("Applied", {
    timeout: 15_000,
  });
  await engineer.goto("/services/payments/payouts");
  await expect(engineer.getByText("ghcr.io/acme/payouts:2.4.0", { exact: true })).toBeVisible();
});

test("decommission opens filled from the service page and names what a host still needs", async ({
  page,
}) => {
  await signInAsDemoUser(page, "Payments Engineer", "/services/payments/ledger");
  await hydrated(page);
  await page.getByRole("link", { name: "Decommission" }).click();
  await expect(page.getByLabel("Services")).toHaveValue("ledger");
  // Without the hosts the service may not go; the form names the host that still routes.
  const hosts = page.getByLabel("Hosts");
  const listed = await hosts.inputValue();
  if (listed) {
    await hosts.fill("");
    const first = listed.split("\n")[0];
    await expect(page.getByText(`${first} still routes to service ledger`, { exact: false })).toBeVisible({
      timeout: 10_000,
    });
    await hosts.fill(listed);
  }
  const plan = page.getByTestId("plan");
  await expect(plan.locator("li", { hasText: "Deployment payments/ledger" })).toContainText("delete");
});
