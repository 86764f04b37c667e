// Marketplace attribution end to end, in Chromium, on two subdomains of one
// site (www.provider.test for the landing page, app.provider.test for the
// signup's confirmation, both mapped to loopback) and a marketplace on
// another site (listing.market.test): the referral captured as the
// visitor arrives (a parameter, a referrer host, the provider's server),
// kept for its window in localStorage and a cookie on provider.test, the
// address bar cleaned, the gate at signup (requireReferral) in the engine
// and in the stub's send as the page is left, debug mode's lines, and the
// pixel (pixel.js, the .wasm) fetched only by a page with work for it.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { extname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

import { listen, readmeExample, root, startSandbox, types, uniqueId } from './helpers.mjs';

const DAY = 86_400_000;
const stub = (await readFile(join(root, 'dist/stub.js'), 'utf8')).trim();
const integrity = JSON.parse(await readFile(join(root, 'dist/integrity.json'), 'utf8'));

let sandbox, server, browser, port;
/** Pages by path, each a function of the request's URL. */
const pages = new Map();
/** Every request the page server saw: `host path`. */
const requests = [];
/** Files of dist/ served this many ms late. */
const late = new Map();

before(async () => {
  sandbox = await startSandbox();
  server = await listen(
    http.createServer(async (req, res) => {
      const url = new URL(req.url, `http://${req.headers.host}`);
      requests.push(url.hostname + ' ' + url.pathname);
      const file = url.pathname.match(/^\/pkg\/([\w.]+)$/)?.[1];
      if (file) {
        await new Promise((r) => setTimeout(r, late.get(file) ?? 0));
        try {
          const body = await readFile(join(root, 'dist', file));
          res.writeHead(200, { 'content-type': types[extname(file)], 'access-control-allow-origin': '*' });
          return res.end(body);
        } catch {
          return res.writeHead(404).end();
        }
      }
      const page = pages.get(url.pathname);
      if (!page) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page(url));
    }),
  );
  port = new URL(server.origin).port;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--host-resolver-rules=MAP *.test 127.0.0.1'],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await sandbox?.stop();
});

const at = (host, path) => `http://${host}:${port}${path}`;

