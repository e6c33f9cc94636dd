import { defineConfig } from "@playwright/test";

// The server under test: the debug build `make test` just made, on its own port and a
// throw-away SQLite database with the demo catalog.
const port = Number(process.env.E2E_PORT ?? 3100);
const dataDir = process.env.E2E_DATA_DIR ?? `/tmp/stargate-e2e-${process.pid}`;
const binary = process.env.STARGATE_BIN ?? "target/debug/stargate";

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  webServer: {
    command: `rm -rf ${dataDir} && ${binary} serve --demo`,
    cwd: "..",
    url: `http://127.0.0.1:${port}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      STARGATE_LISTEN: `127.0.0.1:${port}`,
      STARGATE_DATA_DIR: dataDir,
      STARGATE_SITE_ROOT: "target/site",
      RUST_LOG: "warn",
    },
  },
});
