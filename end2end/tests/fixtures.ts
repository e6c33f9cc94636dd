import { expect, test as base, type Browser, type BrowserContext, type Page } from "@playwright/test";

export { expect };

/** What a page logs when the wasm bundle panics (console_error_panic_hook) or traps. */
const CRASH = /panicked at|RuntimeError|unreachable|WebAssembly\./;

/**
 * Every test fails on an uncaught error or a wasm panic in any page it opened, in the
 * default context or in contexts it made with `browser.newContext()`: a page that logs a
 * panic is dead until reloaded, however green its assertions were before.
 */
export const test = base.extend<{ failOnPageErrors: void; engineer: Page; lead: Page }>({
  failOnPageErrors: [
    async ({ browser, context }, use) => {
      const errors: string[] = [];
      const watch = (watched: BrowserContext) => {
        watched.on("weberror", (error) => {
          errors.push(`${error.page()?.url() ?? "page"}: ${error.error().message}`);
        });
        watched.on("console", (message) => {
          if (message.type() === "error" && CRASH.test(message.text())) {
            errors.push(`${message.page()?.url() ?? "page"}: ${message.text()}`);
          }
        });
      };
      watch(context);
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (options) => {
        const made = await newContext(options);
        watch(made);
        return made;
      };
      try {
        await use();
      } finally {
        browser.newContext = newContext;
      }
      expect(errors, "errors in the browser").toEqual([]);
    },
    { auto: true },
  ],
  // Two people at once (who asks, who reviews), each in a browser context of their own,
  // not yet signed in: a test signs them in as the personas it needs.
  engineer: async ({ browser, failOnPageErrors: _ }, use) => {
    await withOwnContext(browser, use);
  },
  lead: async ({ browser, failOnPageErrors: _ }, use) => {
    await withOwnContext(browser, use);
  },
});

async function withOwnContext(browser: Browser, use: (page: Page) => Promise<void>) {
  const context = await browser.newContext();
  try {
    await use(await context.newPage());
  } finally {
    await context.close();
  }
}

/** Waits until the wasm bundle has taken over the server-rendered page. */
export async function hydrated(page: import("@playwright/test").Page) {
  await page.waitForFunction(() => document.body.dataset.hydrated === "true");
}
