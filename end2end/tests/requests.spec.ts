import { expect, hydrated, test } from "./fixtures";
import { signInAsDemoUser } from "./sign-in";

test.beforeEach(async ({ page }) => {
  await signInAsDemoUser(page, "Payments Engineer");
});

test("an ALB ingress with instance targets explains the NodePort change before submitting", async ({
  page,
}) => {
  await page.goto("/requests/new?kind=ingress");
  await page.waitForFunction(() => document.body.dataset.hydrated === "true");

  // Errors appear as you type, from the browser's own check (no submit yet).
  const host = page.getByLabel("Host", { exact: true });
  await host.pressSequentially("Shop!", { delay: 20 });
  await expect(page.locator("[data-field='spec.host']")).toContainText("must be");
  await host.fill("");
  await host.pressSequentially("shop.payments.example.com", { delay: 10 });
  await expect(page.locator("[data-field='spec.host']")).toHaveText(/^\s*$/);

  await page.getByLabel("Service", { exact: true }).selectOption("checkout-api");
  // The preview follows the inputs.
  const yaml = page.getByTestId("preview-yaml");
  await expect(yaml).toContainText("host: shop.payments.example.com");
  await expect(yaml).toContainText("ingressClassName: nginx");

  await page.getByLabel("Ingress class").selectOption("alb");
  await page.getByLabel("Target type").selectOption("instance");
  await expect(yaml).toContainText("alb.ingress.kubernetes.io/target-type: instance");
  // The plan includes switching the Service to NodePort, and says why.
  await expect(page.getByTestId("preview-notes")).toContainText(
    "changes from ClusterIP to NodePort",
  );
  await expect(yaml).toContainText("type: NodePort");
  const servicePlan = page.getByTestId("plan").locator("li", { hasText: "Service payments/checkout-api" });
  await expect(servicePlan).toContainText("update");
  await expect(servicePlan).toContainText("spec.type");

  // Back to ip targets: the Service is left alone.
  await page.getByLabel("Target type").selectOption("ip");
  await expect(page.getByTestId("preview-notes")).toHaveCount(0);
  await expect(yaml).not.toContainText("kind: Service");
  await page.getByLabel("Target type").selectOption("instance");
  await expect(yaml).toContainText("type: NodePort");

  await page.getByLabel("Reason").fill("Expose the shop through the ALB");
  await page.getByRole("button", { name: "Submit for review" }).click();

  await expect(page).toHaveURL(/\/requests\/\d+$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText(
    "ingress shop.payments.example.com",
  );
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Pending review");
  await expect(page.getByTestId("notes")).toContainText("NodePort");
  await expect(page.getByTestId("manifests")).toContainText("type: NodePort");
  await expect(page.getByTestId("timeline")).toContainText("submitted the request");

  // It is listed among the engineer's requests.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Requests" }).click();
  await expect(page.getByTestId("requests")).toContainText("ingress shop.payments.example.com");
});

test("missing fields are named on submit, and a submitted request can be cancelled", async ({
  page,
}) => {
  await page.goto("/requests/new?kind=service");
  await page.waitForFunction(() => document.body.dataset.hydrated === "true");
  await page.getByRole("button", { name: "Submit for review" }).click();
  await expect(page.locator("[data-field='spec.name']")).toHaveText("is required");
  await expect(page.locator("[data-field='spec.image']")).toHaveText("is required");
  await expect(page).toHaveURL(/\/requests\/new/);

  await page.getByLabel("Name", { exact: true }).fill("basket");
  await page.getByLabel("Image", { exact: true }).fill("ghcr.io/acme/basket:1.0.0");
  await expect(page.getByTestId("preview-yaml")).toContainText("image: ghcr.io/acme/basket:1.0.0");
  // The keyboard is enough: Enter in a field submits the form.
  await page.getByLabel("Image", { exact: true }).press("Enter");
  await expect(page).toHaveURL(/\/requests\/\d+$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("service basket");

  await page.getByRole("button", { name: "Cancel request" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Cancelled");
  await expect(page.getByTestId("timeline")).toContainText("cancelled the request");
  await expect(page.getByRole("button", { name: "Cancel request" })).toHaveCount(0);
});

test("what is typed before the form comes to life is kept", async ({ page }) => {
  // Hold the wasm back: until it arrives the page is the server's HTML, and a quick
  // typist fills it in.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/*.wasm", async (route) => {
    await held;
    await route.continue();
  });
  await page.goto("/requests/new");
  await page.getByLabel("Name", { exact: true }).fill("early-bird");
  await page.getByLabel("Image", { exact: true }).fill("ghcr.io/acme/early-bird:1.0.0");
  release();
  await hydrated(page);

  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("early-bird");
  await expect(page.getByTestId("preview-yaml")).toContainText("image: ghcr.io/acme/early-bird:1.0.0");
});
