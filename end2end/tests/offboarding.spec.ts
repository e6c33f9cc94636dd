import { expect, hydrated, test } from "./fixtures";
import { signInAsDemoUser } from "./sign-in";

test("an admin deactivates someone: their token and session stop at once, and they cannot sign in", async ({
  browser,
  page,
}) => {
  // The leaver, in a browser of their own, with a token for their scripts.
  const leaver = await browser.newContext();
  const leaverPage = await leaver.newPage();
  await signInAsDemoUser(leaverPage, "Search Engineer", "/settings/tokens");
  await hydrated(leaverPage);
  await leaverPage.getByLabel("Name").fill("offboarding");
  await leaverPage.getByRole("button", { name: "Create token" }).click();
  const secret = leaverPage.getByTestId("new-token").locator("code");
  await expect(secret).toHaveText(/^sgp_/);
  const token = await secret.textContent();
  const bearer = { Authorization: `Bearer ${token}` };
  expect((await page.request.get("/api/v1/me", { headers: bearer })).status()).toBe(200);

  // The admin finds them by email and deactivates them, confirming first.
  await signInAsDemoUser(page, "Platform Admin", "/admin/users");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Users" })).toBeVisible();
  await page.getByLabel("Email contains").fill("search-engineer");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/\/admin\/users\?q=search-engineer/);
  await page.getByTestId("users").getByRole("link", { name: "search-engineer@example.com" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Search Engineer");
  await expect(page.getByTestId("user-tokens")).toContainText("offboarding");
  await expect(page.getByTestId("sessions")).toBeVisible();

  await page.getByRole("checkbox", { name: /End search-engineer@example\.com's/ }).check();
  await page.getByRole("button", { name: "Deactivate" }).click();
  await expect(page.getByTestId("offboarding")).toContainText("Deactivated");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("deactivated");
  await expect(page.getByTestId("no-sessions")).toBeVisible();

  // Their token and their session stopped at once.
  expect((await page.request.get("/api/v1/me", { headers: bearer })).status()).toBe(401);
  expect((await leaverPage.request.get("/api/v1/me")).status()).toBe(401);

  // Signing in again is refused, saying why.
  await leaverPage.goto("/login");
  await leaverPage.getByRole("button", { name: /Search Engineer/ }).click();
  await expect(leaverPage.getByText(/has been deactivated by an admin/)).toBeVisible();
  await leaver.close();

  // The audit log has it.
  await page.goto("/audit?actor=admin@example.com");
  await expect(page.getByTestId("audit-log")).toContainText("user.deactivate");

  // Reactivated (the demo user serves other tests): their old token stays revoked.
  await page.goto("/admin/users?q=search-engineer");
  await page.getByTestId("users").getByRole("link", { name: "search-engineer@example.com" }).click();
  await hydrated(page);
  await page.getByRole("button", { name: "Reactivate" }).click();
  await expect(page.getByRole("heading", { level: 1 })).not.toContainText("deactivated");
  expect((await page.request.get("/api/v1/me", { headers: bearer })).status()).toBe(401);
});

test("the users page works as plain HTML forms without wasm", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/admin/users");
  await page.getByRole("button", { name: /Platform Admin/ }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Users" })).toBeVisible();
  await expect(page.getByTestId("users")).toContainText("admin@example.com");
  await page.getByLabel("Email contains").fill("no-such-person");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByText("No users match")).toBeVisible();
  await context.close();
});
