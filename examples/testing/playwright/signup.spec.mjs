// The signup of a visitor the marketplace sent is reported once, with the
// right fields; not at all when the visitor rejects cookies, or came on
// their own. `collector` is onramp-pixel's test collector and `app` your
// app pointed at it (../app.mjs stands for yours).
import { test as base, expect } from '@playwright/test';
import { startCollector } from 'onramp-pixel/testing';
import { startApp } from '../app.mjs';

const test = base.extend({
  collector: [
    async ({}, use) => {
      const collector = await startCollector();
      await use(collector);
      await collector.close();
    },
    { scope: 'worker' },
  ],
  app: [
    async ({ collector }, use) => {
      const app = await startApp({ onrampBaseUrl: collector.baseUrl });
      await use(app);
      await app.close();
    },
    { scope: 'worker' },
  ],
  // Each test starts with an empty collector.
  page: async ({ page, collector }, use) => {
    collector.reset();
    await use(page);
  },
});

/** Nothing was sent, nor waits to be, and leaving the page sends nothing either. */
async function expectNothingSent(page, collector) {
  // A call's callback runs once the pixel has dealt with what came before it.
  const flushed = await page.evaluate(() => new Promise((resolve) => onramp('flush', (error, result) => resolve(result))));
  expect(flushed).toEqual({ sent: 0, waiting: 0 });
  await page.goto('about:blank');
  await collector.settled();
  expect(collector.attempts()).toEqual([]);
}

test('a signup is reported once, with the right fields', async ({ page, app, collector }) => {
  // The marketplace's link to your landing page, then the signup.
  await page.goto(app.url + '/?onramp_ref=listing');
  await page.getByRole('button', { name: 'Accept' }).click();
  await page.getByRole('link', { name: 'Start your trial' }).click();
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('button', { name: 'Accept' }).click();

  const tracking = await collector.waitForTracking({ customerId: 'acct-ada@example.com' });
  expect(tracking).toMatchObject({ partnerKey: 'pk_test', serviceName: 'Acme CRM', origin: app.url });
  // Leaving the page is when a duplicate would go: leave, wait for quiet, count.
  await page.goto('about:blank');
  await collector.settled();
  expect(collector.trackings()).toMatchObject([{ customerId: 'acct-ada@example.com', deliveries: 1 }]);
  expect(collector.attempts()).toHaveLength(1);
  expect(collector.rejected()).toEqual([]);
});

test('nothing is sent when the visitor rejects cookies', async ({ page, app, collector }) => {
  // Referred by the marketplace, so only the refusal keeps it from being sent.
  await page.goto(app.url + '/?onramp_ref=listing');
  await page.getByRole('button', { name: 'Accept' }).click();
  await page.goto(app.url + '/welcome?email=grace@example.com');
  await page.getByRole('button', { name: 'Reject' }).click();
  await expectNothingSent(page, collector);
});

test('a collector that fails first: the pixel retries, and it still counts once', async ({ page, app, collector }) => {
  collector.fault({ status: 503, retryAfter: 1 });
  await page.goto(app.url + '/?onramp_ref=listing');
  await page.getByRole('button', { name: 'Accept' }).click();
  await page.goto(app.url + '/welcome?email=alan@example.com');
  await page.getByRole('button', { name: 'Accept' }).click();
  await collector.waitForTracking({ customerId: 'acct-alan@example.com' });
  await page.goto('about:blank');
  await collector.settled();
  expect(collector.attempts().map((a) => a.status)).toEqual([503, 201]);
});

test('a visitor the marketplace did not send is not reported', async ({ page, app, collector }) => {
  await page.goto(app.url + '/welcome?email=linus@example.com');
  await page.getByRole('button', { name: 'Accept' }).click();
  await expectNothingSent(page, collector);
});
