// The size figures of docs/size-and-speed.md, held to what the build
// measures (scripts/sizes.mjs, over dist/) and to size-budget.json, so that
// no page can give another total than the build's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { measureLanding, measureNpm, measureShipped } from '../../scripts/sizes.mjs';
import { DOCS, docText, root } from './helpers.mjs';

const n = (value) => value.toLocaleString('en-US');
const budget = JSON.parse(readFileSync(join(root, 'size-budget.json'), 'utf8'));

test("docs/size-and-speed.md's size table, budget and npm total are what the build measures", () => {
  const page = docText('docs/size-and-speed.md');
  const { rows, total } = measureShipped();
  const gzip = Object.fromEntries(rows.map((r) => [r.file, r.gzip]));
  for (const [label, value] of [
    ['inline stub (sends on leaving, see [The snippet](integration.md#the-snippet))', gzip['inline stub']],
    ['`loader.js` (on every page: the referral\'s capture, and the pixel when there is work)', gzip['loader.js']],
    ['`pixel.js` (the replay, the npm entry and the wasm-bindgen glue, bundled)', gzip['pixel.js']],
    ['`onramp_pixel_bg.wasm`', gzip['onramp_pixel_bg.wasm']],
    ['**total**', `**${n(total.gzip)}**`],
  ]) {
    const shown = typeof value === 'number' ? n(value) : value;
    assert.ok(page.includes(`| ${label} | ${shown} |`), `the table says ${label}: ${shown}`);
  }
  assert.equal(budget.totalGzipBytes, total.gzip, 'the budget is the build, no slack');
  assert.ok(page.includes(`The budget is ${n(budget.totalGzipBytes)} B`), 'the budget sentence');
  const gap = total.gzip - budget.ceiling;
  assert.ok(gap <= 0 || page.includes(`the\npage is **${n(gap)} B over it**`), `the page says how far over Segment's ${budget.ceiling} B it is: ${gap} B`);
  // A page without a call: the stub and loader.js, under its ceiling.
  const landing = measureLanding();
  assert.equal(budget.landingGzipBytes, landing.total.gzip, 'the budget of a page without a call is the build');
  assert.ok(budget.landingGzipBytes <= budget.landingCeiling && budget.landingCeiling === 3500);
  assert.ok(page.includes(`| **a page without a call** | **${n(landing.total.gzip)}** |`), 'the table of a page without a call');
  const debugGzip = gzipSync(readFileSync(join(root, 'dist/debug.js')), { level: 9 }).length;
  assert.ok(page.includes(`not counted: ${n(debugGzip)} B gzip`), `debug.js: ${debugGzip} B`);
  assert.ok(page.includes(`past ${n(budget.stubMaxBytes)} B`), "the inline stub's limit");
  assert.ok(page.includes(`it is ${n(measureNpm().total.gzip)} B`), 'the total through the npm entry');
  // The peers' sizes, as the last bench measured them; Segment's is the budget's ceiling.
  const bench = JSON.parse(readFileSync(join(root, 'bench/results.json'), 'utf8'));
  const peer = (name) => n(bench.sizes.peers.find((p) => p.name === name).gzip);
  assert.equal(budget.ceiling, bench.sizes.peers.find((p) => p.name === 'Segment').gzip, "the ceiling is Segment's bundle");
  assert.ok(page.includes(`Segment's standalone bundle (${peer('Segment')} B)`), "Segment's size");
  assert.ok(page.includes(`Snowplow's ${peer('Snowplow')} B`), "Snowplow's size");
  // A step's cost is the difference of its row and the one before in "How it got here".
  const step = (label) => Number(new RegExp(`\\| ${label.replace(/[()]/g, '\\$&')} \\| [\\d,]+ \\| ([\\d,]+) \\|`).exec(page)[1].replace(',', ''));
  const consent = step('consent and Global Privacy Control (the entry and the stub)') - step('the accepted set forgets what is older than 7 days; `document.hidden`');
  assert.ok(page.includes(`GPC cost ${n(consent)} B`), `consent and GPC cost ${consent} B`);
  const stub = rows.find((r) => r.file === 'inline stub').raw;
  assert.ok(docText('docs/integration.md').includes(`Why the stub is ${n(stub)} bytes`), `docs/integration.md gives the stub line's ${n(stub)} bytes`);
});

test("docs/sandbox.md's load and durability tables are the last npm run bench:sandbox's (bench/sandbox.json)", () => {
  const bench = JSON.parse(readFileSync(join(root, 'bench/sandbox.json'), 'utf8'));
  const page = docText('docs/sandbox.md');
  for (const r of bench.load) {
    assert.ok(page.includes(`| ${r.concurrency} | ${r.posts} | ${r.perSecond} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.stored} | ${r.storedTwice} |`), `concurrency ${r.concurrency}`);
  }
  for (const d of bench.durability) assert.ok(page.includes(`| round ${d.round} | ${d.acknowledged} | ${d.acknowledged - d.lost} |`), `round ${d.round}`);
  if (bench.date) assert.ok(page.includes(`Measured on ${bench.date}.`), 'the date of the run');
});

test("docs/server.md's relay bench is the last npm run bench:relay's (bench/relay.json)", () => {
  const bench = JSON.parse(readFileSync(join(root, 'bench/relay.json'), 'utf8'));
  const page = docText('docs/server.md');
  for (const r of bench.results) {
    const row = `| ${r.label} | ${r.perSecond.toLocaleString('en')} | ${r.p50} ms | ${r.p95} ms | ${r.repeats} |`;
    assert.ok(page.includes(row), `docs/server.md has ${row}`);
  }
  assert.ok(page.includes(`Measured on ${bench.date},`), 'the date of the run');
});

test('no page of the documentation gives another current total', () => {
  const { total } = measureShipped();
  for (const file of DOCS) {
    for (const [sentence] of docText(file).matchAll(/(?:[^.\n]|\.(?=\S))*(?:download|budget)(?:[^.\n]|\.(?=\S))* total(?:[^.\n]|\.(?=\S))*\b(\d{2},?\d{3}) B\b(?:[^.\n]|\.(?=\S))*/gi)) {
      const figure = Number(/(\d{2},?\d{3}) B/.exec(sentence)[1].replace(',', ''));
      assert.ok(figure === total.gzip || /\b(in|at) (that|the) run\b|was\b/.test(sentence), `${file}: "${sentence.trim()}" gives ${figure}, the build ${total.gzip}`);
    }
  }
});
