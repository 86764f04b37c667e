// A smoke test of the pasted snippet in Firefox ESR and WebKitGTK, driven
// over plain W3C WebDriver (./webdriver.mjs): the page on one loopback origin,
// the loader and the collector (the sandbox) on another, as in tests/e2e/.
// Needs dist/ (npm run build) and the sandbox (cargo build --release -p onramp-sandbox).
// An engine whose driver is missing fails: scripts/setup.sh installs them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPageServer, startSandbox, uniqueId } from '../e2e/helpers.mjs';
import { startSession } from './webdriver.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Opens the snippet page and waits until the loader has replaced the stub and the wasm is ready. */
async function openSnippetPage(browser, pages) {
  await browser.navigate(pages.origin + '/snippet.html');
  const ready = await browser.executeAsync(`
    const done = arguments[arguments.length - 1];
    const wait = () => window.onramp && window.onramp.loaded
      ? onramp('configure', {}).then(() => done('ready'), (e) => done('configure failed: ' + e.code))
      : setTimeout(wait, 20);
    wait();`);
  assert.equal(ready, 'ready');
}

for (const engine of ['firefox', 'webkit']) {
  test(engine, async (t) => {
    const sandbox = await startSandbox();
    const pages = await startPageServer(sandbox.origin);
    let browser;
    try {
      browser = await startSession(engine);

      await t.test('a call made as the page navigates away arrives once', async () => {
        await openSnippetPage(browser, pages);
        const id = uniqueId(`smoke-${engine}-nav`);
        const next = pages.origin + '/next.html';
        try {
          await browser.executeSync(
            `onramp('createSaasTracking', { serviceName: 'svc', customerId: arguments[0] });
             location.href = arguments[1];`,
            [id, next],
          );
        } catch (e) {
          // The navigation may tear down the script's context; an error in the script itself may not.
          if (e.webdriverError === 'javascript error') throw e;
        }
        const until = Date.now() + 10_000;
        while ((await browser.currentUrl()) !== next && Date.now() < until) await sleep(50);
        assert.equal(await browser.currentUrl(), next);
        const stored = await sandbox.waitFor(id);
        assert.equal(stored.length, 1, 'stored once');
        assert.equal(stored[0].deliveries, 1, 'delivered once');
        assert.equal(stored[0].partnerKey, 'pk_snippet');
      });

      await t.test('the loader 3 s late, the page left as it loads: the stub sends the call as it goes, once', async () => {
        const id = uniqueId(`smoke-${engine}-leave`);
        try {
          await browser.navigate(`${pages.origin}/leave.html?id=${id}&loader=late-loader&after=0`);
        } catch (e) {
          // The redirect may come before the driver has seen the page load.
          if (e.webdriverError === 'javascript error') throw e;
        }
        const until = Date.now() + 10_000;
        while (!(await browser.currentUrl()).endsWith('/next.html') && Date.now() < until) await sleep(50);
        const stored = await sandbox.waitFor(id);
        assert.equal(stored.length, 1, 'stored once');
        assert.equal(stored[0].partnerKey, 'pk_leave');
        await sleep(500);
        assert.equal((await sandbox.find(id))[0].deliveries, 1, 'delivered once');
      });

      await t.test('a bad date is rejected with code and field, and nothing is sent', async () => {
        await openSnippetPage(browser, pages);
        const before = (await sandbox.attempts()).length;
        const id = uniqueId(`smoke-${engine}-bad`);
        const outcome = await browser.executeAsync(
          `const done = arguments[arguments.length - 1];
           onramp('createSaasTracking', { serviceName: 'svc', customerId: arguments[0], purchasedAt: '2026-13-45' })
             .then((r) => done({ resolved: r.status }), (e) => done({ name: e.name, code: e.code, field: e.field }));`,
          [id],
        );
        assert.deepEqual(outcome, { name: 'OnrampError', code: 'invalid_date', field: 'purchasedAt' });
        await sleep(300);
        assert.equal((await sandbox.attempts()).length, before, 'nothing reached the collector');
        assert.deepEqual(await sandbox.find(id), []);
      });
    } finally {
      await browser?.quit();
      await pages.close();
      await sandbox.stop();
    }
  });
}
