// npm run bench: a benchmark, not a test. Builds the release artifacts, then
// measures in one run, side by side:
//   - the size of everything a visitor downloads, ours and the peers' (npm
//     dev dependencies at pinned versions), raw / gzip -9 / brotli -q 11;
//   - in headless Chromium over N page loads, for our pixel, a plain-JS sender
//     like the original (one fetch POST, no keepalive) and each peer loading
//     its script and sending one event (scripts/bench/peers.mjs) to a local
//     endpoint on another loopback origin: the time from navigation start to
//     that request leaving the page (its Resource Timing startTime), and the
//     main-thread script time (CDP Performance.getMetrics ScriptDuration once
//     the request is done, minus a blank page's);
//   - the delivery rate of ours and of the plain sender when the page
//     navigates away in the same task as the call (collector on another origin).
// A peer whose event request does not appear within 10 s of a load fails the
// bench, naming the peer. Prints one Markdown table and writes
// bench/results.json. BENCH_LOADS, BENCH_NAVIGATIONS and BENCH_PEERS (names,
// comma-separated) make a shorter run, which is printed only.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { extname, join, normalize } from 'node:path';
import { launchBrowser, startSandbox } from '../tests/e2e/helpers.mjs';
import { PEERS as ALL_PEERS, handleCollector } from './bench/peers.mjs';
import { measureLanding, measureShipped, root, sizeOf, stubLine } from './sizes.mjs';

const LOADS = Number(process.env.BENCH_LOADS || 30);
const NAVIGATIONS = Number(process.env.BENCH_NAVIGATIONS ?? 50);
/** BENCH_PEERS=Plausible,Segment measures only those peers (all by default). */
const PEERS = process.env.BENCH_PEERS
  ? ALL_PEERS.filter((p) => process.env.BENCH_PEERS.split(',').includes(p.name))
  : ALL_PEERS;

/** How long a peer's event request may take to appear before the bench fails. */
const PEER_EVENT_TIMEOUT_MS = 10_000;

const stub = stubLine();
/** Where a whole run writes its table in docs/size-and-speed.md. */
const BENCH_BEGIN = '<!-- bench table: written by npm run bench -->';
const BENCH_END = '<!-- end of the bench table -->';
const head = '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">';

