// The real uBlock Origin (Debian's package, unpacked by scripts/setup.sh) in
// Firefox ESR, as a temporary add-on through geckodriver, with its default
// lists: the README's snippet on a provider's page (www.provider.test), the
// loader and the .wasm from a public npm CDN's path (cdn.npm.test) and the
// collector (the sandbox) on a third host. Firefox resolves the two names to
// loopback (network.dns.localDomains). What uBO's engine says of the same
// requests, and of peers', is tests/e2e/adblock.test.mjs.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { extname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { listen, root, startSandbox, types, uniqueId } from '../e2e/helpers.mjs';
import { extension } from '../e2e/ublock.mjs';
import { startSession } from './webdriver.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CDN_PATH = '/npm/onramp-pixel@0.1.0/dist/';

let sandbox;
let server;
let port;
let firefox;

/** The provider's page: the README's snippet with the CDN's files and the collector. */
async function snippetPage(collector, cdn) {
  const stub = (await readFile(join(root, 'dist/stub.js'), 'utf8')).trim();
  const integrity = JSON.parse(await readFile(join(root, 'dist/integrity.json'), 'utf8'));
  return `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script>${stub}</script>
<link rel="preload" href="${cdn}onramp_pixel_bg.wasm" as="fetch" crossorigin="anonymous">
<script async src="${cdn}loader.js" integrity="${integrity['loader.js']}" crossorigin="anonymous" data-base-url="${collector}" data-partner-key="pk_adblock"></script>
</head><body><p>Thanks for signing up.</p></body></html>`;
}

before(async () => {
  sandbox = await startSandbox();
  // One server, two names: the CDN (dist/ under an npm path; under /slow/ its
  // loader.js comes 4 s late) and the provider's pages.
  server = http.createServer(async (req, res) => {
    const host = (req.headers.host || '').split(':')[0];
    const url = new URL(req.url, 'http://x');
    const headers = { 'access-control-allow-origin': '*' };
    try {
      if (host === 'cdn.npm.test') {
        const slow = url.pathname.startsWith('/slow' + CDN_PATH);
        const file = url.pathname.replace(/^\/slow/, '');
        if (!file.startsWith(CDN_PATH) || file.includes('..')) throw new Error('not found');
        if (slow && file.endsWith('loader.js')) await sleep(4000);
        const body = await readFile(join(root, 'dist', file.slice(CDN_PATH.length)));
        res.writeHead(200, { ...headers, 'content-type': types[extname(file)] || 'application/octet-stream' });
        return res.end(body);
      }
      if (host === 'www.provider.test') {
        const slow = url.pathname === '/slow.html' ? '/slow' : '';
        const body = await snippetPage(sandbox.origin, `http://cdn.npm.test:${port}${slow}${CDN_PATH}`);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(body);
      }
      throw new Error('not found');
    } catch {
      res.writeHead(404, headers).end();
    }
  });
  port = Number(new URL((await listen(server)).origin).port);
  firefox = await startSession('firefox', { prefs: { 'network.dns.localDomains': 'www.provider.test,cdn.npm.test' } });
  await firefox.installAddon(extension);
});

after(async () => {
  await firefox?.quit();
  server?.close();
  await sandbox?.stop();
});

/** Runs `body` (a function's source, awaited) in the page; its JSON result. */
const inPage = (body, args = []) =>
  firefox.executeAsync(
    `const done = arguments[arguments.length - 1];
     (async (...args) => { ${body} })(...arguments[0]).then((v) => done({ v }), (e) => done({ e: String(e) }));`,
    [args],
  );

async function open(page) {
  await firefox.navigate(`http://www.provider.test:${port}/${page}`);
}

test('uBlock Origin is on and blocking (a Snowplow collector path is refused)', async () => {
  await open('index.html');
  // Its lists load from the package in a few seconds after the install.
  let outcome;
  for (let i = 0; i < 60; i++) {
    outcome = await inPage(`return fetch(args[0] + '/com.snowplowanalytics.snowplow/tp2').then(() => 'passed', () => 'blocked');`, [sandbox.origin]);
    if (outcome.v === 'blocked') break;
    await sleep(500);
  }
  assert.equal(outcome.v, 'blocked');
});

test("the snippet's main path: loader and .wasm from the CDN, the POST to the collector", async () => {
  await open('index.html');
  const id = uniqueId('ubo-fetch');
  const result = await inPage(
    `await new Promise((r) => { const t = setInterval(() => window.onramp && onramp.l && (clearInterval(t), r()), 20); });
     return onramp('createSaasTracking', { serviceName: 'svc', customerId: args[0] });`,
    [id],
  );
  assert.equal(result.v?.ok, true, JSON.stringify(result));
  await sandbox.deliveredOnce(id);
});

test('the beacon transport (a keepalive no-cors fetch) passes', async () => {
  await open('index.html');
  const id = uniqueId('ubo-beacon');
  const result = await inPage(
    `await new Promise((r) => { const t = setInterval(() => window.onramp && onramp.l && (clearInterval(t), r()), 20); });
     return onramp('createSaasTracking', { serviceName: 'svc', customerId: args[0], transport: 'beacon' });`,
    [id],
  );
  assert.equal(result.v?.transport, 'beacon', JSON.stringify(result));
  await sandbox.deliveredOnce(id);
});

test("the stub's send, when the page is left before the loader has run, passes", async () => {
  await open('slow.html');
  const id = uniqueId('ubo-stub');
  await inPage(`onramp('createSaasTracking', { serviceName: 'svc', customerId: args[0] }); location.href = '/index.html';`, [id]);
  await sandbox.deliveredOnce(id);
});

test('the trap: navigator.sendBeacon to the collector is blocked (a third-party ping)', async () => {
  await open('index.html');
  const id = uniqueId('ubo-ping');
  const body = JSON.stringify({ partnerKey: 'pk_adblock', serviceName: 'svc', customerId: id, purchasedAt: '2026-12-01' });
  const queued = await inPage(`return navigator.sendBeacon(args[0] + '/api/SaasTrackings', args[1]);`, [sandbox.origin, body]);
  assert.equal(queued.v, true, 'the browser takes the beacon');
  await sleep(2000);
  assert.deepEqual(await sandbox.find(id), [], 'uBO dropped it');
  assert.ok(!(await sandbox.attempts()).some((a) => JSON.stringify(a).includes(id)), 'it never reached the collector');
});
