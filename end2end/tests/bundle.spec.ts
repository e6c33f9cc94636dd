import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

import { expect, hydrated, test } from "./fixtures";
import { signInAsDemoUser } from "./sign-in";

// The bundle as `make test` built it, beside the server under test (its site root).
const pkg = join(__dirname, "..", "..", "target", "site", "pkg");

test("the browser gets the bundle compressed as it was built (brotli 11), not on the fly", async ({
  request,
}) => {
  const files = readdirSync(pkg).filter((name) => name.endsWith(".wasm"));
  expect(files).toContain("stargate.wasm");
  for (const name of files) {
    const response = await request.get(`/pkg/${name}`, {
      headers: { "accept-encoding": "br" },
    });
    expect(response.status(), name).toBe(200);
    const headers = response.headers();
    expect(headers["content-encoding"], name).toBe("br");
    // Compressing on the fly streams the body (no length); the stored copy has its size.
    expect(Number(headers["content-length"]), name).toBe(statSync(join(pkg, `${name}.br`)).size);
  }
});

test("a page's island downloads beside the main wasm file: the page names its files up front", async ({
  page,
}) => {
  await signInAsDemoUser(page, "Payments Engineer", "/services");
  for (const path of ["/services", "/requests/new?kind=service"]) {
    await page.goto(path);
    await hydrated(page);
    const wasm = await page.evaluate(() =>
      performance
        .getEntriesByType("resource")
        .filter((entry) => entry.name.endsWith(".wasm"))
        .map((entry) => ({
          file: entry.name.split("/").pop(),
          by: (entry as PerformanceResourceTiming).initiatorType,
        })),
    );
    const island = wasm.filter((entry) => entry.file !== "stargate.wasm");
    expect(island.length, path).toBeGreaterThan(1);
    // Fetched by the head's preload (`link`), not asked for later by the island loader
    // (`fetch`), which then takes the preloaded bytes.
    expect(island.filter((entry) => entry.by !== "link"), path).toEqual([]);
  }
});
