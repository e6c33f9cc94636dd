import AxeBuilder from "@axe-core/playwright";
import { expect, hydrated, test } from "./fixtures";
import { signInAsDemoUser } from "./sign-in";

// The search team's queue: no other spec asks the search lead for a review, so what the
// queue holds is what these tests put there. The file sorts after the catalog specs on
// purpose: the services approved here are applied to the demo cluster and join search's
// catalog, whose counts those specs check.

/** Axe findings as rule and elements, so a failure reads at a glance. */
async function violations(page: import("@playwright/test").Page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** A new search service asked for from `page`'s session (the API, as its pages call it); its id. */
async function requestService(page: import("@playwright/test").Page, name: string): Promise<number> {
  const response = await page.request.post("/api/v1/requests", {
    headers: { Origin: new URL(page.url()).origin },
    data: {
      kind: "service",
      team: "search",
      cluster: "demo",
      reason: "Reviewed with the others",
      spec: { name, image: `ghcr.io/acme/${name}:1.0.0`, port: 8080 },
    },
  });
  expect(response.status()).toBe(201);
  return (await response.json()).request.id;
}

test("a lead selects two requests in the queue, approves both at once and the queue empties", async ({
  engineer,
  lead,
}) => {
  await signInAsDemoUser(engineer, "Search Engineer", "/requests");
  const indexer = await requestService(engineer, "bulk-indexer");
  const crawler = await requestService(engineer, "bulk-crawler");

  await signInAsDemoUser(lead, "Search Lead", "/reviews");
  await hydrated(lead);
  const queue = lead.getByTestId("review-queue");
  await expect(queue.getByRole("link")).toHaveCount(2);
  const approve = lead.getByRole("button", { name: /^Approve selected/ });
  await expect(approve).toHaveText("Approve selected (0)");
  await expect(approve).toBeDisabled();
  expect(await violations(lead)).toEqual([]);

  // "Select all of team" ticks both, and clears them again.
  await lead.getByRole("button", { name: "Select all of team search" }).click();
  await expect(approve).toHaveText("Approve selected (2)");
  await lead.getByRole("button", { name: "Clear team search" }).click();
  await expect(approve).toHaveText("Approve selected (0)");

  // The keyboard is enough: each row's checkbox has a label, Space ticks it.
  const indexerBox = lead.getByRole("checkbox", { name: `Select #${indexer} service bulk-indexer` });
  const crawlerBox = lead.getByRole("checkbox", { name: `Select #${crawler} service bulk-crawler` });
  await indexerBox.focus();
  await lead.keyboard.press("Space");
  await crawlerBox.check();
  await expect(indexerBox).toBeChecked();
  await expect(approve).toHaveText("Approve selected (2)");
  await lead.getByLabel("Comment on every approval (optional)").fill("Both read, both fine");

  // Each approval carries the plan hash the queue showed for its request.
  const sent = lead.waitForRequest((r) => r.url().endsWith("/rpc/reviews/approve"));
  await approve.click();
  const body = JSON.parse((await sent).postData() ?? "{}");
  expect(body.approvals.map((a: { request_id: number }) => a.request_id)).toEqual([indexer, crawler]);
  for (const item of body.approvals) {
    expect(item.plan_hash).toMatch(/^[0-9a-f]{64}$/);
  }

  const results = lead.getByTestId("approval-result-list");
  await expect(lead.getByTestId("approval-results")).toContainText("Approved 2 of 2.");
  await expect(results.locator(`li[data-request="${indexer}"]`)).toContainText(
    "approved service bulk-indexer; it is queued",
  );
  await expect(results.locator(`li[data-request="${crawler}"]`)).toContainText(
    "approved service bulk-crawler; it is queued",
  );
  // Both left the queue.
  await expect(lead.getByTestId("empty-state")).toContainText("Nothing to review");
  await expect(queue).toHaveCount(0);
  expect(await violations(lead)).toEqual([]);

  // Each is its own approval, with the comment, and moves on to be applied.
  await results.getByRole("link", { name: `#${indexer}` }).click();
  await expect(lead).toHaveURL(new RegExp(`/requests/${indexer}$`));
  await expect(lead.getByTestId("approval-count")).toHaveText("1 of 1 approval");
  await expect(lead.getByTestId("review")).toContainText("Both read, both fine");
  await expect(lead.getByRole("heading", { level: 1 })).toContainText(/Queued|Applying|Applied/);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the queue is a plain form: the results come back with the queue", async ({ browser }) => {
    const engineerContext = await browser.newContext({ javaScriptEnabled: false });
    const engineer = await engineerContext.newPage();
    await signInAsDemoUser(engineer, "Search Engineer", "/requests");
    const ranker = await requestService(engineer, "bulk-ranker");
    const speller = await requestService(engineer, "bulk-speller");

    const leadContext = await browser.newContext({ javaScriptEnabled: false });
    const lead = await leadContext.newPage();
    await signInAsDemoUser(lead, "Search Lead", "/reviews");
    const approve = lead.getByRole("button", { name: "Approve selected" });

    // Nothing ticked: the page says so, nothing changes.
    await approve.click();
    await expect(lead.getByRole("alert")).toContainText("select at least one request to approve");

    await lead.getByRole("checkbox", { name: `Select #${ranker} service bulk-ranker` }).check();
    await approve.click();
    await expect(lead).toHaveURL(/\/reviews$/);
    await expect(lead.getByText("Approved 1 of 1.")).toBeVisible();
    await expect(lead.locator(`li[data-request="${ranker}"]`)).toContainText("approved service bulk-ranker");
    // The queue below is current: only the other one still waits.
    await expect(lead.getByTestId("review-queue").getByRole("link")).toHaveCount(1);
    await lead.getByRole("checkbox", { name: `Select #${speller} service bulk-speller` }).check();
    await approve.click();
    await expect(lead.locator(`li[data-request="${speller}"]`)).toContainText("approved service bulk-speller");
    await expect(lead.getByTestId("empty-state")).toContainText("Nothing to review");

    await engineerContext.close();
    await leadContext.close();
  });
});
