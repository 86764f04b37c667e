// npm run bench: a benchmark, not a test. Builds the release artifacts, then
// measures in one run, side by side:
//   - the size of everything a visitor downloads, ours and the peers' (npm
//     dev dependencies at pinned versions), raw / gzip -9 / brotli -q 11;
//   - in headless Chromium over N page loads: the time from navigation start
//     to the tracking request leaving the page, and the main-thread script
//     time (CDP Performance.getMetrics ScriptDuration, minus a blank page's),
//     for our pixel, a plain-JS sender like the original (one fetch POST, no
//     keepalive) and each peer's script;
//   - the delivery rate of ours and of the plain sender when the page
//     navigates away in the same task as the call (collector on another origin).
// Prints one Markdown table and writes bench/results.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { extname, join, normalize } from 'node:path';
import { launchBrowser, startSandbox } from '../tests/e2e/helpers.mjs';
import { measureShipped, root, sizeOf } from './sizes.mjs';

const LOADS = Number(process.env.BENCH_LOADS || 30);
const NAVIGATIONS = Number(process.env.BENCH_NAVIGATIONS || 50);

const PEERS = [
  { name: 'Plausible', pkg: '@plausible-analytics/tracker', file: 'plausible.js', module: true },
  { name: 'Snowplow', pkg: '@snowplow/browser-tracker', file: 'dist/index.umd.min.js' },
  { name: 'Segment', pkg: '@segment/analytics-next', file: 'dist/umd/standalone.js' },
  { name: 'PostHog', pkg: 'posthog-js', file: 'dist/array.js' },
];

const stub = "<script>window.onramp=window.onramp||function(){(onramp.q=onramp.q||[]).push(arguments)};</script>";
const head = '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">';

function pages(collector) {
  const body = (customerId) =>
    JSON.stringify({ partnerKey: 'pk_bench', serviceName: 'bench', customerId, purchasedAt: new Date().toISOString() });
  return {
    '/blank.html': `${head}</head><body>blank</body></html>`,
    '/next.html': `${head}</head><body>next</body></html>`,
    // Our pixel as a provider pastes it; the call is made as the page loads.
    '/ours.html': `${head}${stub}<script async src="/pkg/loader.js" data-base-url="${collector}" data-partner-key="pk_bench"></script>
</head><body><script>
  var id = new URLSearchParams(location.search).get('id') || 'bench-' + Math.random();
  onramp('createSaasTracking', { serviceName: 'bench', customerId: id }, function () { window.done = true; });
</script></body></html>`,
    // The original integration's request, from a page: one fetch, no keepalive.
    '/baseline.html': `${head}</head><body><script>
  var id = new URLSearchParams(location.search).get('id') || 'bench-' + Math.random();
  window.send = function (id) {
    return fetch('${collector}/api/SaasTrackings', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ partnerKey: 'pk_bench', serviceName: 'bench', customerId: id, purchasedAt: new Date().toISOString() }) });
  };
  if (!new URLSearchParams(location.search).get('manual')) send(id).then(function () { window.done = true; });
</script></body></html>`,
    body,
  };
}

function startServer(collector) {
  const fixed = pages(collector);
  const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const path = normalize(url.pathname);
    let file = null;
    if (path.startsWith('/pkg/')) file = join(root, 'dist', path.slice(5));
    else if (path.startsWith('/peer/')) file = join(root, 'node_modules', path.slice(6));
    else if (path === '/peer.html') {
      const peer = PEERS.find((p) => p.name === url.searchParams.get('name'));
      const tag = peer.module
        ? `<script type="module" src="/peer/${peer.pkg}/${peer.file}"></script>`
        : `<script src="/peer/${peer.pkg}/${peer.file}"></script>`;
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`${head}${tag}</head><body>peer</body></html>`);
    }
    if (file) {
      try {
        res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
        return res.end(readFileSync(file));
      } catch {
        return res.writeHead(404).end();
      }
    }
    if (fixed[path]) {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(fixed[path]);
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${server.address().port}` })));
}

const median = (xs) => quantile(xs, 0.5);
function quantile(xs, q) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
}

/** Loads `url` in a fresh context LOADS times; per load: script ms and the request start. */
async function loadTimes(browser, url, { waitFor, requestPath } = {}) {
  const scripts = [];
  const starts = [];
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${url}${url.includes('?') ? '&' : '?'}id=bench-${Date.now()}-${i}`, { waitUntil: 'load' });
    if (waitFor) await page.waitForFunction(waitFor, null, { timeout: 30_000 });
    else await page.waitForTimeout(300);
    const { metrics } = await cdp.send('Performance.getMetrics');
    scripts.push(metrics.find((m) => m.name === 'ScriptDuration').value * 1000);
    if (requestPath) {
      starts.push(
        await page.evaluate(
          (path) => performance.getEntriesByType('resource').find((e) => e.name.endsWith(path) && e.initiatorType === 'fetch')?.startTime ?? NaN,
          requestPath,
        ),
      );
    }
    await context.close();
  }
  return { scripts, starts };
}

/** Call, then navigate away in the same task, NAVIGATIONS times; how many arrived. */
async function deliveryRate(browser, sandbox, origin, kind) {
  let arrived = 0;
  for (let i = 0; i < NAVIGATIONS; i++) {
    const id = `nav-${kind}-${Date.now()}-${i}`;
    const context = await browser.newContext();
    const page = await context.newPage();
    if (kind === 'ours') {
      await page.goto(`${origin}/ours.html?id=warm-${id}`);
      await page.waitForFunction(() => window.done);
    } else {
      await page.goto(`${origin}/baseline.html?manual=1`);
    }
    await page
      .evaluate(
        ([kind, id, next]) => {
          if (kind === 'ours') onramp('createSaasTracking', { serviceName: 'bench', customerId: id });
          else send(id);
          location.href = next;
        },
        [kind, id, `${origin}/next.html`],
      )
      .catch(() => {});
    await page.waitForURL('**/next.html').catch(() => {});
    const found = await sandbox.waitFor(id, 3_000);
    if (found.length) arrived++;
    await context.close();
  }
  return arrived;
}

