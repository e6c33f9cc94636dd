import { expect, hydrated, test } from "./fixtures";
import { signInAsDemoUser } from "./sign-in";

test("an engineer submits, a lead reviews the diff and approves, the engineer's page follows", async ({
  engineer,
  lead,
}) => {
  // The engineer asks for a new image of an existing service.
  await signInAsDemoUser(engineer, "Payments Engineer", "/requests/new?kind=service");
  await engineer.waitForFunction(() => document.body.dataset.hydrated === "true");
  await engineer.getByLabel("Name", { exact: true }).fill("ledger");
  await engineer.getByLabel("Image", { exact: true }).fill("ghcr.io/acme/ledger:3.1.0");
  await engineer.getByLabel("Replicas", { exact: true }).fill("4");
  await expect(engineer.getByTestId("preview-yaml")).toContainText("ghcr.io/acme/ledger:3.1.0");
  await engineer.getByLabel("Reason").fill("Ledger 3.1 fixes rounding");
  await engineer.getByRole("button", { name: "Submit for review" }).click();
  await expect(engineer).toHaveURL(/\/requests\/\d+$/);
  const requestUrl = engineer.url();
  await expect(engineer.getByRole("heading", { level: 1 })).toContainText("Pending review");
  await engineer.waitForFunction(() => document.body.dataset.hydrated === "true");
  // The requester cannot approve their own request.
  await expect(engineer.getByRole("button", { name: "Approve" })).toHaveCount(0);

  // The lead sees the badge, opens the queue and the request.
  await signInAsDemoUser(lead, "Payments Lead", "/requests");
  await expect(lead.getByTestId("review-count")).not.toHaveText("0");
  await lead.getByRole("navigation", { name: "Main" }).getByRole("link", { name: /Reviews/ }).click();
  await lead.getByTestId("review-queue").getByRole("link", { name: /service ledger/ }).last().click();
  await expect(lead).toHaveURL(requestUrl);

  // The plan reads as a diff: the Deployment's image and replicas change.
  const deployment = lead.getByTestId("plan").locator("li", { hasText: "Deployment payments/ledger" });
  await expect(deployment).toContainText("update");
  const image = deployment.locator("tr", { hasText: "spec.template.spec.containers[0].image" });
  await expect(image.locator("td.removed")).toContainText("ghcr.io/acme/ledger:3.0.0");
  await expect(image.locator("td.added")).toContainText("ghcr.io/acme/ledger:3.1.0");
  await expect(deployment.locator("tr", { hasText: "spec.replicas" })).toBeVisible();
  await expect(lead.getByTestId("manifests")).toContainText("image: ghcr.io/acme/ledger:3.1.0");

  await lead.waitForFunction(() => document.body.dataset.hydrated === "true");
  await lead.getByLabel("Comment (optional)").fill("Looks good");
  await engineer.evaluate(() => ((window as any).__stillSamePage = true));
  // The approval carries the hash of the plan this page displayed.
  const shown = await lead.getByTestId("plan-hash").getAttribute("title");
  expect(shown).toMatch(/^[0-9a-f]{64}$/);
  const sent = lead.waitForRequest((r) => r.url().endsWith("/rpc/requests/approve"));
  await lead.getByRole("button", { name: "Approve" }).click();
  expect(new URLSearchParams((await sent).postData() ?? "").get("plan_hash")).toBe(shown);
  await expect(lead.getByTestId("timeline")).toContainText("approved; the request is queued");

  // The engineer's page follows without a reload: approved, then applied by the worker
  // (the demo cluster is a dry run, said so on the timeline).
  await expect(engineer.getByTestId("timeline")).toContainText("Looks good", { timeout: 15_000 });
  await expect(engineer.getByRole("heading", { level: 1 })).toContainText("Applied", {
    timeout: 15_000,
  });
  await expect(engineer.getByTestId("timeline")).toContainText("dry run");
  expect(await engineer.evaluate(() => (window as any).__stillSamePage)).toBe(true);

  // Still alive after the live updates: a comment goes through on the same page.
  await engineer.getByLabel("Comment", { exact: true }).fill("Thanks, it is live");
  await engineer.getByRole("button", { name: "Comment", exact: true }).click();
  await expect(engineer.getByTestId("timeline")).toContainText("Thanks, it is live");
  await expect(engineer.getByLabel("Comment", { exact: true })).toHaveValue("");
  expect(await engineer.evaluate(() => (window as any).__stillSamePage)).toBe(true);
});

