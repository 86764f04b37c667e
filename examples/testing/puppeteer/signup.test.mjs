// The signup of a visitor the marketplace sent is reported once, with the
// right fields, and not one of a visitor who came on their own: Puppeteer
// with Node's own test runner (`node --test`). ../app.mjs stands for your app.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import puppeteer from 'puppeteer-core';
import { startCollector } from 'onramp-pixel/testing';
import { startApp } from '../app.mjs';

let collector, app, browser;

before(async () => {
  collector = await startCollector();
  app = await startApp({ onrampBaseUrl: collector.baseUrl });
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
});
beforeEach(() => collector.reset());
// Each test a new visitor: a browser context of its own (its own storage).
const visitor = async () => (await browser.createBrowserContext()).newPage();
after(async () => {
  await browser?.close();
  await app?.close();
  await collector?.close();
});

/** Nothing was sent, nor waits to be, and leaving the page sends nothing either. */
async function assertNothingSent(page) {
  const flushed = await page.evaluate(() => new Promise((resolve) => onramp('flush', (error, result) => resolve(result))));
  assert.deepEqual(flushed, { sent: 0, waiting: 0 });
  await page.goto('about:blank');
  await collector.settled();
  assert.deepEqual(collector.attempts(), []);
  await page.browserContext().close();
}

test('a signup is reported once, with the right fields', async () => {
  const page = await visitor();
  // The marketplace's link to your landing page, then the signup.
  await page.goto(app.url + '/?onramp_ref=listing');
  await page.click('::-p-text(Accept)');
  await Promise.all([page.waitForNavigation(), page.click('::-p-text(Start your trial)')]);
  await page.type('input[name=email]', 'ada@example.com');
  await Promise.all([page.waitForNavigation(), page.click('form button')]);
  await page.click('::-p-text(Accept)');

  const tracking = await collector.waitForTracking({ customerId: 'acct-ada@example.com' });
  assert.equal(tracking.serviceName, 'Acme CRM');
  assert.equal(tracking.origin, app.url);
  // Leaving the page is when a duplicate would go: leave, wait for quiet, count.
  await page.goto('about:blank');
  await collector.settled();
  assert.deepEqual(collector.trackings().map((t) => [t.customerId, t.deliveries]), [['acct-ada@example.com', 1]]);
  await page.browserContext().close();
});

test('nothing is sent when the visitor rejects cookies', async () => {
  const page = await visitor();
  // Referred by the marketplace, so only the refusal keeps it from being sent.
  await page.goto(app.url + '/?onramp_ref=listing');
  await page.click('::-p-text(Accept)');
  await page.goto(app.url + '/welcome?email=grace@example.com');
  await page.click('::-p-text(Reject)');
  await assertNothingSent(page);
});

test('a visitor the marketplace did not send is not reported', async () => {
  const page = await visitor();
  await page.goto(app.url + '/welcome?email=linus@example.com');
  await page.click('::-p-text(Accept)');
  await assertNothingSent(page);
});