function pages(collector) {
  const body = (customerId) =>
    JSON.stringify({ partnerKey: 'pk_bench', serviceName: 'bench', customerId, purchasedAt: new Date().toISOString() });
  return {
    '/blank.html': `${head}</head><body>blank</body></html>`,
    '/next.html': `${head}</head><body>next</body></html>`,
    // Our pixel as a provider pastes it; the call is made as the page loads.
    '/ours.html': `${head}${stub}<link rel="preload" href="/pkg/onramp_pixel_bg.wasm" as="fetch" crossorigin="anonymous">
<script async src="/pkg/loader.js" data-base-url="${collector}" data-partner-key="pk_bench"></script>
</head><body><script>
  var id = new URLSearchParams(location.search).get('id') || 'bench-' + Math.random();
  onramp('createSaasTracking', { serviceName: 'bench', customerId: id }, function () { window.done = true; });
</script></body></html>`,
    // A page with the snippet and no call (a landing page the marketplace
    // links to): the loader keeps the referral, and loads no pixel.
    '/landing.html': `${head}${stub}
<script async src="/pkg/loader.js" data-base-url="${collector}" data-partner-key="pk_bench"></script>
</head><body>landing</body></html>`,
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

/**
 * The bench's page server: the pages, our package under /pkg/, node_modules
 * under /peer/, and on a second loopback origin (`collect`) the local endpoint
 * the peers send to (scripts/bench/peers.mjs); every request to it is logged.
 */
async function startServer(collector) {
  const fixed = pages(collector);
  const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
  const log = [];
  const segmentBundles = join(root, 'node_modules/@segment/analytics-next/dist/umd');
  const readBundle = (name) => {
    try {
      return readFileSync(join(segmentBundles, name));
    } catch {
      return null;
    }
  };
  let collect = null;
  const handler = (req, res) => {
    const url = new URL(req.url, 'http://x');
    const path = normalize(url.pathname);
    if (handleCollector(req, res, { collector: collect, log, readBundle })) return;
    let file = null;
    if (path.startsWith('/pkg/')) file = join(root, 'dist', path.slice(5));
    else if (path.startsWith('/peer/')) file = join(root, 'node_modules', path.slice(6));
    else if (path === '/peer.html') {
      const peer = PEERS.find((p) => p.name === url.searchParams.get('name'));
      if (!peer) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`${head}${peer.head(collect)}</head><body>peer</body></html>`);
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
  };
  const listen = (server) =>
    new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
  const server = http.createServer(handler);
  const collectServer = http.createServer(handler);
  const origin = await listen(server);
  collect = await listen(collectServer);
  return {
    origin,
    collect,
    log,
    close() {
      server.close();
      collectServer.close();
    },
  };
}

const median = (xs) => quantile(xs, 0.5);
function quantile(xs, q) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
}

/**
 * Loads `url` in a fresh context LOADS times; per load: script ms and the
 * tracking request's start. Ours and the plain sender: the first fetch to
 * `requestPath`, once `waitFor` holds. A peer: the first request to the local
 * endpoint whose path matches `peer.event`, once its Resource Timing entry is
 * in (the response is in), and it must have reached the endpoint.
 */
async function loadTimes(browser, url, { waitFor, requestPath, peer, server } = {}) {
  const scripts = [];
  const starts = [];
  const seen = new Set();
  for (let i = 0; i < LOADS; i++) {
    const id = `bench-${Date.now()}-${i}`;
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const begun = Date.now();
    await page.goto(`${url}${url.includes('?') ? '&' : '?'}id=${id}`, { waitUntil: 'load' });
    if (waitFor) await page.waitForFunction(waitFor, null, { timeout: 30_000 });
    if (peer) {
      const prefix = `${server.collect}/collect/${id}`;
      const timeout = Math.max(1, PEER_EVENT_TIMEOUT_MS - (Date.now() - begun));
      const start = await page
        .waitForFunction(
          ([prefix, source]) => {
            const re = new RegExp(source);
            const entry = performance
              .getEntriesByType('resource')
              .find((e) => e.name.startsWith(prefix + '/') && re.test(e.name.slice(prefix.length).split('?')[0]));
            return entry ? entry.startTime : false;
          },
          [prefix, peer.event.source],
          { timeout, polling: 50 },
        )
        .then((handle) => handle.jsonValue())
        .catch((error) => {
          const hits = server.log.filter((h) => h.id === id).map((h) => `${h.method} /${h.kind}/…${h.path}`);
          throw new Error(
            `bench: ${peer.name} sent no event request (${peer.event}) to ${prefix}/ within ${PEER_EVENT_TIMEOUT_MS / 1000} s ` +
              `(load ${i + 1}; requests to the endpoint: ${hits.join(', ') || 'none'}): ${error.message.split('\n')[0]}`,
          );
        });
      const arrived = server.log.some((h) => h.id === id && h.kind === 'collect' && h.method !== 'OPTIONS' && peer.event.test(h.path));
      if (!arrived) throw new Error(`bench: ${peer.name}'s event request is in Resource Timing but never reached the endpoint (load ${i + 1})`);
      for (const h of server.log) if (h.id === id) seen.add(`${h.method} /${h.kind}/<id>${h.path}`);
      starts.push(start);
    } else if (!waitFor) await page.waitForTimeout(300);
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
  return { scripts, starts, requests: [...seen].sort() };
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
  const landingSize = measureLanding();
  const peers = PEERS.map((p) => ({ ...p, ...sizeOf(readFileSync(join(root, 'node_modules', p.pkg, p.file))) }));

  const sandbox = await startSandbox();
  const server = await startServer(sandbox.origin);
  const { origin } = server;
  const browser = await launchBrowser();
  try {
    const blank = await loadTimes(browser, `${origin}/blank.html`);
    const pixel = await loadTimes(browser, `${origin}/ours.html`, { waitFor: () => window.done, requestPath: '/api/SaasTrackings' });
    const baseline = await loadTimes(browser, `${origin}/baseline.html`, { waitFor: () => window.done, requestPath: '/api/SaasTrackings' });
    // A page without a call (pricing, say): done once the loader has run.
    const plainPage = await loadTimes(browser, `${origin}/landing.html`, { waitFor: () => window.onramp && window.onramp.l });
    // The landing page the marketplace links to: done once the referral is
    // kept and the address cleaned.
    const landing = await loadTimes(browser, `${origin}/landing.html?onramp_ref=bench`, {
      waitFor: () => localStorage.getItem('onramp_ref') && !location.search.includes('onramp_ref'),
    });
    const peerTimes = [];
    for (const peer of PEERS) {
      const times = await loadTimes(browser, `${origin}/peer.html?name=${peer.name}`, { peer, server }).catch((error) => {
        if (!error.message.startsWith('bench:')) error.message = `bench: ${peer.name}: ${error.message}`;
        throw error;
      });
      peerTimes.push(times);
    }
    const oursArrived = await deliveryRate(browser, sandbox, origin, 'ours');
    const baselineArrived = await deliveryRate(browser, sandbox, origin, 'baseline');

    const blankScript = median(blank.scripts);
    const cost = (t) => ({ median: median(t.scripts) - blankScript, p95: quantile(t.scripts, 0.95) - blankScript });
    const start = (t) => ({ median: median(t.starts), p95: quantile(t.starts, 0.95) });
    const results = {
      date: new Date().toISOString(),
      chromium: browser.version(),
      loads: LOADS,
      navigations: NAVIGATIONS,
      sizes: { ours: ours.rows.concat([ours.total]), landing: landingSize.rows.concat([landingSize.total]), peers: peers.map(({ name, pkg, file, raw, gzip, brotli }) => ({ name, pkg, file, raw, gzip, brotli })) },
      // Peers: loading the script and sending one event, until that request's response is in.
      mainThreadMs: {
        ours: cost(pixel),
        pageWithoutCall: cost(plainPage),
        landing: cost(landing),
        baseline: cost(baseline),
        peers: Object.fromEntries(PEERS.map((p, i) => [p.name, cost(peerTimes[i])])),
        blankPage: { median: blankScript },
      },
      // Navigation start to the Resource Timing startTime of the tracking request (peers: their event request).
      requestStartMs: {
        ours: start(pixel),
        baseline: start(baseline),
        peers: Object.fromEntries(PEERS.map((p, i) => [p.name, start(peerTimes[i])])),
      },
      // What each peer page did to the local endpoint (and Segment's local CDN), and which request was timed.
      peerRequests: Object.fromEntries(
        PEERS.map((p, i) => [p.name, { timed: `/collect/<id> + ${p.event}`, seen: peerTimes[i].requests }]),
      ),
      deliveryOnNavigation: { ours: oursArrived, baseline: baselineArrived, of: NAVIGATIONS },
    };
    // The README's figures come from a whole run: a partial one is printed only.
    if (!process.env.BENCH_PEERS && NAVIGATIONS) {
      mkdirSync(join(root, 'bench'), { recursive: true });
      writeFileSync(join(root, 'bench/results.json'), JSON.stringify(results, null, 2) + '\n');
    }

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
    const row = (what, o, label, th) =>
      lines.push(`| ${what} | ${fmt(o.median)} (${fmt(o.p95)}) | ${label} | ${fmt(th.median)} (${fmt(th.p95)}) | ${ratio(o.median, th.median)} |`);
    const sending = (name) => `${name} (loads and sends one event)`;
    const mt = results.mainThreadMs;
    for (const p of PEERS) row('main-thread script ms, median (p95)', mt.ours, sending(p.name), mt.peers[p.name]);
    row('main-thread script ms, median (p95)', mt.ours, 'plain fetch sender', mt.baseline);
    // A page without a call (ours: the stub and loader.js keep the referral) against each
    // peer's page, which loads and sends its one event: Plausible's is the limit.
    for (const p of peers.filter((p) => p.name === 'Plausible')) {
      lines.push(`| download of a page without a call, gzip -9 (B) | ${landingSize.total.gzip} | ${p.name} \`${p.file}\` | ${p.gzip} | ${ratio(landingSize.total.gzip, p.gzip)} |`);
      row('main-thread script ms of a page without a call, median (p95)', mt.pageWithoutCall, sending(p.name), mt.peers[p.name]);
      row('main-thread script ms of the landing page (referral kept, address cleaned), median (p95)', mt.landing, sending(p.name), mt.peers[p.name]);
    }
    const rs = results.requestStartMs;
    for (const p of PEERS) row('navigation start → request leaves, ms, median (p95)', rs.ours, sending(p.name), rs.peers[p.name]);
    row('navigation start → request leaves, ms, median (p95)', rs.ours, 'plain fetch sender', rs.baseline);
    lines.push(`| delivered when the page navigates away in the same task | ${oursArrived} / ${NAVIGATIONS} | plain fetch sender | ${baselineArrived} / ${NAVIGATIONS} | ${ratio(oursArrived, baselineArrived)} |`);
    lines.push('', 'Our download in that run: ' + ours.rows.map((r) => `${r.file} ${r.gzip} B`).join(', ') + ` (gzip -9); total ${t.gzip} B.`);
    lines.push('', 'Peer requests to the local endpoint (the timed one matches the pattern):');
    for (const [name, r] of Object.entries(results.peerRequests)) lines.push(`- ${name}: ${r.timed}; seen: ${r.seen.join(', ')}`);
    console.log('\n' + lines.join('\n'));
    // A whole run writes its table and download line into the docs page
    // that shows them, between its markers.
    if (!process.env.BENCH_PEERS && NAVIGATIONS) {
      const page = join(root, 'docs/size-and-speed.md');
      const text = readFileSync(page, 'utf8');
      const [begin, end] = [BENCH_BEGIN, BENCH_END].map((marker) => text.indexOf(marker));
      if (begin < 0 || end < 0) throw new Error('docs/size-and-speed.md has no bench markers');
      const written = lines.slice(0, lines.indexOf('Peer requests to the local endpoint (the timed one matches the pattern):') - 1);
      writeFileSync(page, text.slice(0, begin) + `${BENCH_BEGIN}\n${written.join('\n')}\n` + text.slice(end));
      console.log('\nwrote the table into docs/size-and-speed.md');
    }
  } finally {
    await browser.close();
    server.close();
    await sandbox.stop();
  }
}

await main();