test("a rejection needs a reason, and the requester sees it", async ({
  engineer,
  lead,
}) => {
  await signInAsDemoUser(engineer, "Payments Engineer", "/requests/new?kind=certificate");
  await engineer.waitForFunction(() => document.body.dataset.hydrated === "true");
  await engineer.getByLabel("Name", { exact: true }).fill("shop-tls");
  await engineer.getByLabel("DNS names").fill("shop.payments.example.com");
  await expect(engineer.getByTestId("preview-yaml")).toContainText("kind: Certificate");
  await engineer.getByRole("button", { name: "Submit for review" }).click();
  await expect(engineer).toHaveURL(/\/requests\/\d+$/);
  const requestUrl = engineer.url();

  await signInAsDemoUser(lead, "Payments Lead", requestUrl.replace(/^https?:\/\/[^/]+/, ""));
  await lead.waitForFunction(() => document.body.dataset.hydrated === "true");
  // The browser asks for the reason first; the server insists too.
  await lead.getByRole("button", { name: "Reject" }).click();
  await expect(lead.getByRole("heading", { level: 1 })).toContainText("Pending review");
  await lead.getByLabel("Why reject? (required)").fill("Use the shared wildcard certificate");
  await lead.getByRole("button", { name: "Reject" }).click();
  await expect(lead.getByRole("heading", { level: 1 })).toContainText("Rejected");

  await expect(engineer.getByRole("heading", { level: 1 })).toContainText("Rejected", {
    timeout: 15_000,
  });
  await expect(engineer.getByTestId("timeline")).toContainText("Use the shared wildcard certificate");
});

test("a plan that changes under a reviewer's eyes is announced, not swapped in, and approving the old one is refused", async ({
  engineer,
  lead,
}) => {
  // Two new images of the same service, both waiting for review.
  await signInAsDemoUser(engineer, "Payments Engineer", "/requests");
  const submit = async (image: string) => {
    const response = await engineer.request.post("/rpc/requests/submit", {
      // Sent from the portal's own origin, as its form does (cross-site posts are refused).
      headers: { origin: new URL(engineer.url()).origin },
      data: {
        input: {
          kind: "service", team: "payments", cluster: "demo", reason: "new release",
          spec: { name: "ledger", image, port: 8080, replicas: 3 },
        },
      },
    });
    expect(response.ok(), await response.text()).toBe(true);
    return Number(await response.json());
  };
  const first = await submit("ghcr.io/acme/ledger:3.4.0");
  const second = await submit("ghcr.io/acme/ledger:3.5.0");

  await signInAsDemoUser(lead, "Payments Lead", `/requests/${second}`);
  await hydrated(lead);
  const shown = await lead.getByTestId("plan-hash").getAttribute("title");
  await expect(lead.getByTestId("plan-changed")).toHaveCount(0);

  // The first lands (approved in another tab, applied by the worker): the second's plan is
  // now another one.
  const other = await lead.context().newPage();
  await other.goto(`/requests/${first}`);
  await hydrated(other);
  await other.getByRole("button", { name: "Approve" }).click();
  await expect(other.getByRole("heading", { level: 1 })).toContainText("Applied", { timeout: 15_000 });

  // The open page says so and keeps showing the plan the reviewer was reading.
  await expect(lead.getByTestId("plan-changed")).toBeVisible({ timeout: 15_000 });
  await expect(lead.getByTestId("plan-hash")).toHaveAttribute("title", shown ?? "");
  await lead.getByRole("button", { name: "Approve" }).click();
  await expect(lead.getByTestId("review").getByRole("alert")).toContainText("another plan");

  await lead.getByTestId("plan-changed").getByRole("link", { name: "reload it" }).click();
  await hydrated(lead);
  await expect(lead.getByTestId("plan-changed")).toHaveCount(0);
  await expect(lead.getByTestId("plan-hash")).not.toHaveAttribute("title", shown ?? "");
});
