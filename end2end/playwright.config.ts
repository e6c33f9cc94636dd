import { defineConfig } from "@playwright/test";

// Servers under test: the debug server `make test` just built serving the release wasm
// bundle (built as `make run` builds it), each on its own
// port with a throw-away SQLite database and the demo catalog:
//   3100  development sign-in
//   3101  OIDC sign-in against the test identity provider on 3190
//   3102  development sign-in, with a second cluster "kind" served by the test Kubernetes
//         API server on 3192 (drift checked every second)
export const DEV_URL = "http://127.0.0.1:3100";
export const CLUSTER_URL = "http://127.0.0.1:3102";
export const KUBE_API_URL = "http://127.0.0.1:3192";
export const OIDC_URL = "http://127.0.0.1:3101";
export const PROVIDER_URL = "http://127.0.0.1:3190";

const binary = process.env.STARGATE_BIN ?? "target/debug/stargate";
const run = `/tmp/stargate-e2e-${process.pid}`;

function stargate(port: number, env: Record<string, string>, before = "") {
  return {
    command: `rm -rf ${run}-${port} && ${before}${binary} serve --demo`,
    cwd: "..",
    url: `http://127.0.0.1:${port}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      STARGATE_LISTEN: `127.0.0.1:${port}`,
      STARGATE_DATA_DIR: `${run}-${port}`,
      STARGATE_SITE_ROOT: "target/site",
      RUST_LOG: "warn",
      ...env,
    },
  };
}

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
    baseURL: DEV_URL,
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
  webServer: [
    {
      command: "node testing/oidc-provider/provider.mjs",
      cwd: "..",
      url: `${PROVIDER_URL}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 30_000,
      env: { PORT: "3190", REDIRECT_URIS: `${OIDC_URL}/auth/callback` },
    },
    stargate(3100, { STARGATE_AUTH__MODE: "dev" }),
    stargate(3101, {
      STARGATE_AUTH__MODE: "oidc",
      STARGATE_AUTH__OIDC__ISSUER_URL: PROVIDER_URL,
      STARGATE_AUTH__OIDC__CLIENT_ID: "stargate",
      STARGATE_AUTH__OIDC__CLIENT_SECRET: "stargate-secret",
    }),
    {
      command: "python3 testing/kube-api/server.py --port 3192",
      cwd: "..",
      url: `${KUBE_API_URL}/version`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    // The demo's dry-run cluster plus "kind" on the test API server: the config file and
    // its kubeconfig are written next to the throw-away data directory.
    stargate(
      3102,
      { STARGATE_AUTH__MODE: "dev", STARGATE_CONFIG: `${run}-3102/stargate.toml` },
      `mkdir -p ${run}-3102 && python3 testing/kube-api/server.py --write-kubeconfig ${run}-3102/kubeconfig --server ${KUBE_API_URL} --context test && ` +
        `printf '[drift]\\ninterval_seconds = 1\\n\\n[[clusters]]\\nname = "demo"\\nkind = "dry-run"\\n\\n[[clusters]]\\nname = "kind"\\nkind = "kubeconfig"\\nkubeconfig = "${run}-3102/kubeconfig"\\ncontext = "test"\\n' > ${run}-3102/stargate.toml && `,
    ),
  ],
});
