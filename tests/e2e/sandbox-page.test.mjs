// The sandbox's test-events page (/_sandbox) in Chromium: trackings sent
// from another page appear without a reload, with their origin; rejected
// submissions with their reason; its own buttons reset and inject faults;
// another site's page can do neither.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uniqueId, worldForTests } from './helpers.mjs';

const world = worldForTests();

/** The test-events page, live. */
async function openEventsPage() {
  const context = await world.browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('dialog', (dialog) => dialog.accept());
  await page.goto(world.sandbox.origin + '/_sandbox');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'live');
  await page.evaluate(() => (window.sameDocument = true));
  return { context, page, problems };
}

/** A tracking POSTed by a tool (or, with an `origin` header, as a page would). */
function postTracking(fields, headers = {}) {
  return fetch(world.sandbox.origin + '/api/SaasTrackings', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ partnerKey: 'pk', serviceName: 'svc', purchasedAt: '2026-11-26T18:43:01Z', ...fields }),
  });
}

/** Waits until `table` on the page shows `text`. */
const shown = (page, table, text) =>
  page.waitForFunction(([table, text]) => document.querySelector(`#${table} tbody`).innerText.includes(text), [table, text]);

const rowsText = (page, table) => page.$$eval(`#${table} tbody tr`, (rows) => rows.map((r) => r.innerText));

test('a tracking sent from another page appears without a reload, newest first, with its body, deliveries and origin', async () => {
  const events = await openEventsPage();
  const sender = await world.browser.newContext();
  try {
    const tab = await sender.newPage();
    await tab.goto(world.pages.origin + '/snippet.html');
    const first = uniqueId('page-a');
    const second = uniqueId('page-b');
    for (const id of [first, second]) {
      await tab.evaluate((id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id }), id);
    }
    await shown(events.page, 'trackings', second);
    const rows = await rowsText(events.page, 'trackings');
    const at = (id) => rows.findIndex((r) => r.includes(id));
    assert.ok(at(second) >= 0 && at(first) > at(second), 'newest first');
    const row = rows[at(second)];
    assert.match(row, /"partnerKey": "pk_snippet"/);
    assert.match(row, /"serviceName": "svc"/);
    assert.ok(row.includes(world.pages.origin), 'the origin of the page that sent it');
    assert.match(row, /\t1\t/, 'one delivery');
    assert.equal(await events.page.evaluate(() => window.sameDocument), true, 'no reload');
    // A refused submission, with its reason.
    await postTracking({ customerId: '' }, { origin: 'https://shop.example' });
    await shown(events.page, 'rejected', 'empty_field');
    const [rejected] = await rowsText(events.page, 'rejected');
    assert.match(rejected, /422/);
    assert.match(rejected, /empty_field \(customerId\)/);
    assert.match(rejected, /https:\/\/shop\.example/);
    assert.deepEqual(events.problems, []);
  } finally {
    await sender.close();
    await events.context.close();
  }
});

test('what pages sent is shown as text, never as markup', async () => {
  const events = await openEventsPage();
  try {
    const id = uniqueId('<img src=x onerror=window.hacked=1>');
    await postTracking({ customerId: id });
    await shown(events.page, 'trackings', id);
    assert.equal(await events.page.evaluate(() => document.querySelectorAll('#trackings img').length), 0);
    assert.equal(await events.page.evaluate(() => window.hacked), undefined);
  } finally {
    await events.context.close();
  }
});

test("another site's page can neither reset the sandbox nor inject a fault; the page's own buttons can", async () => {
  const events = await openEventsPage();
  const foreign = await world.browser.newContext();
  try {
    const id = uniqueId('page-kept');
    await postTracking({ customerId: id });
    await shown(events.page, 'trackings', id);
    // From a page of another origin: every way a page can POST.
    const tab = await foreign.newPage();
    await tab.goto(world.pages.origin + '/next.html');
    const outcomes = await tab.evaluate(async (sandbox) => {
      const tries = [
        fetch(sandbox + '/_sandbox/reset', { method: 'POST', mode: 'no-cors', body: '{}' }).then((r) => r.type),
        fetch(sandbox + '/_sandbox/faults', { method: 'POST', mode: 'no-cors', body: '{"drop":true,"times":5}' }).then((r) => r.type),
        fetch(sandbox + '/_sandbox/reset', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then(
          (r) => r.status,
          () => 'blocked',
        ),
        navigator.sendBeacon(sandbox + '/_sandbox/reset', new Blob(['{}'], { type: 'application/json' })),
      ];
      const form = document.createElement('form');
      form.method = 'POST';
      form.action = sandbox + '/_sandbox/reset';
      form.target = 'sink';
      form.enctype = 'text/plain';
      const frame = document.createElement('iframe');
      frame.name = 'sink';
      document.body.append(frame, form);
      form.submit();
      return Promise.all(tries);
    }, world.sandbox.origin);
    assert.equal(outcomes[2], 'blocked', 'a JSON POST from another site fails its preflight');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await world.sandbox.find(id)).length, 1, 'still stored');
    assert.deepEqual(await (await fetch(world.sandbox.origin + '/_sandbox/faults')).json(), [], 'no fault queued');
    assert.ok((await rowsText(events.page, 'trackings')).some((r) => r.includes(id)), 'still on the page');

    // The page's own buttons.
    await events.page.selectOption('#fault-kind', '429');
    await events.page.fill('#fault-retry', '7');
    await events.page.fill('#fault-times', '2');
    await events.page.click('#fault button[type=submit]');
    await events.page.waitForFunction(() => document.querySelector('#faults tbody').rows.length === 1);
    assert.deepEqual(await (await fetch(world.sandbox.origin + '/_sandbox/faults')).json(), [
      { status: 429, retryAfter: '7', delayMs: 0, drop: false, times: 2 },
    ]);
    await events.page.click('#reset');
    await events.page.waitForFunction(() => document.querySelector('#trackings tbody').rows.length === 0);
    assert.deepEqual(await world.sandbox.trackings(), []);
    assert.deepEqual(await (await fetch(world.sandbox.origin + '/_sandbox/faults')).json(), []);
    assert.deepEqual(events.problems, []);
  } finally {
    await foreign.close();
    await events.context.close();
  }
});

test('the page cannot be framed by another site', async () => {
  const response = await fetch(world.sandbox.origin + '/_sandbox');
  assert.equal(response.headers.get('x-frame-options'), 'DENY');
  assert.match(response.headers.get('content-security-policy'), /frame-ancestors 'none'/);
});
