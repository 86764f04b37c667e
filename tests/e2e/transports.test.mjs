// The table of docs/delivery.md ("Delivery across origins and page
// navigation"), measured: each way of sending, from a page that navigates
// away in the same task, to a collector on another origin that answers
// CORS one way or the other, N page loads each, in Chromium. It is why the
// pixel sends as it does (a JSON Blob beacon is lost by collectors that
// answer `*`). The test fails when the page shows other counts than this
// run; ONRAMP_WRITE_DOCS=1 writes them.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launchBrowser, listen, root } from './helpers.mjs';

const LOADS = 20;
const PAGE = join(root, 'docs/delivery.md');

// [the table's row, the page's code sending `body` to `url`].
const WAYS = [
  ['`fetch`, `keepalive`, `application/json` (preflighted), `credentials: "omit"`', `fetch(url, { method: 'POST', keepalive: true, credentials: 'omit', headers: { 'content-type': 'application/json' }, body })`],
  ['`fetch`, `keepalive`, `text/plain`', `fetch(url, { method: 'POST', keepalive: true, credentials: 'omit', body })`],
  ['`sendBeacon` with a string (`text/plain`, no preflight)', 'navigator.sendBeacon(url, body)'],
  ['`sendBeacon` with an `application/json` Blob (preflighted with credentials)', `navigator.sendBeacon(url, new Blob([body], { type: 'application/json' }))`],
];
// [the table's column, the collector's CORS answer to an Origin].
const COLLECTORS = [
  ['collector echoes `Origin` with `Allow-Credentials`', (origin) => ({ 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' })],
  ['collector answers `Access-Control-Allow-Origin: *`', () => ({ 'access-control-allow-origin': '*' })],
];

let browser;
let site;
const collectors = [];

/** A collector answering CORS with `cors(origin)`; it counts the bodies it gets. */
function collector(cors) {
  const got = new Set();
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const headers = { ...cors(req.headers.origin ?? ''), 'access-control-allow-headers': 'content-type', 'access-control-allow-methods': 'POST' };
    if (req.method === 'POST') got.add(Buffer.concat(chunks).toString());
    res.writeHead(req.method === 'POST' ? 201 : 204, headers).end();
  });
  return listen(server).then((s) => ({ ...s, got }));
}

before(async () => {
  for (const [, cors] of COLLECTORS) collectors.push(await collector(cors));
  // /send?way=W&to=URL&id=ID sends and navigates away in the same task.
  site = await listen(
    http.createServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname !== '/send') return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><p>next</p>');
      const [, code] = WAYS[Number(url.searchParams.get('way'))];
      const script = `const url = ${JSON.stringify(url.searchParams.get('to') + '/api/SaasTrackings')}; const body = ${JSON.stringify(url.searchParams.get('id'))}; ${code}; location.href = '/next';`;
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><script>${script}</script>`);
    }),
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await Promise.all(collectors.map((c) => c.close()));
});

test(`docs/delivery.md's table is what Chromium does: each way of sending, ${LOADS} page loads each, to each collector`, async () => {
  const counts = WAYS.map(() => COLLECTORS.map(() => 0));
  const context = await browser.newContext();
  const page = await context.newPage();
  const sent = [];
  for (let load = 0; load < LOADS; load++) {
    for (const [w] of WAYS.entries()) {
      for (const [c, to] of collectors.entries()) {
        const id = `load-${load}-${w}-${c}`;
        sent.push([id, w, c]);
        await page.goto(`${site.origin}/send?way=${w}&to=${encodeURIComponent(to.origin)}&id=${id}`);
        await page.waitForURL(`${site.origin}/next`);
      }
    }
  }
  // What is on its way when the last page is left arrives within a few seconds.
  await page.goto('about:blank');
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await context.close();
  for (const [id, w, c] of sent) counts[w][c] += Number(collectors[c].got.has(id));

  const table = [
    `| how the tracking was sent | ${COLLECTORS.map(([column]) => column).join(' | ')} |`,
    `|---|${COLLECTORS.map(() => '---').join('|')}|`,
    ...WAYS.map(([row], w) => `| ${row} | ${counts[w].map((n) => (n === 0 ? `**0 / ${LOADS}**` : `${n} / ${LOADS}`)).join(' | ')} |`),
  ].join('\n');
  const text = readFileSync(PAGE, 'utf8');
  const start = text.indexOf('| how the tracking was sent |');
  const end = text.indexOf('\n\n', start);
  assert.ok(start > 0 && end > start, 'the table is in docs/delivery.md');
  assert.match(text, new RegExp(`\\(${LOADS} page loads each,`), 'the page says how many loads');
  const chromium = `measured in Chromium ${browser.version().split('.')[0]}`;
  assert.ok(process.env.ONRAMP_WRITE_DOCS || text.includes(chromium), `the page says "${chromium}"`);
  if (process.env.ONRAMP_WRITE_DOCS) writeFileSync(PAGE, (text.slice(0, start) + table + text.slice(end)).replace(/measured in Chromium \d+/, chromium));
  else assert.equal(text.slice(start, end), table, 'docs/delivery.md shows other counts (ONRAMP_WRITE_DOCS=1 writes this run\'s)');
});