const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const ratio = (a, b) => (b ? (a / b).toFixed(2) : 'n/a');

async function main() {
  execFileSync('node', [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
  execFileSync('cargo', ['build', '--release', '-p', 'onramp-sandbox'], { cwd: root, stdio: 'inherit' });

  const ours = measureShipped();
  const peers = PEERS.map((p) => ({ ...p, ...sizeOf(readFileSync(join(root, 'node_modules', p.pkg, p.file))) }));

  const sandbox = await startSandbox();
  const { server, origin } = await startServer(sandbox.origin);
  const browser = await launchBrowser();
  try {
    const blank = await loadTimes(browser, `${origin}/blank.html`);
    const pixel = await loadTimes(browser, `${origin}/ours.html`, { waitFor: () => window.done, requestPath: '/api/SaasTrackings' });
    const baseline = await loadTimes(browser, `${origin}/baseline.html`, { waitFor: () => window.done, requestPath: '/api/SaasTrackings' });
    const peerTimes = [];
    for (const peer of PEERS) peerTimes.push(await loadTimes(browser, `${origin}/peer.html?name=${peer.name}`));
    const oursArrived = await deliveryRate(browser, sandbox, origin, 'ours');
    const baselineArrived = await deliveryRate(browser, sandbox, origin, 'baseline');

    const blankScript = median(blank.scripts);
    const cost = (t) => ({ median: median(t.scripts) - blankScript, p95: quantile(t.scripts, 0.95) - blankScript });
    const results = {
      date: new Date().toISOString(),
      chromium: browser.version(),
      loads: LOADS,
      navigations: NAVIGATIONS,
      sizes: { ours: ours.rows.concat([ours.total]), peers: peers.map(({ name, pkg, file, raw, gzip, brotli }) => ({ name, pkg, file, raw, gzip, brotli })) },
      mainThreadMs: {
        ours: cost(pixel),
        baseline: cost(baseline),
        peers: Object.fromEntries(PEERS.map((p, i) => [p.name, cost(peerTimes[i])])),
        blankPage: { median: blankScript },
      },
      requestStartMs: {
        ours: { median: median(pixel.starts), p95: quantile(pixel.starts, 0.95) },
        baseline: { median: median(baseline.starts), p95: quantile(baseline.starts, 0.95) },
      },
      deliveryOnNavigation: { ours: oursArrived, baseline: baselineArrived, of: NAVIGATIONS },
    };
    mkdirSync(join(root, 'bench'), { recursive: true });
    writeFileSync(join(root, 'bench/results.json'), JSON.stringify(results, null, 2) + '\n');

    const lines = [];
    lines.push(`Chromium ${results.chromium}, ${LOADS} page loads each, ${NAVIGATIONS} navigations each, ${results.date.slice(0, 10)}.`, '');
    lines.push('| what | ours | peer / baseline | theirs | ours / theirs |', '|---|---:|---|---:|---:|');
    const t = ours.total;
    for (const p of peers) {
      lines.push(`| download, gzip -9 (B) | ${t.gzip} | ${p.name} \`${p.file}\` | ${p.gzip} | ${ratio(t.gzip, p.gzip)} |`);
    }
    for (const p of peers) {
      lines.push(`| download, brotli -q 11 (B) | ${t.brotli} | ${p.name} | ${p.brotli} | ${ratio(t.brotli, p.brotli)} |`);
    }
    const oc = results.mainThreadMs.ours;
    for (const [i, p] of PEERS.entries()) {
      const pc = cost(peerTimes[i]);
      lines.push(`| main-thread script ms, median (p95) | ${fmt(oc.median)} (${fmt(oc.p95)}) | ${p.name} (script load only) | ${fmt(pc.median)} (${fmt(pc.p95)}) | ${ratio(oc.median, pc.median)} |`);
    }
    const bc = results.mainThreadMs.baseline;
    lines.push(`| main-thread script ms, median (p95) | ${fmt(oc.median)} (${fmt(oc.p95)}) | plain fetch sender | ${fmt(bc.median)} (${fmt(bc.p95)}) | ${ratio(oc.median, bc.median)} |`);
    const rs = results.requestStartMs;
    lines.push(`| navigation start → request leaves, ms, median (p95) | ${fmt(rs.ours.median)} (${fmt(rs.ours.p95)}) | plain fetch sender | ${fmt(rs.baseline.median)} (${fmt(rs.baseline.p95)}) | ${ratio(rs.ours.median, rs.baseline.median)} |`);
    lines.push(`| delivered when the page navigates away in the same task | ${oursArrived} / ${NAVIGATIONS} | plain fetch sender | ${baselineArrived} / ${NAVIGATIONS} | ${ratio(oursArrived, baselineArrived)} |`);
    lines.push('', 'Our download: ' + ours.rows.map((r) => `${r.file} ${r.gzip} B`).join(', ') + ` (gzip -9); total ${t.gzip} B.`);
    console.log('\n' + lines.join('\n'));
  } finally {
    await browser.close();
    server.close();
    await sandbox.stop();
  }
}

await main();
