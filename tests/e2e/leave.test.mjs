// Calls made before the loader has arrived, on a confirmation page that
// redirects at once to a page without the pixel: the stub sends them as the
// page goes, and each tracking is stored and delivered exactly once, whether
// the stub or the wasm sent it.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { uniqueId, worldForTests } from './helpers.mjs';

const world = worldForTests();

/**
 * Opens leave.html in a fresh profile with `query`, waits for the redirect
 * and for `id` to arrive (closing a context cancels keepalive requests still
 * in flight), and returns what is stored for it.
 */
async function leave(query, id, { expectStored = true } = {}) {
  const context = await world.browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  try {
    const next = new URLSearchParams(query).get('next') || 'next.html';
    await page.goto(`${world.pages.origin}/leave.html?id=${id}&${query}`, { waitUntil: 'commit' });
    await page.waitForURL(`**/${next}`);
    const stored = expectStored ? await world.sandbox.waitFor(id) : [];
    assert.deepEqual(problems, [], 'no exception on the page');
    return stored;
  } finally {
    await context.close();
  }
}

test('redirect 0, 20, 50, 100 or 250 ms after the call, 8 times each: every tracking arrives, once', async () => {
  const ids = [];
  const missing = [];
  for (const after of [0, 20, 50, 100, 250]) {
    for (let i = 0; i < 8; i++) {
      const id = uniqueId(`leave-${after}`);
      ids.push(id);
      const stored = await leave(`after=${after}`, id);
      if (stored.length !== 1) missing.push(id);
    }
  }
  assert.deepEqual(missing, [], `${ids.length - missing.length} of ${ids.length} arrived`);
  await world.sandbox.deliveredOnce(...ids);
});

test('the loader late (3 s), the page left in the same task as the call: sent by the stub with the fields the call gave', async () => {
  const before = Date.now();
  const plain = uniqueId('leave-stub');
  const [stored] = await leave('loader=late-loader', plain);
  assert.equal(stored.partnerKey, 'pk_leave', "the loader tag's data-partner-key");
  assert.equal(stored.serviceName, 'svc');
  const at = Date.parse(stored.purchasedAt);
  assert.ok(at >= before - 1000 && at <= Date.now() + 1000, `purchasedAt omitted: the time of leaving (${stored.purchasedAt})`);

  const positional = uniqueId('leave-positional');
  assert.deepEqual(
    pick(await leave('loader=late-loader&form=positional', positional)),
    { partnerKey: 'pk_positional', purchasedAt: '2026-11-01T09:00:00.000Z' },
    'the positional form, its callback left out',
  );
  const configured = uniqueId('leave-configured');
  assert.deepEqual(
    pick(await leave('loader=late-loader&form=configured', configured)),
    { partnerKey: 'pk_configured', purchasedAt: '2026-11-02T00:00:00.000Z' },
    'a configure() queued before it, and a Date',
  );
  const number = uniqueId('leave-number');
  assert.deepEqual(
    pick(await leave('loader=late-loader&form=number', number)),
    { partnerKey: 'pk_leave', purchasedAt: '2026-11-03T04:05:06.000Z' },
    'epoch milliseconds',
  );
  await world.sandbox.deliveredOnce(plain, positional, configured, number);
});

function pick([stored]) {
  return { partnerKey: stored.partnerKey, purchasedAt: stored.purchasedAt };
}

test('the loader arrived, the wasm late (3 s): the call waits in the stub’s queue and is sent as the page goes', async () => {
  const id = uniqueId('leave-wasm-late');
  const stored = await leave('loader=late-wasm&after=300', id);
  assert.equal(stored.length, 1);
  await world.sandbox.deliveredOnce(id);
});

test('the stub sent it, and the next page has the pixel: not sent again', async () => {
  const id = uniqueId('leave-then-pixel');
  const context = await world.browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${world.pages.origin}/leave.html?id=${id}&loader=late-loader&next=snippet.html`, { waitUntil: 'commit' });
    await page.waitForURL('**/snippet.html');
    assert.equal((await world.sandbox.waitFor(id)).length, 1);
    // The next page's wasm is ready, has sent what was due, and flushes.
    assert.equal(await page.evaluate(() => onramp('flush').then((r) => r.waiting)), 0);
    await world.sandbox.deliveredOnce(id);
  } finally {
    await context.close();
  }
});

test('the wasm ready before the page is left: the wasm sends it, the stub sends nothing more', async () => {
  const id = uniqueId('leave-ready');
  const context = await world.browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${world.pages.origin}/leave.html?id=${id}&after=600000`);
    await page.waitForFunction(() => window.onramp.loaded);
    assert.equal(await page.evaluate(() => onramp('configure', {}).then(() => 'ready')), 'ready');
    assert.equal((await world.sandbox.waitFor(id)).length, 1);
    await page.goto(`${world.pages.origin}/next.html`);
    await world.sandbox.deliveredOnce(id);
  } finally {
    await context.close();
  }
});

test('a base URL the pixel would refuse (plain http to a host not on loopback): the stub sends nothing there', async () => {
  // 127.0.0.2 is loopback to the machine, but not a host the pixel takes
  // plain http for (localhost, 127.0.0.1, [::1]).
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(req.method + ' ' + req.url);
    res.writeHead(204, { 'access-control-allow-origin': '*' }).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.2', resolve));
  try {
    const base = `http://127.0.0.2:${server.address().port}`;
    const id = uniqueId('leave-insecure');
    await leave(`loader=late-loader&form=insecure&base=${encodeURIComponent(base)}`, id, { expectStored: false });
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(seen, []);
    assert.deepEqual(await world.sandbox.find(id), []);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a call the wasm would refuse, left before it arrived: the collector refuses it too, nothing is stored', async () => {
  const id = uniqueId('leave-invalid');
  await leave('loader=late-loader&form=invalid', id, { expectStored: false });
  const until = Date.now() + 10_000;
  let attempts = [];
  while (Date.now() < until && attempts.length === 0) {
    attempts = (await world.sandbox.attempts()).filter((a) => a.customerId === id);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(
    attempts.map((a) => a.status),
    [422],
  );
  assert.deepEqual(await world.sandbox.find(id), []);
});
