import AxeBuilder from "@axe-core/playwright";
import { expect, hydrated, test } from "./fixtures";
import { signInAsDemoUser } from "./sign-in";

/** Axe findings as rule and elements, so a failure reads at a glance. */
async function violations(page: import("@playwright/test").Page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test("an applied service is a commit: its history shows the diff, the commit and the tree show it too", async ({
  engineer,
  lead,
}) => {
  // The engineer asks for a new service; the lead approves it; the dry-run demo cluster
  // applies it (and commits it, like any other).
  await signInAsDemoUser(engineer, "Payments Engineer", "/requests/new?kind=service");
  await hydrated(engineer);
  await engineer.getByLabel("Name", { exact: true }).fill("telescope");
  await engineer.getByLabel("Image", { exact: true }).fill("ghcr.io/acme/telescope:1.0.0");
  await engineer.getByLabel("Reason").fill("Telescope watches the other services");
  await engineer.getByRole("button", { name: "Submit for review" }).click();
  await expect(engineer).toHaveURL(/\/requests\/\d+$/);
  const requestPath = new URL(engineer.url()).pathname;

  await signInAsDemoUser(lead, "Payments Lead", requestPath);
  await hydrated(lead);
  await lead.getByRole("button", { name: "Approve" }).click();
  await expect(lead.getByRole("heading", { level: 1 })).toContainText("Applied", { timeout: 15_000 });

  // The service page links its objects' histories.
  await engineer.goto("/services/payments/telescope");
  await hydrated(engineer);
  await engineer.getByTestId("service-iac").getByRole("link", { name: "Deployment history" }).click();
  await expect(engineer).toHaveURL(/\/infrastructure\/object\?path=clusters\/demo\/payments\/deployment-telescope\.yaml$/);
  await expect(engineer.getByRole("heading", { level: 1 })).toHaveText("Deployment telescope");
  await expect(engineer.getByTestId("object-yaml")).toContainText("image: ghcr.io/acme/telescope:1.0.0");
  const history = engineer.getByTestId("object-history");
  await expect(history.locator("li")).toHaveCount(1);
  await expect(history.locator(".diff-added", { hasText: "image: ghcr.io/acme/telescope:1.0.0" })).toBeVisible();
  await expect(history.getByRole("link", { name: /request #\d+/ })).toHaveAttribute("href", requestPath);
  expect(await violations(engineer)).toEqual([]);

  // The entry's commit: its message names the request; every file it added has a diff.
  await history.getByRole("link", { name: /^[0-9a-f]{8}$/ }).click();
  await expect(engineer.getByRole("heading", { level: 1 })).toContainText("Commit");
  await expect(engineer.getByTestId("commit-message")).toContainText(`Stargate-Request: ${requestPath.split("/").pop()}`);
  const files = engineer.getByTestId("commit-files");
  await expect(files.getByRole("link", { name: "clusters/demo/payments/deployment-telescope.yaml" })).toBeVisible();
  await expect(files.getByRole("link", { name: "clusters/demo/payments/service-telescope.yaml" })).toBeVisible();
  await expect(files.locator(".diff-added", { hasText: "kind: Deployment" })).toBeVisible();
  expect(await violations(engineer)).toEqual([]);

  // The Infrastructure page: the demo cluster's objects and its commits, newest first.
  await engineer.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Infrastructure" }).click();
  await expect(engineer.getByRole("heading", { level: 1 })).toHaveText("Infrastructure");
  await expect(engineer.getByTestId("iac-tree").getByRole("link", { name: "deployment telescope" })).toBeVisible();
  const newest = engineer.getByTestId("iac-log").locator("li").first();
  await expect(newest).toContainText("service telescope");
  await expect(newest.getByRole("link", { name: /request #\d+/ })).toHaveAttribute("href", requestPath);
  expect(await violations(engineer)).toEqual([]);
});
