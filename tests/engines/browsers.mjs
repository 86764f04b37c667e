// One small driver-neutral browser API for the three engines, so that a
// test is written once: Chromium through playwright-core (Debian's
// chromium), Firefox ESR through geckodriver and WebKitGTK through
// WebKitWebDriver, both over plain W3C WebDriver (./webdriver.mjs).
//
//   const profile = await openProfile(engine);   // a fresh profile
//   const tab = await profile.tab();              // its first tab; profile.newTab() for more
//   await tab.goto(url);
//   await tab.run(async (a, b) => ..., a, b);      // a function run in the page, its JSON result
//   await tab.waitFor((x) => ..., x);              // polls until the function returns truthy
//   await tab.leaveTo(url, (x) => ..., x);         // runs the function and navigates in the same task
//   await profile.close();
//
// Functions are sent as source text, so they must not close over anything:
// pass what they need as arguments.
import { launchBrowser } from '../e2e/helpers.mjs';
import { startSession } from './webdriver.mjs';

/** The engines, all three unless ONRAMP_ENGINES names some (while working on one). */
export const ENGINES = (process.env.ONRAMP_ENGINES || 'chromium,firefox,webkit').split(',');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A script that runs `fn(...args)` and reports `{ value }` or `{ error }`. */
const wrapped = (fn) => `(${fn})`;

let chromium = null;

/** The shared Chromium (one process; a profile is a context). */
async function chromiumBrowser() {
  chromium ||= launchBrowser();
  return chromium;
}

/** Closes what this module started (Chromium). */
export async function closeAll() {
  if (chromium) await (await chromium).close();
  chromium = null;
}

/** A fresh profile of `engine` (a context in Chromium, a new session elsewhere). */
export async function openProfile(engine) {
  return engine === 'chromium' ? chromiumProfile() : webdriverProfile(engine);
}

async function chromiumProfile() {
  const context = await (await chromiumBrowser()).newContext();
  const problems = [];
  const tabOf = (page) => {
    page.on('pageerror', (error) => problems.push('pageerror: ' + error.message));
    return {
      goto: (url) => page.goto(url, { waitUntil: 'load' }).then(() => undefined),
      run: (fn, ...args) => page.evaluate(`${wrapped(fn)}(...${JSON.stringify(args)})`),
      async waitFor(fn, ...args) {
        await page.waitForFunction(`${wrapped(fn)}(...${JSON.stringify(args)})`, null, { timeout: 20_000, polling: 50 });
      },
      async leaveTo(url, fn, ...args) {
        await page.evaluate(`(${wrapped(fn)}(...${JSON.stringify(args)}), location.href = ${JSON.stringify(url)}, undefined)`);
        await page.waitForURL(url, { waitUntil: 'commit' });
      },
      url: () => page.url(),
    };
  };
  let first = null;
  return {
    engine: 'chromium',
    problems,
    async tab() {
      first ||= tabOf(await context.newPage());
      return first;
    },
    async newTab() {
      return tabOf(await context.newPage());
    },
    close: () => context.close(),
  };
}

async function webdriverProfile(engine) {
  const session = await startSession(engine);
  let current = null;
  let chain = Promise.resolve();
  // Commands go one at a time, each to its own window.
  const serial = (handle, task) => {
    const next = chain.then(async () => {
      if (handle !== current) {
        await session.switchTo(handle);
        current = handle;
      }
      return task();
    });
    chain = next.catch(() => {});
    return next;
  };
  const tabOf = (handle) => {
    const tab = {
      goto: (url) =>
        serial(handle, async () => {
          await session.navigate(url);
        }),
      async run(fn, ...args) {
        const outcome = await serial(handle, () =>
          session.executeAsync(
            `const done = arguments[arguments.length - 1];
             Promise.resolve().then(() => ${wrapped(fn)}(...arguments[0]))
               .then((value) => done({ value: value === undefined ? null : value }), (e) => done({ error: String(e && e.stack || e) }));`,
            [args],
          ),
        );
        if (outcome && 'error' in outcome) throw new Error(`in the page: ${outcome.error}`);
        return outcome?.value ?? undefined;
      },
      async waitFor(fn, ...args) {
        const until = Date.now() + 20_000;
        for (;;) {
          if (await tab.run(fn, ...args)) return;
          if (Date.now() > until) throw new Error(`waitFor timed out: ${fn}`);
          await sleep(50);
        }
      },
      async leaveTo(url, fn, ...args) {
        await serial(handle, async () => {
          try {
            await session.executeSync(`${wrapped(fn)}(...arguments[0]); location.href = arguments[1];`, [args, url]);
          } catch (e) {
            // The navigation may tear down the script's context first.
            if (e.webdriverError === 'javascript error') throw e;
          }
          const until = Date.now() + 10_000;
          while ((await session.currentUrl()) !== url && Date.now() < until) await sleep(50);
        });
      },
      url: () => serial(handle, () => session.currentUrl()),
    };
    return tab;
  };
  let first = null;
  return {
    engine,
    problems: [],
    async tab() {
      first ||= tabOf(await session.windowHandle());
      return first;
    },
    async newTab() {
      const handle = await serial(current, () => session.newWindow());
      return tabOf(handle);
    },
    close: () => session.quit(),
  };
}
