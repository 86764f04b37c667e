// Wrong visitor clocks: a fast clock must not turn a signup into a
// permanent refusal, and a clock set back must neither stall a waiting
// tracking nor spin timers. The page's clock is moved by replacing
// Date.now, which is all the pixel reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, uniqueId, worldForTests } from './helpers.mjs';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const world = worldForTests({ fileDb: true });

const confirmation = (id, extra = '') => `${world.pages.origin}/queue.html?id=${encodeURIComponent(id)}${extra}`;

/** Moves the clock of every page the context opens from now on by `offset` ms. */
function shiftClock(context, offset) {
  return context.addInitScript((offset) => {
    const now = Date.now;
    Date.now = () => now() + offset;
    // Counts the timers the page sets.
    const set = window.setTimeout;
    window.timersSet = 0;
    window.setTimeout = (...args) => {
      window.timersSet++;
      return set(...args);
    };
  }, offset);
}

async function firstResult(page) {
  await page.waitForFunction(() => window.results.length > 0, null, { timeout: 20_000 });
  return page.evaluate(() => window.results[0]);
}

test('a visitor clock 25 hours fast, purchasedAt omitted: the collector takes the tracking', async () => {
  const id = uniqueId('fast-clock');
  const { context, page } = await openPage(world.browser);
  await shiftClock(context, 25 * HOUR);
  await page.goto(confirmation(id));
  const result = await firstResult(page);
  assert.deepEqual([result.ok, result.status, result.rejected], [true, 201, undefined]);
  const [stored] = await world.sandbox.find(id);
  // What the pixel sent, by the visitor's clock.
  assert.ok(Date.parse(stored.purchasedAt) > Date.now() + 24 * HOUR, stored.purchasedAt);
  await context.close();
});

/**
 * Queues a tracking while the collector is down (by the right clock), then
 * opens the next page of the site with the clock moved by `offset`, the
 * collector back; returns what it stored and the page.
 */
async function queuedThenClockMoved(offset) {
  const id = uniqueId('clock-back');
  const { context, page } = await openPage(world.browser);
  await world.sandbox.stop();
  await page.goto(confirmation(id, '&timeout=2000'));
  const result = await firstResult(page);
  assert.deepEqual([result.ok, result.queued], [false, true]);
  await page.goto(world.pages.origin + '/next.html');
  world.sandbox = await world.sandbox.start();
  await shiftClock(context, offset);
  // The next page of the site carries the pixel and makes no call.
  await page.goto(`${world.pages.origin}/queue.html`);
  const stored = await world.sandbox.waitFor(id, 10_000);
  return { stored, context, page };
}

test('a tracking queued, then the clock set back 2 days: sent when the next page loads', async () => {
  const { stored, context } = await queuedThenClockMoved(-2 * DAY);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].deliveries, 1);
  await context.close();
});

test('the clock 30 days behind with a tracking waiting: sent, and no timer loop', async () => {
  const { stored, context, page } = await queuedThenClockMoved(-30 * DAY);
  assert.equal(stored.length, 1);
  // Nothing waits any more: the page sets (almost) no timers from here on.
  const before = await page.evaluate(() => window.timersSet);
  await page.waitForTimeout(1_000);
  const after = await page.evaluate(() => window.timersSet);
  assert.ok(after - before <= 2, `${after - before} timers in a second`);
  await context.close();
});
