// First load of a page in Chromium on loopback, each run in a fresh browser context (cold
// cache): bytes transferred (HTML, JS, wasm, CSS; as sent, i.e. compressed), first
// contentful paint, and time until hydrated (body[data-hydrated] set by the bundle).
//
//   node bench/first_load.mjs BASE RUNS PATH...     (run by bench/first_load.sh)
//
// `{request}` in a path stands for a request the signed-in engineer submits first (the demo
// data has none): `/requests/{request}` measures a request's page.
import { chromium } from "../end2end/node_modules/@playwright/test/index.mjs";

const [base, runs, ...paths] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});

// Sign in once (development sign-in) and reuse the session cookie in every cold context.
const signIn = await browser.newContext({ baseURL: base });
const page = await signIn.newPage();
await page.goto("/services");
await page.getByRole("button", { name: /Payments Engineer/ }).click();
await page.waitForURL(/\/services/);
let request;
if (paths.some((path) => path.includes("{request}"))) {
  const response = await page.request.post("/rpc/requests/submit", {
    // Sent from the portal's own origin, as its form does (cross-site posts are refused).
    headers: { origin: new URL(page.url()).origin },
    data: {
      input: {
        kind: "service", team: "payments", cluster: "demo", reason: "first-load benchmark",
        spec: { name: "ledger", image: "ghcr.io/acme/ledger:3.1.0", port: 8080, replicas: 3 },
      },
    },
  });
  if (!response.ok()) throw new Error(`submitting a request: ${await response.text()}`);
  request = String(await response.json());
}
const state = await signIn.storageState();
await signIn.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KB`;

for (const path of paths.map((p) => p.replace("{request}", request))) {
  const samples = [];
  for (let run = 0; run < Number(runs); run++) {
    const context = await browser.newContext({ baseURL: base, storageState: state });
    await context.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (document.body?.dataset.hydrated) {
          window.__hydratedAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { attributes: true, subtree: true });
    });
    const tab = await context.newPage();
    const errors = [];
    tab.on("pageerror", (error) => errors.push(error.message));
    const response = await tab.goto(path);
    if (response?.status() !== 200) throw new Error(`${path}: HTTP ${response?.status()}`);
    await tab.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 30_000 });
    if (errors.length) throw new Error(`${path}: ${errors.join("; ")}`);
    samples.push(await tab.evaluate(() => {
      const navigation = performance.getEntriesByType("navigation")[0];
      const resources = performance.getEntriesByType("resource");
      const wasm = resources.filter((r) => r.name.endsWith(".wasm"));
      return {
        bytes: navigation.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
        wasmBytes: wasm.reduce((sum, r) => sum + r.transferSize, 0),
        wasmFiles: wasm.map((r) => `${r.name.split("/").pop()} ${(r.transferSize / 1024).toFixed(0)} KB`),
        fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
        hydrated: window.__hydratedAt,
      };
    }));
    await context.close();
  }
  const last = samples[samples.length - 1];
  console.log(
    `${path}: transferred ${kb(median(samples.map((s) => s.bytes)))} ` +
      `(wasm ${kb(median(samples.map((s) => s.wasmBytes)))} in ${last.wasmFiles.length} files), ` +
      `FCP median ${median(samples.map((s) => s.fcp)).toFixed(0)} ms, ` +
      `hydrated median ${median(samples.map((s) => s.hydrated)).toFixed(0)} ms ` +
      `(max ${Math.max(...samples.map((s) => s.hydrated)).toFixed(0)} ms), ${samples.length} runs`,
  );
  console.log(`  wasm: ${last.wasmFiles.join(", ")}`);
}
await browser.close();
