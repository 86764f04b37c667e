// npm run profile: where the confirmation page's main-thread script time
// goes. A measurement, not a test. Loads the bench's confirmation page (the
// README snippet with its preload line, a call as the page loads; the
// collector on another loopback origin) PROFILE_LOADS times (default 10) in
// fresh contexts of headless Chromium under the CDP sampling profiler
// (100 µs), and prints the self time per load by phase and the top
// functions. First it prints ScriptDuration for four pages, each a step
// further (blank, the loader, the module with an empty flush, the call),
// 20 fresh loads each (PROFILE_PHASE_LOADS), interleaved: the differences
// are the phases. PROFILE_COMPARE=DIR adds a page over another build's
// dist/ (PROFILE_COMPARE_PAGE: which page, /ours.html by default;
// PROFILE_COMPARE_DONE_MS: done after that long, for a build that never
// answers); PROFILE_COMPARE=worker compares the measurement of the engine
// in a dedicated worker (bench/worker-prototype/, over a copy of dist/);
// PROFILE_PAGE picks the sampled page; PROFILE_SKIP_SAMPLES=1 stops after
// the phases.
import http from 'node:http';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { launchBrowser, listen, startSandbox, types } from '../tests/e2e/helpers.mjs';
import { pin, root, stubLine } from './sizes.mjs';

const LOADS = Number(process.env.PROFILE_LOADS || 10);
const stub = stubLine();
const head = '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">';

const sandbox = await startSandbox({ statics: [], stderr: 'ignore' });
const collector = sandbox.origin;
const tag = `<script async src="/pkg/loader.js" data-base-url="${collector}" data-partner-key="pk_bench"></script>`;
const preload = '<link rel="preload" href="/pkg/onramp_pixel_bg.wasm" as="fetch" crossorigin="anonymous">';
const call = `<script>
  var id = new URLSearchParams(location.search).get('id');
  onramp('createSaasTracking', { serviceName: 'bench', customerId: id }, function () { window.done = true; });
</script>`;
// The phases as pages, each one step further than the one before: the
// difference of their script times is what that step costs.
const pages = {
  '/blank.html': `${head}</head><body><script>window.done = true</script></body></html>`,
  '/loader.html': `${head}${stub}${tag}</head><body><script>window.done = true</script></body></html>`,
  '/module.html': `${head}${stub}${preload}${tag}</head><body><script>
  onramp('flush', function () { window.done = true; });
</script></body></html>`,
  '/ours.html': `${head}${stub}${preload}${tag}</head><body>${call}</body></html>`,
};
let COMPARE = process.env.PROFILE_COMPARE;
if (COMPARE === 'worker') COMPARE = workerPrototype();

