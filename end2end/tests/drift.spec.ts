import AxeBuilder from "@axe-core/playwright";
import { CLUSTER_URL, KUBE_API_URL } from "../playwright.config";
import { expect, hydrated, test } from "./fixtures";
import { signInAsDemoUser } from "./sign-in";

// Against the portal on 3102, whose cluster "kind" is the test Kubernetes API server: a
// service is applied for real, changed behind Stargate's back, shown as drifted, and
// restored through review, then changed again and adopted.
test.use({ baseURL: CLUSTER_URL });

/** Someone scales the Deployment by hand, as `kubectl scale` / `kubectl edit` would. */
async function scaleByHand(name: string, replicas: number) {
  const response = await fetch(
    `${KUBE_API_URL}/apis/apps/v1/namespaces/payments/deployments/${name}?fieldManager=kubectl-edit`,
    {
      method: "PATCH",
      headers: { "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ spec: { replicas } }),
    },
  );
  expect(response.status, await response.text()).toBe(200);
}

/** The lead approves the request at `path` and the requester's page follows it to Applied. */
async function approveAndWait(
  lead: import("@playwright/test").Page,
  requester: import("@playwright/test").Page,
  path: string,
) {
  await lead.goto(path);
  await hydrated(lead);
  await lead.getByRole("button", { name: "Approve" }).click();
  await expect(requester.getByRole("heading", { level: 1 })).toContainText("Applied", {
    timeout: 20_000,
  });
}

test("a hand-made change shows as drift on the service page; a reviewed restore repairs it, a reviewed adopt keeps it", async ({
  engineer,
  lead,
}) => {
  // Two reviewed requests applied for real, and two drift checks.
  test.setTimeout(120_000);
  const name = `drifty-${Date.now() % 100000}`;
  await signInAsDemoUser(lead, "Payments Lead", "/reviews");

  // A new service on the real (test) cluster.
  await signInAsDemoUser(engineer, "Payments Engineer", "/requests/new?kind=service");
  await hydrated(engineer);
  await engineer.getByLabel("Team").selectOption("payments");
  await engineer.getByLabel("Cluster").selectOption("kind");
  await engineer.getByLabel("Name", { exact: true }).fill(name);
  await engineer.getByLabel("Image", { exact: true }).fill("ghcr.io/acme/drifty:1.0.0");
  await engineer.getByLabel("Port", { exact: true }).fill("8080");
  await engineer.getByLabel("Replicas", { exact: true }).fill("2");
  await engineer.getByLabel("Reason").fill("A service to drift");
  await engineer.getByRole("button", { name: "Submit for review" }).click();
  await expect(engineer).toHaveURL(/\/requests\/\d+$/);
  await hydrated(engineer);
  await approveAndWait(lead, engineer, new URL(engineer.url()).pathname);

  // In sync once checked.
  const servicePath = `/services/payments/${name}`;
  await engineer.goto(servicePath);
  const drift = engineer.getByRole("region", { name: "Drift" });
  await expect(async () => {
    await engineer.reload();
    await expect(drift).toContainText("In sync", { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });

  // Scaled by hand to 5: the page names the field, both values and who changed it.
  await scaleByHand(name, 5);
  await expect(async () => {
    await engineer.reload();
    await expect(drift).toContainText("Drifted", { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await expect(drift).toContainText("spec.replicas");
  await expect(drift).toContainText("kubectl-edit");
  const fieldRow = drift.locator("tr", { hasText: "spec.replicas" });
  await expect(fieldRow).toContainText("5");
  await expect(fieldRow).toContainText("2");
  const axe = await new AxeBuilder({ page: engineer }).analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);

  // The catalog's "drifted" filter lists it.
  await engineer.goto("/services?drift=drifted");
  await expect(engineer.getByRole("link", { name, exact: true })).toBeVisible();

  // Restore through review: the plan shows live → approved.
  await engineer.goto(servicePath);
  await hydrated(engineer);
  await engineer.getByRole("link", { name: `Restore the approved state of service ${name}` }).click();
  await expect(engineer).toHaveURL(/\/requests\/new\?kind=restore/);
  await hydrated(engineer);
  await expect(engineer.getByLabel("Service", { exact: true })).toHaveValue(name);
  const plan = engineer.getByTestId("plan");
  await expect(plan.locator("li", { hasText: `Deployment payments/${name}` })).toContainText(
    "spec.replicas",
  );
  await engineer.getByLabel("Reason").fill("Someone scaled it by hand");
  await engineer.getByRole("button", { name: "Submit for review" }).click();
  await expect(engineer).toHaveURL(/\/requests\/\d+$/);
  await hydrated(engineer);
  await approveAndWait(lead, engineer, new URL(engineer.url()).pathname);

  // The cluster has 2 replicas again and the page says so.
  const live = await (
    await fetch(`${KUBE_API_URL}/apis/apps/v1/namespaces/payments/deployments/${name}`)
  ).json();
  expect(live.spec.replicas).toBe(2);
  await engineer.goto(servicePath);
  await expect(async () => {
    await engineer.reload();
    await expect(drift).toContainText("In sync", { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });

  // Scaled by hand again, and this time the team keeps it: adopting makes 3 the approved
  // count, and the catalog says so.
  await scaleByHand(name, 3);
  await expect(async () => {
    await engineer.reload();
    await expect(drift).toContainText("Drifted", { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await hydrated(engineer);
  await engineer.getByRole("link", { name: `Adopt the live values of service ${name}` }).click();
  await expect(engineer).toHaveURL(/\/requests\/new\?kind=adopt/);
  await hydrated(engineer);
  await expect(plan.locator("li", { hasText: `Deployment payments/${name}` })).toContainText(
    "spec.replicas",
  );
  await engineer.getByLabel("Reason").fill("Three replicas carry the load");
  await engineer.getByRole("button", { name: "Submit for review" }).click();
  await expect(engineer).toHaveURL(/\/requests\/\d+$/);
  await hydrated(engineer);
  await approveAndWait(lead, engineer, new URL(engineer.url()).pathname);
  await engineer.goto(servicePath);
  await expect(engineer.getByTestId("service-replicas")).toHaveText(/^3\b/);
  // What the cluster says of its pods, from the same watch.
  await expect(async () => {
    await engineer.reload();
    await expect(engineer.getByTestId("service-replicas")).toContainText("3/3 available", {
      timeout: 1_000,
    });
  }).toPass({ timeout: 15_000 });
  await expect(async () => {
    await engineer.reload();
    await expect(drift).toContainText("In sync", { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await expect(drift).not.toContainText("Drifted");
});