/** The README's snippet for every page, with these data-* attributes; `body` after it. */
function snippet(attributes = {}, body = '', head = '') {
  const data = { 'base-url': sandbox.origin, 'partner-key': 'pk_attr', 'cookie-domain': 'provider.test', ...attributes };
  const attrs = Object.entries(data)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => (v === true ? ` data-${k}` : ` data-${k}="${v}"`))
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script>${stub}</script>${head}
<script async src="/pkg/loader.js" integrity="${integrity['loader.js']}" crossorigin="anonymous"${attrs}></script>
</head><body>${body}</body></html>`;
}

/** The confirmation page's call, its result in window.result. */
const call = (id, options = '') =>
  `<script>onramp('createSaasTracking', { serviceName: 'svc', customerId: '${id}'${options} }, (e, r) => { window.result = e ? { error: e.code } : r; });</script>`;

/** Serves `html` (a string or a function of the URL) at `path`; returns the path. */
function serve(path, html) {
  pages.set(path, typeof html == 'function' ? html : () => html);
  return path;
}

async function visitor() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  const lines = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.text().startsWith('[onramp]')) lines.push(m.text());
    if (m.type() == 'error') problems.push(m.text());
  });
  return { context, page, problems, lines };
}

/** What the page keeps: localStorage and the cookies of its context. */
async function kept(page) {
  return {
    local: await page.evaluate(() => localStorage.getItem('onramp_ref')),
    cookies: (await page.context().cookies()).filter((c) => c.name == 'onramp_ref'),
  };
}

async function resultOf(page) {
  await page.waitForFunction(() => window.result, null, { timeout: 20_000 });
  return page.evaluate(() => window.result);
}

test('a parameter on www, the signup on app with requireReferral: delivered once, the address bar cleaned', async () => {
  const id = uniqueId('attr-param');
  serve('/landing', snippet());
  serve('/confirm', (url) => snippet({ 'require-referral': true }, call(url.searchParams.get('id'))));
  const { context, page, problems } = await visitor();
  await page.goto(at('www.provider.test', '/landing?utm_source=x&onramp_ref=mkt-42.a_b~c&b=a%20b#plans'));
  await page.waitForFunction(() => !location.search.includes('onramp_ref'));
  assert.equal(new URL(page.url()).search, '?utm_source=x&b=a%20b', 'the other parameters kept as they were');
  assert.equal(new URL(page.url()).hash, '#plans');
  const { local, cookies } = await kept(page);
  assert.match(local, /^p:\d+:\d+:mkt-42\.a_b~c$/);
  const [, from, until] = local.split(':').map(Number);
  assert.equal(until - from, 30 * DAY, 'kept for the default window of 30 days');
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0].domain, '.provider.test');
  assert.equal(cookies[0].sameSite, 'Lax');
  assert.equal(cookies[0].value, local);
  assert.ok(Math.abs(cookies[0].expires * 1000 - until) < 5_000, 'the cookie lasts as long as the window');

  await page.goto(at('app.provider.test', `/confirm?id=${id}`));
  const result = await resultOf(page);
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.equal(result.referral.source, 'param');
  assert.equal(Date.parse(result.referral.at), from);
  assert.equal(await page.evaluate(() => localStorage.getItem('onramp_ref')), null, "app has only the cookie");
  // The body is the four fields (the sandbox refuses any other).
  await sandbox.deliveredOnce(id);
  assert.deepEqual(problems, []);
  await context.close();
});

test('no referral: with requireReferral the tracking is skipped, nothing stored or sent', async () => {
  const id = uniqueId('attr-none');
  serve('/confirm-required', (url) => snippet({ 'require-referral': true }, call(url.searchParams.get('id'))));
  const { context, page, problems } = await visitor();
  await page.goto(at('app.provider.test', `/confirm-required?id=${id}`));
  const result = await resultOf(page);
  assert.equal(result.skipped, 'not_referred', JSON.stringify(result));
  assert.equal(result.ok, false);
  assert.equal(result.queued, false);
  assert.equal(result.tracking.customerId, id);
  const storage = await page.evaluate(() => Object.keys(localStorage));
  assert.deepEqual(storage, [], 'nothing kept on the device');
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(await sandbox.find(id), [], 'nothing sent');
  assert.deepEqual((await sandbox.attempts()).filter((a) => a.customerId == id), []);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a referrer host, and the provider server: each referral counts with its source', async () => {
  serve('/listing', `<!doctype html><a id="go" href="${at('www.provider.test', '/landing-hosts')}">Try it</a>`);
  serve('/landing-hosts', snippet({ 'referrer-hosts': 'market.test' }));
  serve('/confirm-plain', (url) => snippet({ 'require-referral': true }, call(url.searchParams.get('id'))));
  const { context, page } = await visitor();
  await page.goto(at('listing.market.test', '/listing'));
  await Promise.all([page.waitForURL(/landing-hosts/), page.click('#go')]);
  await page.waitForFunction(() => localStorage.getItem('onramp_ref'));
  assert.match((await kept(page)).local, /^r:\d+:\d+$/);
  const id = uniqueId('attr-referrer');
  await page.goto(at('www.provider.test', `/confirm-plain?id=${id}`));
  assert.equal((await resultOf(page)).referral.source, 'referrer');
  await sandbox.deliveredOnce(id);
  await context.close();

  // The server resolved the marketplace's token and says so on the page it renders.
  // docs/attribution.md's line, as it is.
  serve('/server-said', snippet({}, readmeExample('referral-server')));
  const second = await visitor();
  await second.page.goto(at('app.provider.test', '/server-said'));
  await second.page.waitForFunction(() => localStorage.getItem('onramp_ref'));
  assert.match((await kept(second.page)).local, /^s:\d+:\d+:aws-123456$/);
  const other = uniqueId('attr-server');
  await second.page.goto(at('app.provider.test', `/confirm-plain?id=${other}`));
  assert.equal((await resultOf(second.page)).referral.source, 'server');
  await sandbox.deliveredOnce(other);
  await second.context.close();
});

test('first touch keeps the first referral, last touch the latest; a value outside the rules is never kept', async () => {
  for (const [attribution, expected] of [
    [undefined, 'first-1'],
    ['last', 'second-2'],
  ]) {
    const path = serve(`/touch-${attribution}`, snippet({ attribution }));
    const { context, page } = await visitor();
    await page.goto(at('www.provider.test', `${path}?onramp_ref=first-1`));
    await page.waitForFunction(() => localStorage.getItem('onramp_ref'));
    await page.goto(at('www.provider.test', `${path}?onramp_ref=second-2`));
    await page.waitForFunction(() => !location.search);
    assert.ok((await kept(page)).local.endsWith(':' + expected), `${attribution ?? 'first'}: ${(await kept(page)).local}`);
    await page.goto(at('www.provider.test', `${path}?onramp_ref=${encodeURIComponent('bad value!')}`));
    await page.evaluate(() => new Promise((r) => setTimeout(r, 200)));
    assert.ok((await kept(page)).local.endsWith(':' + expected), 'an invalid value changes nothing');
    assert.match(page.url(), /onramp_ref=bad/, 'and is left in the address');
    await context.close();
  }
});

test('the window: 31 days on, the referral no longer counts', async () => {
  serve('/landing-window', snippet());
  const { context, page } = await visitor();
  await page.goto(at('www.provider.test', '/landing-window?onramp_ref=old-1'));
  await page.waitForFunction(() => localStorage.getItem('onramp_ref'));
  await context.addInitScript((offset) => {
    const now = Date.now;
    Date.now = () => now() + offset;
  }, 31 * DAY);
  const id = uniqueId('attr-window');
  await page.goto(at('www.provider.test', `/confirm-plain?id=${id}`));
  const result = await resultOf(page);
  assert.equal(result.skipped, 'not_referred', JSON.stringify(result));
  assert.equal(await page.evaluate(() => localStorage.getItem('onramp_ref')), null, 'the loader deleted the expired referral');
  await context.close();
});

test('a parameter named token is never read or kept, whatever the configuration', async () => {
  serve('/landing-token', snippet({ 'referral-param': 'token,onramp_ref' }));
  const { context, page } = await visitor();
  await page.goto(at('www.provider.test', '/landing-token?token=SECRET-credential-9&onramp_ref=m-5'));
  await page.waitForFunction(() => !location.search.includes('onramp_ref'));
  const everything = await page.evaluate(async () => {
    const all = [document.cookie, JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage })];
    for (const { name } of await indexedDB.databases()) all.push(name);
    return all.join('\n');
  });
  const cookies = JSON.stringify(await context.cookies());
  assert.ok(!everything.includes('SECRET') && !cookies.includes('SECRET'), everything + cookies);
  assert.match((await kept(page)).local, /:m-5$/);
  await context.close();
});

test("the stub's send as the page is left honours requireReferral", async () => {
  // The pixel arrives late: the page is left first, and the stub sends.
  late.set('pixel.js', 3_000);
  serve('/leave', (url) =>
    snippet(
      { 'require-referral': true },
      `<script>onramp('createSaasTracking', { serviceName: 'svc', customerId: '${url.searchParams.get('id')}' });
       setTimeout(() => location.href = '/gone', 300);</script>`,
    ),
  );
  serve('/gone', '<!doctype html><p>gone</p>');
  try {
    const unreferred = uniqueId('attr-leave-no');
    const a = await visitor();
    await a.page.goto(at('app.provider.test', `/leave?id=${unreferred}`));
    await a.page.waitForURL(/gone/);
    const referred = uniqueId('attr-leave-yes');
    const b = await visitor();
    await b.page.goto(at('www.provider.test', '/landing?onramp_ref=m-9'));
    await b.page.waitForFunction(() => localStorage.getItem('onramp_ref'));
    await b.page.goto(at('app.provider.test', `/leave?id=${referred}`));
    await b.page.waitForURL(/gone/);
    await sandbox.deliveredOnce(referred);
    assert.deepEqual(await sandbox.find(unreferred), [], 'the unreferred visitor sent nothing');
    await a.context.close();
    await b.context.close();
  } finally {
    late.delete('pixel.js');
  }
});

test('debug mode: one line per decision when asked for, none otherwise', async () => {
  serve('/debug-landing', snippet());
  serve('/debug-confirm', (url) => snippet({ debug: url.searchParams.has('on') || undefined, 'require-referral': true }, call(url.searchParams.get('id'))));
  const quiet = await visitor();
  await quiet.page.goto(at('www.provider.test', '/debug-landing?onramp_ref=q-1'));
  await quiet.page.waitForFunction(() => localStorage.getItem('onramp_ref'));
  await quiet.page.goto(at('app.provider.test', `/debug-confirm?id=${uniqueId('attr-quiet')}`));
  await resultOf(quiet.page);
  assert.deepEqual(quiet.lines, [], 'nothing printed when off');
  assert.ok(!requests.some((r) => r.endsWith('/pkg/debug.js')), 'debug.js never fetched');

  const loud = await visitor();
  await loud.page.goto(at('www.provider.test', '/debug-landing?onramp_ref=d-1&onramp_debug=1'));
  await loud.page.waitForFunction(() => localStorage.getItem('onramp_ref'));
  await loud.page.waitForTimeout(300);
  assert.ok(loud.lines.some((l) => /^\[onramp\] referral captured from the address \(onramp_ref=d-1\), kept until \d{4}-\d\d-\d\d$/.test(l)), loud.lines.join('\n'));
  await loud.page.goto(at('app.provider.test', `/debug-confirm?on&id=${uniqueId('attr-loud')}`));
  await resultOf(loud.page);
  await loud.page.waitForTimeout(300);
  assert.ok(loud.lines.some((l) => /^\[onramp\] tracking sent \(fetch, HTTP 201\), referred by param/.test(l)), loud.lines.join('\n'));

  const skipped = await visitor();
  await skipped.page.goto(at('app.provider.test', `/debug-confirm?on&id=${uniqueId('attr-skip')}`));
  await resultOf(skipped.page);
  await skipped.page.waitForTimeout(300);
  assert.ok(skipped.lines.includes('[onramp] tracking skipped: the marketplace did not refer this visitor (requireReferral)'), skipped.lines.join('\n'));
  for (const v of [quiet, loud, skipped]) await v.context.close();
});

test('a page without a call fetches no pixel and no .wasm; one with a waiting tracking does, and sends it', async () => {
  serve('/pricing', snippet({}, '<p>pricing</p>'));
  const { context, page } = await visitor();
  const fetched = [];
  page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
  await page.goto(at('www.provider.test', '/pricing?onramp_ref=p-1'));
  await page.waitForFunction(() => localStorage.getItem('onramp_ref'));
  await page.waitForTimeout(500);
  assert.deepEqual(fetched.filter((p) => p.startsWith('/pkg/') || p.endsWith('.wasm')), ['/pkg/loader.js']);
  assert.equal(await page.evaluate(() => typeof WebAssembly.Module), 'function');

  // A tracking left waiting (the collector down), then a page without a call.
  const id = uniqueId('attr-waiting');
  await sandbox.faults([{ status: 503 }]);
  serve('/confirm-any', (url) => snippet({}, call(url.searchParams.get('id'))));
  await page.goto(at('www.provider.test', `/confirm-any?id=${id}`));
  const result = await resultOf(page);
  assert.equal(result.queued, true, JSON.stringify(result));
  // The retry is not due yet: flush it on the next page by its due time (the page's clock moved).
  await context.addInitScript(() => {
    const now = Date.now;
    Date.now = () => now() + 3_600_000;
  });
  fetched.length = 0;
  await page.goto(at('www.provider.test', '/pricing'));
  await sandbox.deliveredOnce(id);
  assert.ok(fetched.includes('/pkg/pixel.js') && fetched.some((p) => p.endsWith('.wasm')), fetched.join(' '));
  await context.close();
});

test('consent pending: nothing kept and the address left as it is until granted on that page', async () => {
  serve('/landing-consent', snippet({ consent: 'pending' }, '<button id="ok" onclick="onramp(\'consent\', \'granted\')">OK</button>'));
  const { context, page } = await visitor();
  await page.goto(at('www.provider.test', '/landing-consent?onramp_ref=c-1'));
  await page.waitForTimeout(500);
  assert.deepEqual(await kept(page), { local: null, cookies: [] });
  assert.match(page.url(), /onramp_ref=c-1/);
  await page.click('#ok');
  await page.waitForFunction(() => localStorage.getItem('onramp_ref'));
  assert.match((await kept(page)).local, /:c-1$/);
  assert.doesNotMatch(page.url(), /onramp_ref/);
  await context.close();

  // Denied: never kept.
  serve('/landing-denied', snippet({ consent: 'denied' }));
  const denied = await visitor();
  await denied.page.goto(at('www.provider.test', '/landing-denied?onramp_ref=c-2'));
  await denied.page.waitForTimeout(500);
  assert.deepEqual(await kept(denied.page), { local: null, cookies: [] });
  await denied.context.close();
});

test('the loader added again once the pixel came (a tag fired twice): one pixel, the next call sent once', async () => {
  const id = uniqueId('attr-again');
  serve('/confirm-again', (url) => snippet({}, call(url.searchParams.get('id'))));
  const { context, page, problems } = await visitor();
  const fetched = [];
  page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
  await page.goto(at('www.provider.test', `/confirm-again?id=${id}`));
  assert.equal((await resultOf(page)).ok, true);
  // A tag manager fires the tag again: the same loader, added once more.
  await page.evaluate((collector) => {
    const tag = document.createElement('script');
    tag.src = '/pkg/loader.js';
    tag.dataset.baseUrl = collector;
    tag.dataset.partnerKey = 'pk_attr';
    document.head.append(tag);
    return new Promise((resolve) => (tag.onload = resolve));
  }, sandbox.origin);
  const next = uniqueId('attr-again-next');
  const result = await page.evaluate((id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id }), next);
  assert.equal(result.ok, true, JSON.stringify(result));
  await sandbox.deliveredOnce(id, next);
  assert.equal(fetched.filter((p) => p == '/pkg/pixel.js').length, 1, fetched.join(' '));
  assert.deepEqual(problems, []);
  await context.close();
});

test('document.cookie is read only where the tag names a cookie domain (it is a trip to the browser on every page)', async () => {
  const reads = async (attributes) => {
    const id = uniqueId('attr-cookie-reads');
    const path = serve(`/cookie-reads-${id}`, snippet({ 'require-referral': true, ...attributes }, call(id)));
    const { context, page, problems } = await visitor();
    await page.addInitScript(() => {
      const real = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
      window.cookieReads = 0;
      Object.defineProperty(Document.prototype, 'cookie', {
        configurable: true,
        get() {
          window.cookieReads++;
          return real.get.call(this);
        },
        set(value) {
          real.set.call(this, value);
        },
      });
    });
    await page.goto(at('app.provider.test', `${path}?onramp_ref=mkt-7`));
    const result = await resultOf(page);
    assert.equal(result.ok, true, JSON.stringify(result));
    const n = await page.evaluate(() => window.cookieReads);
    assert.deepEqual(problems, []);
    await context.close();
    return n;
  };
  assert.equal(await reads({ 'cookie-domain': undefined }), 0, 'no data-cookie-domain: no cookie read');
  assert.ok((await reads({})) > 0, 'with data-cookie-domain the cookie counts');
});