/** dist/ with bench/worker-prototype/ in place of pixel.js, the loader's hash of it rewritten. */
function workerPrototype() {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-worker-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(root, 'dist'), dir, { recursive: true });
  cpSync(join(root, 'bench/worker-prototype'), dir, { recursive: true });
  const shipped = pin(join(root, 'dist/pixel.js'));
  const loader = readFileSync(join(dir, 'loader.js'), 'utf8');
  if (!loader.includes(shipped)) throw new Error("profile: the loader does not carry pixel.js's pin");
  writeFileSync(join(dir, 'loader.js'), loader.replace(shipped, pin(join(dir, 'pixel.js'))));
  return dir;
}
if (COMPARE) {
  pages['/theirs.html'] = pages[process.env.PROFILE_COMPARE_PAGE || '/ours.html'].replaceAll('/pkg/', '/alt/');
  // A build that never answers: done after this long instead.
  if (process.env.PROFILE_COMPARE_DONE_MS) {
    pages['/theirs.html'] = pages['/theirs.html'].replace('<body>', `<body><script>setTimeout(() => (window.done = true), ${process.env.PROFILE_COMPARE_DONE_MS})</script>`);
  }
}
const server = http.createServer((req, res) => {
  const path = normalize(new URL(req.url, 'http://x').pathname);
  if (pages[path]) return res.writeHead(200, { 'content-type': 'text/html' }).end(pages[path]);
  if (path.startsWith('/pkg/') || (COMPARE && path.startsWith('/alt/'))) {
    try {
      const body = readFileSync(join(path.startsWith('/alt/') ? COMPARE : join(root, 'dist'), path.slice(5)));
      return res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {}
  }
  res.writeHead(404).end();
});
const { origin, close } = await listen(server);

/** The phase a sampled function belongs to. */
function phase(frame) {
  const { url, functionName: name } = frame;
  if (url.startsWith('wasm://')) return 'wasm (the module\'s own functions)';
  if (url.endsWith('/loader.js')) return 'loader.js';
  if (url.endsWith('/pixel.js')) return 'pixel.js (JS: entry, glue, IndexedDB and lock callbacks)';
  if (url.endsWith('ours.html')) return 'the page (stub, call)';
  if (name === '(garbage collector)') return 'garbage collector';
  if (name === '(program)' || name === '(idle)' || name === '(root)') return null;
  return `native: ${name || '(anonymous)'}`;
}

const browser = await launchBrowser();
/** Leaves nothing running: the browser, the page server, the sandbox. */
async function stop() {
  await browser.close();
  await close();
  sandbox.child.kill();
}

/** ScriptDuration (ms) of one fresh load of `path`, once window.done. */
async function scriptMs(path, i) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(`${origin}${path}?id=phase-${Date.now()}-${i}`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.done, null, { timeout: 30_000, polling: 50 });
  const { metrics } = await cdp.send('Performance.getMetrics');
  await context.close();
  return metrics.find((m) => m.name === 'ScriptDuration').value * 1000;
}
const PHASE_LOADS = Number(process.env.PROFILE_PHASE_LOADS || 20);
const variants = Object.keys(pages);
const times = Object.fromEntries(variants.map((v) => [v, []]));
for (let i = 0; i < PHASE_LOADS; i++) for (const v of variants) times[v].push(await scriptMs(v, i));
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`\nScriptDuration, median of ${PHASE_LOADS} fresh loads each, interleaved:`);
for (const v of variants) console.log(`  ${v.padEnd(14)} ${med(times[v]).toFixed(1)} ms`);
const step = (a, b) => (med(times[b]) - med(times[a])).toFixed(1);
console.log(`  loader (stub and loader.js, no call): ${step('/blank.html', '/loader.html')} ms`);
console.log(`  the module (pixel.js, the wasm compiled and instantiated, an empty flush): ${step('/loader.html', '/module.html')} ms`);
console.log(`  the call (lock, IndexedDB, the engine, the POST, its answer): ${step('/module.html', '/ours.html')} ms`);
if (process.env.PROFILE_SKIP_SAMPLES) {
  await stop();
  process.exit(0);
}
const totals = new Map();
const functions = new Map();
/** Inclusive time by entry point: the outermost frame of a script of ours in each sampled stack. */
const entries = new Map();
const scripts = [];
for (let i = 0; i < LOADS; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  await page.goto(`${origin}${process.env.PROFILE_PAGE || "/ours.html"}?id=profile-${Date.now()}-${i}`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.done, null, { timeout: 30_000 });
  const { profile } = await cdp.send('Profiler.stop');
  const { metrics } = await cdp.send('Performance.getMetrics');
  scripts.push(metrics.find((m) => m.name === 'ScriptDuration').value * 1000);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // The test harness's own scripts (playwright's polling of window.done) are not the page's.
  const harness = (id) => {
    for (let at = id; at != null; at = parent.get(at)) {
      if (/^(UtilityScript|InjectedScript)$/.test(byId.get(at).callFrame.functionName)) return true;
    }
    return false;
  };
  profile.samples.forEach((id, k) => {
    const ms = (profile.timeDeltas[k + 1] ?? 0) / 1000;
    const frame = byId.get(id).callFrame;
    const p = !harness(id) && phase(frame);
    if (!p) return;
    let entry = null;
    for (let at = id; at != null; at = parent.get(at)) {
      const f = byId.get(at).callFrame;
      if (/\/(loader|pixel)\.js$|\.html$/.test(f.url)) entry = f;
    }
    const where = entry ? `${entry.url.split('/').pop()} ${entry.functionName || '(top level)'}:${entry.columnNumber}` : `(no script of ours) ${p}`;
    entries.set(where, (entries.get(where) ?? 0) + ms);
    totals.set(p, (totals.get(p) ?? 0) + ms);
    const key = `${p.split(' ')[0]} ${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop()}:${frame.columnNumber}`;
    functions.set(key, (functions.get(key) ?? 0) + ms);
  });
  await context.close();
}
await stop();

const per = (ms) => (ms / LOADS).toFixed(2);
const sorted = (map) => [...map.entries()].sort((a, b) => b[1] - a[1]);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`\n${LOADS} loads, ScriptDuration median ${median(scripts).toFixed(1)} ms (with the profiler on)\n`);
console.log('| phase | self ms per load |\n|---|---:|');
let sum = 0;
for (const [p, ms] of sorted(totals)) {
  sum += ms;
  console.log(`| ${p} | ${per(ms)} |`);
}
console.log(`| sampled in all | ${per(sum)} |\n`);
console.log('entry points (inclusive ms per load: the outermost frame of ours in the stack):');
for (const [k, ms] of sorted(entries).slice(0, 25)) console.log(`  ${per(ms).padStart(6)}  ${k}`);
console.log('top functions (self ms per load):');
for (const [k, ms] of sorted(functions).slice(0, Number(process.env.PROFILE_TOP || 30))) console.log(`  ${per(ms).padStart(6)}  ${k}`);
