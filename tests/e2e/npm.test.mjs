// The npm package's ESM entry imported by a page (no bundler), in Chromium.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { openPage, uniqueId, worldForTests } from './helpers.mjs';

const world = worldForTests();

async function npmPage() {
  const opened = await openPage(world.browser);
  await opened.page.goto(world.pages.origin + '/npm.html');
  await opened.page.waitForFunction(() => window.pixel);
  return opened;
}

test('imported entry loads the wasm lazily and once, and sends', async () => {
  const { context, page, problems } = await npmPage();
  const id = uniqueId('npm');
  const result = await page.evaluate(async (id) => {
    const { pixel, collector } = window;
    // Two calls before any init: both wait for the one instantiation.
    const [a, b] = await Promise.all([
      pixel.createSaasTracking({ partnerKey: 'pk_npm', serviceName: 'svc', customerId: id + '-a', baseUrl: collector }),
      pixel.createSaasTracking({ partnerKey: 'pk_npm', serviceName: 'svc', customerId: id + '-b', baseUrl: collector }),
    ]);
    const wasmLoads = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.wasm')).length;
    return { statuses: [a.status, b.status], wasmLoads };
  }, id);
  assert.deepEqual(result, { statuses: [201, 201], wasmLoads: 1 });
  assert.equal((await world.sandbox.find(id + '-a')).length, 1);
  assert.equal((await world.sandbox.find(id + '-b')).length, 1);
  assert.deepEqual(problems, []);
  await context.close();
});

test('the wasm compiles while it downloads when served as application/wasm, from its bytes otherwise', async () => {
  for (const [folder, used] of [
    ['pkg', ['compileStreaming']],
    ['untyped', ['compileStreaming', 'compile']],
  ]) {
    const { context, page, problems } = await npmPage();
    const id = uniqueId('npm-compile-' + folder);
    const result = await page.evaluate(
      async ([folder, id]) => {
        const used = [];
        for (const name of ['compileStreaming', 'compile']) {
          const original = WebAssembly[name];
          WebAssembly[name] = (...args) => {
            used.push(name);
            return original.apply(WebAssembly, args);
          };
        }
        const { pixel, collector } = window;
        // A Request for one, a URL for the other: init() fetches both.
        const url = new URL(`/${folder}/onramp_pixel_bg.wasm`, location.href);
        await pixel.init(folder === 'pkg' ? new Request(url) : url);
        const sent = await pixel.createSaasTracking({ partnerKey: 'pk_npm', serviceName: 'svc', customerId: id, baseUrl: collector });
        return { used, status: sent.status };
      },
      [folder, id],
    );
    assert.deepEqual(result, { used, status: 201 }, folder);
    assert.deepEqual(problems, []);
    await context.close();
  }
});

test('configure() then the positional form; a repeat is not sent again; options given with a call win; a refused configure() changes nothing', async () => {
  const { context, page, problems } = await npmPage();
  const id = uniqueId('npm-configured');
  const result = await page.evaluate(async (id) => {
    const { pixel, collector } = window;
    await pixel.configure({ baseUrl: collector + '/', partnerKey: 'pk_conf' });
    const first = await pixel.createSaasTracking(undefined, 'svc', id, new Date('2026-11-26T10:00:00Z'));
    const second = await pixel.createSaasTracking(undefined, 'svc', id, new Date('2026-11-26T10:00:00Z'));
    const badConfig = await pixel.configure({ partnerKey: 'pk_bad', baseUrl: 'ftp://x' }).catch((e) => [e.code, e.field]);
    const own = await pixel.createSaasTracking({ partnerKey: 'pk_own', serviceName: 'svc', customerId: id + '-own' });
    const after = await pixel.createSaasTracking(undefined, 'svc', id + '-after');
    return {
      first: first.status,
      second: [second.ok, second.alreadySent, second.status],
      badConfig,
      later: [own.tracking.partnerKey, after.tracking.partnerKey, own.status, after.status],
    };
  }, id);
  assert.deepEqual(result, {
    first: 201,
    second: [true, true, null],
    badConfig: ['invalid_base_url', 'baseUrl'],
    later: ['pk_own', 'pk_conf', 201, 201],
  });
  const stored = await world.sandbox.find(id);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].deliveries, 1);
  assert.equal(stored[0].purchasedAt, '2026-11-26T10:00:00.000Z');
  assert.deepEqual(problems, []);
  await context.close();
});

test('navigation away right after a call through the npm entry still delivers', async () => {
  for (let i = 0; i < 5; i++) {
    const { context, page } = await npmPage();
    await page.evaluate(() => window.pixel.init());
    const id = uniqueId('npm-nav-' + i);
    await page
      .evaluate(
        ([id, next]) => {
          window.pixel.createSaasTracking({ partnerKey: 'pk_npm', serviceName: 'svc', customerId: id, baseUrl: window.collector });
          location.href = next;
        },
        [id, world.pages.origin + '/next.html'],
      )
      .catch(() => {});
    await page.waitForURL('**/next.html');
    const stored = await world.sandbox.waitFor(id);
    await context.close();
    assert.equal(stored.length, 1, `run ${i}`);
  }
});

test('a collector that never answers: the call resolves queued, with code "timeout"', async () => {
  const sockets = new Set();
  const hung = http.createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
    if (req.method === 'OPTIONS') return res.writeHead(204).end();
    // never answer the POST
  });
  hung.on('connection', (s) => sockets.add(s));
  await new Promise((r) => hung.listen(0, '127.0.0.1', r));
  const { context, page, problems } = await npmPage();
  const outcome = await page.evaluate(
    (base) =>
      window.pixel
        .createSaasTracking({ partnerKey: 'pk', serviceName: 'svc', customerId: 'c', baseUrl: base, timeoutMs: 300 })
        .then((r) => [r.ok, r.queued, r.status, r.error.code], (e) => ['rejected', e.code]),
    `http://127.0.0.1:${hung.address().port}`,
  );
  assert.deepEqual(outcome, [false, true, null, 'timeout']);
  await context.close();
  for (const s of sockets) s.destroy();
  await new Promise((r) => hung.close(r));
  assert.deepEqual(problems.filter((p) => !p.includes('Failed to load resource')), []);
});

test('a collector that is down: the call resolves queued, with code "network_error"', async () => {
  const { context, page } = await npmPage();
  const outcome = await page.evaluate(() =>
    window.pixel
      .createSaasTracking({ partnerKey: 'pk', serviceName: 'svc', customerId: 'c', baseUrl: 'http://127.0.0.1:9' })
      .then((r) => [r.ok, r.queued, r.error.name, r.error.code], (e) => ['rejected', e.code]),
  );
  assert.deepEqual(outcome, [false, true, 'OnrampError', 'network_error']);
  await context.close();
});
