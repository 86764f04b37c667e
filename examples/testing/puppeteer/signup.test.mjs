// The signup is reported once, with the right fields: Puppeteer with
// Node's own test runner (`node --test`). ../app.mjs stands for your app.
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
after(async () => {
  await browser?.close();
  await app?.close();
  await collector?.close();
});

test('a signup is reported once, with the right fields', async () => {
  const page = await browser.newPage();
  await page.goto(app.url + '/signup');
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
  await page.close();
});

test('nothing is sent when the visitor rejects cookies', async () => {
  const page = await browser.newPage();
  await page.goto(app.url + '/welcome?email=grace@example.com');
  await page.click('::-p-text(Reject)');
  const flushed = await page.evaluate(() => new Promise((resolve) => onramp('flush', (error, result) => resolve(result))));
  assert.deepEqual(flushed, { sent: 0, waiting: 0 });
  await page.goto('about:blank');
  await collector.settled();
  assert.deepEqual(collector.attempts(), []);
  await page.close();
});
