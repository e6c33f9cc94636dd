import { expect, test } from "./fixtures";
import { signInAsDemoUser } from "./sign-in";

// A slow, broken or blocked wasm bundle must not stop anyone: every form is a plain
// post the server answers, the errors in place.
test.use({ javaScriptEnabled: false });

test("a request is submitted, corrected and cancelled with plain form posts", async ({ page }) => {
  await signInAsDemoUser(page, "Payments Engineer", "/requests/new?kind=service");
  const submit = page.getByRole("button", { name: "Submit for review" });
  await expect(submit).toBeEnabled();

  await page.getByLabel("Name", { exact: true }).fill("Basket!");
  await page.getByLabel("Reason").fill("A basket for the shop");
  const refused = page.waitForResponse((r) => r.request().method() === "POST");
  await submit.click();
  expect((await refused).status()).toBe(422);
  // The form comes back as typed, each error under its field.
  await expect(page.locator("[data-field='spec.name']")).toContainText("lowercase letters");
  await expect(page.locator("[data-field='spec.image']")).toHaveText("is required");
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Basket!");
  await expect(page.getByLabel("Reason")).toHaveValue("A basket for the shop");
  await expect(page.getByRole("alert").filter({ hasText: "Fix the fields marked above." })).toBeVisible();

  await page.getByLabel("Name", { exact: true }).fill("basket");
  await page.getByLabel("Image", { exact: true }).fill("ghcr.io/acme/basket:1.0.0");
  await submit.click();
  await expect(page).toHaveURL(/\/requests\/\d+$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("service basket");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Pending review");
  await expect(page.locator("blockquote.reason")).toHaveText("A basket for the shop");

  await page.getByRole("button", { name: "Cancel request" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Cancelled");
  await expect(page.getByTestId("timeline")).toContainText("cancelled the request");
});

test("the catalog rules answer a plain post too: a host another service holds", async ({ page }) => {
  await signInAsDemoUser(page, "Payments Engineer", "/requests/new?kind=ingress");
  await page.getByLabel("Host", { exact: true }).fill("merchants.payments.example.com");
  await page.getByLabel("Service", { exact: true }).selectOption("ledger");
  await page.getByRole("button", { name: "Submit for review" }).click();
  await expect(page.locator("[data-field='spec.host']")).toContainText("merchant-portal");
  await expect(page.getByLabel("Host", { exact: true })).toHaveValue("merchants.payments.example.com");
  await expect(page.getByLabel("Service", { exact: true })).toHaveValue("ledger");
  await expect(page).toHaveURL(/\/requests\/new\?kind=ingress$/);
});

test("a lead approves with a plain form post and sees the request move on", async ({ browser }) => {
  const engineer = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await signInAsDemoUser(engineer, "Payments Engineer", "/requests/new?kind=certificate");
  await engineer.getByLabel("Name", { exact: true }).fill("basket-tls");
  await engineer.getByLabel("DNS names").fill("basket.payments.example.com");
  await engineer.getByRole("button", { name: "Submit for review" }).click();
  await expect(engineer).toHaveURL(/\/requests\/\d+$/);
  const path = new URL(engineer.url()).pathname;

  const lead = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await signInAsDemoUser(lead, "Payments Lead", path);
  await lead.getByLabel("Comment (optional)").fill("Fine without JavaScript");
  await lead.getByRole("button", { name: "Approve" }).click();
  // Leptos redirects back to the page (its URL keeps an empty query).
  await expect(lead).toHaveURL(new RegExp(`${path}\\??$`));
  await expect(lead.getByTestId("timeline")).toContainText("approved; the request is queued");
  await expect(lead.getByTestId("timeline")).toContainText("Fine without JavaScript");

  // A comment on a request that is no longer pending still works; an empty one is refused
  // with the reason, on the same page.
  await lead.getByRole("button", { name: "Comment", exact: true }).click();
  await expect(lead).toHaveURL(new RegExp(`${path}\\?`));
  await expect(lead.getByRole("alert").filter({ hasText: "write something" })).toBeVisible();
});

test("a token is created, shown once and revoked with plain form posts", async ({ page }) => {
  await signInAsDemoUser(page, "Payments Engineer", "/settings/tokens");
  const create = page.getByRole("button", { name: "Create token" });
  await expect(create).toBeEnabled();

  await page.getByLabel("Name").fill("nightly-export");
  await page.getByLabel(/request \(submit, cancel, comment\)/).check();
  await create.click();
  const secret = page.getByTestId("new-token").locator("code");
  await expect(secret).toHaveText(/^sgp_/);
  const token = await secret.textContent();
  await expect(page.getByTestId("tokens")).toContainText("nightly-export");
  await expect(page.getByTestId("tokens")).toContainText("read,request");
  const me = await page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  expect(me.status()).toBe(200);

  // Shown once: the page loaded again lists the token without its secret.
  await page.goto("/settings/tokens");
  await expect(page.getByTestId("new-token")).toHaveCount(0);
  await page.getByRole("button", { name: "Revoke nightly-export" }).click();
  await expect(page.getByTestId("tokens")).toHaveCount(0);
  const after = await page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  expect(after.status()).toBe(401);
});
