import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

import { expect, test } from "./fixtures";

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
