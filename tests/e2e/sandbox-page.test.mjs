// The sandbox's test-events page (/_sandbox) in Chromium: trackings sent
// from another page appear without a reload, with their origin; rejected
// submissions with their reason; its own buttons reset and inject faults;
// another site's page can do neither; the demand chart and its JSON
// (/_sandbox/summary) count what was posted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { control, uniqueId, worldForTests } from './helpers.mjs';

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

/** The RGBA pixels of a PNG (8-bit RGB or RGBA, not interlaced: what Chromium's screenshots are). */
function decodePng(png) {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const [depth, type, , , interlace] = png.subarray(24, 29);
  assert.ok(depth === 8 && (type === 2 || type === 6) && interlace === 0, 'an 8-bit RGB(A) PNG');
  const channels = type === 6 ? 4 : 3;
  const chunks = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') chunks.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(chunks));
  const stride = width * channels;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x];
      const a = x >= channels ? out[y * stride + x - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      out[y * stride + x] = (value + [0, a, b, (a + b) >> 1, paeth][filter]) & 255;
    }
  }
  return { width, height, channels, pixels: out };
}

/** How many pixels of an element's screenshot are the chart's bar colour (#2f5fb3, page.css). */
async function barPixels(page) {
  const { pixels, channels } = decodePng(await page.locator('#demand').screenshot());
  let count = 0;
  for (let i = 0; i < pixels.length; i += channels) {
    if (Math.abs(pixels[i] - 0x2f) < 8 && Math.abs(pixels[i + 1] - 0x5f) < 8 && Math.abs(pixels[i + 2] - 0xb3) < 8) count++;
  }
  return count;
}

test('demand: trackings per day and service over 30 days, as JSON (GET /_sandbox/summary) and as a chart on the page, updated live', async () => {
  await control(world.sandbox.origin, '/_sandbox/reset');
  const events = await openEventsPage();
  try {
    await events.page.waitForFunction(() => document.getElementById('demand').textContent.includes('No tracking'));
    assert.equal(await barPixels(events.page), 0, 'no bar without data');
    const DAY = 86_400_000;
    const day = (back) => new Date(Date.now() - back * DAY).toISOString().slice(0, 10);
    const at = (back) => new Date(Date.now() - back * DAY).toISOString();
    const posted = [
      ...[0, 0, 0, 10, 10, 29].map((back) => ['pk_a', 'Acme CRM', back]),
      ...[1, 1, 1, 1].map((back) => ['pk_b', 'Beta', back]),
      // Outside the 30 days: earlier, and ahead of today (a visitor's fast clock).
      ['pk_a', 'Acme CRM', 40],
      ['pk_b', 'Beta', -5],
    ];
    for (const [partnerKey, serviceName, back] of posted) {
      const response = await postTracking({ partnerKey, serviceName, customerId: uniqueId('demand'), purchasedAt: at(back) });
      assert.equal(response.status, 201);
    }
    // A second delivery of one of them counts once.
    const again = uniqueId('demand-again');
    for (let i = 0; i < 2; i++) await postTracking({ partnerKey: 'pk_b', serviceName: 'Beta', customerId: again, purchasedAt: at(1) });

    const summary = await (await fetch(world.sandbox.origin + '/_sandbox/summary')).json();
    assert.equal(summary.days.length, 30);
    assert.deepEqual([summary.days[0], summary.days[29]], [day(29), day(0)]);
    const perDay = (counts) => Object.fromEntries(counts.map((n, i) => [summary.days[i], n]).filter(([, n]) => n));
    assert.deepEqual(
      summary.services.map((s) => [s.partnerKey, s.serviceName, s.total, perDay(s.perDay)]),
      [
        ['pk_a', 'Acme CRM', 6, { [day(29)]: 1, [day(10)]: 2, [day(0)]: 3 }],
        ['pk_b', 'Beta', 5, { [day(1)]: 5 }],
      ],
    );
    assert.deepEqual(perDay(summary.perDay), { [day(29)]: 1, [day(10)]: 2, [day(1)]: 5, [day(0)]: 3 });
    assert.deepEqual([summary.total, summary.outside], [11, 2]);

    // The chart: a row per service and one for all, each bar its date and count.
    // (Drawn as the posts arrive: the last drawing counts all of them.)
    await events.page.waitForFunction(() => document.querySelector('#demand svg')?.getAttribute('aria-label') === 'all services: 11 in the last 30 days');
    const labels = await events.page.$$eval('#demand svg', (charts) => charts.map((c) => c.getAttribute('aria-label')));
    assert.deepEqual(labels, ['all services: 11 in the last 30 days', 'Acme CRM · pk_a: 6 in the last 30 days', 'Beta · pk_b: 5 in the last 30 days']);
    const titles = await events.page.$$eval('#demand .demand-row:nth-child(2) .demand-bar title', (t) => t.map((e) => e.textContent));
    assert.equal(titles.length, 30);
    assert.equal(titles[29], `${day(0)}: 3`);
    assert.equal(titles[19], `${day(10)}: 2`);
    const drawn = await barPixels(events.page);
    assert.ok(drawn > 100, `the chart draws its bars (${drawn} pixels of the bar colour)`);

    // Live: a new tracking for Beta today, without a reload.
    await postTracking({ partnerKey: 'pk_b', serviceName: 'Beta', customerId: uniqueId('demand-live'), purchasedAt: at(0) });
    await events.page.waitForFunction(
      (today) => [...document.querySelectorAll('#demand .demand-row:nth-child(3) .demand-bar title')].at(-1)?.textContent === today + ': 1',
      day(0),
    );
    assert.ok((await barPixels(events.page)) > drawn, 'one more bar drawn');
    assert.equal(await events.page.evaluate(() => window.sameDocument), true, 'no reload');
    assert.deepEqual(events.problems, []);
  } finally {
    await events.context.close();
  }
});

test('changes that come while the page reads are never dropped: 30 trackings posted back to back all show, and the demand counts them', async () => {
  const events = await openEventsPage();
  try {
    const ids = Array.from({ length: 30 }, () => uniqueId('burst'));
    const before = (await (await fetch(world.sandbox.origin + '/_sandbox/summary')).json()).total;
    for (const id of ids) await postTracking({ customerId: id, purchasedAt: new Date().toISOString() });
    await shown(events.page, 'trackings', ids.at(-1));
    await events.page.waitForFunction((total) => document.getElementById('demand-total').textContent.startsWith(`(${total} `), before + 30);
    assert.deepEqual(events.problems, []);
  } finally {
    await events.context.close();
  }
});
