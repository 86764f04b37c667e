// The end-to-end scenarios that matter most, written once against
// ./browsers.mjs and run in Chromium, Firefox ESR and WebKitGTK: the page on
// one loopback origin, the loader and the collector (the sandbox) on
// another. What each engine did is written to target/compat.json, and the
// README's compatibility table must say the same (the last test).
// Needs dist/ (npm run build) and the sandbox (cargo build --release -p onramp-sandbox).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { root, startPageServer, startSandbox, uniqueId } from '../e2e/helpers.mjs';
import { runMatrix } from '../e2e/matrix.mjs';
import { ENGINES, closeAll, openProfile } from './browsers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** scenario → engine → what happened. */
const results = {};
/** engine → what the engine offers that the pixel uses. */
const features = {};

after(closeAll);

/** The snippet page with the wasm ready. */
async function readySnippet(profile, pages) {
  const tab = await profile.tab();
  await tab.goto(pages.origin + '/snippet.html');
  // A call loads the pixel (a page without one loads none).
  await tab.run(() => onramp('flush'));
  await tab.waitFor(() => window.onramp && window.onramp.loaded === true);
  return tab;
}

const SCENARIOS = {
  'options form with a callback: sent, stored, the callback gets the result': async ({ engine, sandbox, pages, profile }) => {
    const tab = await readySnippet(profile, pages);
    const id = uniqueId(`${engine}-cb`);
    const result = await tab.run(
      (id) =>
        new Promise((resolve) =>
          onramp('createSaasTracking', { serviceName: 'svc', customerId: id }, (e, r) =>
            resolve(e ? { code: e.code } : { ok: r.ok, status: r.status, transport: r.transport, partnerKey: r.tracking.partnerKey }),
          ),
        ),
      id,
    );
    assert.deepEqual(result, { ok: true, status: 201, transport: 'fetch', partnerKey: 'pk_snippet' });
    await sandbox.deliveredOnce(id);
  },

  'calls made before the loader arrived are replayed in order': async ({ engine, sandbox, pages, profile }) => {
    const tab = await profile.tab();
    const id = uniqueId(`${engine}-q`);
    await tab.goto(`${pages.origin}/snippet.html?queued=${id}`);
    await tab.waitFor(() => window.results && window.results.length === 2);
    // Answers may come in any order; what each call was sent with shows the order kept.
    assert.deepEqual(await tab.run(() => window.results.slice().sort()), [
      ['a', null, 'pk_snippet'],
      ['b', null, 'pk_second'],
    ]);
    for (const [suffix, key] of [['a', 'pk_snippet'], ['b', 'pk_second'], ['c', 'pk_third']]) {
      assert.equal((await sandbox.deliveredOnce(`${id}-${suffix}`))[0].partnerKey, key);
    }
  },

  'consent pending: nothing stored or sent; granted: sent once; denied: skipped': async ({ engine, sandbox, pages, profile }) => {
    const tab = await profile.tab();
    const id = uniqueId(`${engine}-consent`);
    await tab.goto(`${pages.origin}/consent.html?consent=pending&id=${id}`);
    await tab.waitFor(() => window.onramp && window.onramp.loaded === true);
    await sleep(700);
    const waiting = await tab.run(async () => ({
      results: window.results.length,
      local: Object.keys(localStorage).length,
      databases: indexedDB.databases ? (await indexedDB.databases()).length : 0,
    }));
    assert.deepEqual(waiting, { results: 0, local: 0, databases: 0 });
    assert.deepEqual(await sandbox.find(id), []);
    await tab.run(() => onramp('consent', 'granted'));
    await tab.waitFor(() => window.results.length === 1);
    assert.equal(await tab.run(() => window.results[0].ok), true);
    await sandbox.deliveredOnce(id);
    const denied = uniqueId(`${engine}-denied`);
    await tab.goto(`${pages.origin}/consent.html?consent=denied&id=${denied}`);
    await tab.waitFor(() => window.results.length === 1);
    assert.equal(await tab.run(() => window.results[0].skipped), 'consent_denied');
    await sleep(500);
    assert.deepEqual(await sandbox.find(denied), []);
  },

  'attribution: a referral in the address carried to the signup, sent once; a visitor not referred, skipped': async ({ engine, sandbox, pages, profile }) => {
    const tab = await profile.tab();
    const skipped = uniqueId(`${engine}-not-referred`);
    await tab.goto(`${pages.origin}/referral.html?id=${skipped}`);
    await tab.waitFor(() => window.results.length === 1);
    assert.deepEqual(await tab.run(() => window.results[0]), { ok: false, skipped: 'not_referred', source: null });
    // The marketplace's link: the loader keeps the referral and cleans the address.
    await tab.goto(`${pages.origin}/referral.html?onramp_ref=mkt-1`);
    await tab.waitFor(() => !location.search && /^p:\d+:\d+:mkt-1$/.test(localStorage.getItem('onramp_ref') || ''));
    const id = uniqueId(`${engine}-referred`);
    await tab.goto(`${pages.origin}/referral.html?id=${id}`);
    await tab.waitFor(() => window.results.length === 1);
    assert.deepEqual(await tab.run(() => window.results[0]), { ok: true, skipped: null, source: 'param' });
    await sandbox.deliveredOnce(id);
    assert.deepEqual(await sandbox.find(skipped), []);
    await tab.run(() => localStorage.removeItem('onramp_ref'));
  },

  'navigation away in the same task as the call: arrives once': async ({ engine, sandbox, pages, profile }) => {
    const tab = await readySnippet(profile, pages);
    const id = uniqueId(`${engine}-nav`);
    await tab.leaveTo(pages.origin + '/next.html', (id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id }), id);
    await sandbox.deliveredOnce(id);
  },

  'the page left as it loads, before the loader: the stub sends the call, once': async ({ engine, sandbox, pages, profile }) => {
    const tab = await profile.tab();
    const id = uniqueId(`${engine}-leave`);
    await tab.goto(`${pages.origin}/leave.html?id=${id}&loader=late-loader&after=0`).catch(() => {});
    const [stored] = await sandbox.deliveredOnce(id);
    assert.equal(stored.partnerKey, 'pk_leave');
  },

  'the wasm ready, the page left in the same task as the call before its load event, its lock slow to come: arrives once': async ({ engine, sandbox, pages, profile }) => {
    const tab = await profile.tab();
    const id = uniqueId(`${engine}-unloaded`);
    await tab.goto(`${pages.origin}/loading.html?id=${id}&slowlock=1500`).catch(() => {});
    const [stored] = await sandbox.deliveredOnce(id);
    assert.equal(stored.partnerKey, 'pk_loading');
  },

  'the bad-input matrix (48 cases), through the snippet and the npm entry: typed errors, nothing sent': async ({ engine, sandbox, pages, profile }) => {
    const tab = await readySnippet(profile, pages);
    const before = (await sandbox.attempts()).length;
    const snippet = await tab.run(runMatrix, 'snippet');
    await tab.goto(pages.origin + '/npm.html');
    await tab.waitFor(() => !!window.pixel);
    await tab.run(() => window.pixel.configure({ baseUrl: window.collector, partnerKey: 'pk_npm' }));
    const npm = await tab.run(runMatrix, 'npm');
    for (const [mode, results] of [['snippet', snippet], ['npm', npm]]) {
      assert.equal(results.length, 48);
      for (const { label, expected, got } of results) {
        assert.deepEqual(
          got,
          { settled: 'rejected', name: 'OnrampError', code: expected.code, field: expected.field, isError: true, readable: true },
          `${mode}: ${label}`,
        );
      }
    }
    await sleep(300);
    assert.equal((await sandbox.attempts()).length, before, 'nothing reached the collector');
  },

  'the npm entry, imported by a page as an ES module, sends': async ({ engine, sandbox, pages, profile }) => {
    const tab = await profile.tab();
    await tab.goto(pages.origin + '/npm.html');
    await tab.waitFor(() => !!window.pixel);
    const id = uniqueId(`${engine}-npm`);
    const result = await tab.run(
      (id) =>
        window.pixel
          .createSaasTracking({ baseUrl: window.collector, partnerKey: 'pk_npm', serviceName: 'svc', customerId: id })
          .then((r) => r.status, (e) => e.code),
      id,
    );
    assert.equal(result, 201);
    await sandbox.deliveredOnce(id);
  },

  'collector down at the call: queued; back up, a flush delivers it once': async ({ engine, world, pages, profile }) => {
    const tab = await readySnippet(profile, pages);
    const id = uniqueId(`${engine}-down`);
    await world.restart(async () => {
      const queued = await tab.run(
        (id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id }).then((r) => [r.ok, r.queued, r.error && r.error.code]),
        id,
      );
      assert.deepEqual(queued, [false, true, 'network_error']);
    });
    // Its own retry timer may have sent it already; a flush sends what still waits.
    const flushed = await tab.run(() => onramp('flush'));
    assert.equal(flushed.waiting, 0);
    await world.sandbox.deliveredOnce(id);
  },

  '503 twice, then 201: retried with backoff on the same page, delivered once': async ({ engine, sandbox, pages, profile }) => {
    const tab = await readySnippet(profile, pages);
    const id = uniqueId(`${engine}-503`);
    await sandbox.faults([{ status: 503, times: 2 }]);
    const first = await tab.run((id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id }).then((r) => [r.queued, r.status]), id);
    assert.deepEqual(first, [true, 503]);
    await sandbox.deliveredOnce(id);
    const statuses = (await sandbox.attempts()).filter((a) => a.customerId === id).map((a) => a.status);
    assert.deepEqual(statuses, [503, 503, 201]);
  },

  '429 with Retry-After (2 s), read across origins: the retry waits for it': async ({ engine, sandbox, pages, profile }) => {
    const tab = await readySnippet(profile, pages);
    const id = uniqueId(`${engine}-429`);
    await sandbox.faults([{ status: 429, retryAfter: 2 }]);
    const retryIn = await tab.run(
      (id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id }).then((r) => Date.parse(r.retryAt) - Date.now()),
      id,
    );
    assert.ok(retryIn > 1500, `the retry is due in ${retryIn} ms`);
    await sandbox.deliveredOnce(id);
    const [refused, accepted] = (await sandbox.attempts()).filter((a) => a.customerId === id);
    assert.ok(Date.parse(accepted.at) - Date.parse(refused.at) >= 1900, 'the retry came after Retry-After');
  },

  'a beacon (transport: "beacon") crosses origins and arrives once': async ({ engine, sandbox, pages, profile }) => {
    const tab = await readySnippet(profile, pages);
    const id = uniqueId(`${engine}-beacon`);
    const result = await tab.run(
      (id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id, transport: 'beacon' }).then((r) => [r.ok, r.transport]),
      id,
    );
    assert.deepEqual(result, [true, 'beacon']);
    await sandbox.deliveredOnce(id);
  },

  'a visitor clock 25 hours fast, purchasedAt omitted: the collector takes it': async ({ engine, sandbox, pages, profile }) => {
    const tab = await profile.tab();
    const id = uniqueId(`${engine}-clock`);
    await tab.goto(`${pages.origin}/queue.html?id=${id}&clock=${25 * 3_600_000}`);
    await tab.waitFor(() => window.results.length > 0);
    const [result] = await tab.run(() => window.results);
    assert.deepEqual([result.ok, result.status], [true, 201]);
    const [stored] = await sandbox.deliveredOnce(id);
    const ahead = Date.parse(stored.purchasedAt) - Date.now();
    assert.ok(ahead > 24 * 3_600_000, `sent by the visitor's clock (${ahead} ms ahead)`);
  },

  'a hung collector: the attempt times out (timeoutMs 500), the retry delivers once': async ({ engine, sandbox, pages, profile }) => {
    const tab = await profile.tab();
    const id = uniqueId(`${engine}-hung`);
    await sandbox.faults([{ delayMs: 4000, status: 503 }]);
    await tab.goto(`${pages.origin}/queue.html?id=${id}&timeout=500`);
    await tab.waitFor(() => window.results.length > 0);
    const [result] = await tab.run(() => window.results);
    assert.deepEqual([result.queued, result.error], [true, 'timeout']);
    await sandbox.deliveredOnce(id);
  },

  'a tracking queued, then the visitor clock set back 2 days: sent when the next page loads, once': async ({ engine, world, pages, profile }) => {
    const tab = await profile.tab();
    const id = uniqueId(`${engine}-clock-back`);
    await world.restart(async () => {
      await tab.goto(`${pages.origin}/queue.html?id=${id}&timeout=2000`);
      await tab.waitFor(() => window.results.length > 0);
      const [result] = await tab.run(() => window.results);
      assert.deepEqual([result.ok, result.queued], [false, true]);
      await tab.goto(`${pages.origin}/next.html`);
    });
    // The next page of the site carries the pixel and makes no call.
    await tab.goto(`${pages.origin}/queue.html?clock=${-2 * 24 * 3_600_000}`);
    await world.sandbox.deliveredOnce(id);
  },

  'the confirmation page reloaded three times: stored once, delivered once': async ({ engine, sandbox, pages, profile }) => {
    const tab = await profile.tab();
    const id = uniqueId(`${engine}-reload`);
    for (let i = 0; i < 3; i++) {
      await tab.goto(`${pages.origin}/leave.html?id=${id}&after=600000&reload=${i}`);
      await sandbox.waitFor(id);
      await tab.waitFor(() => window.onramp && window.onramp.loaded === true);
      await tab.run(() => onramp('flush'));
    }
    await sandbox.deliveredOnce(id);
  },

  'two tabs calling the same tracking at once: stored once, delivered once': async ({ engine, sandbox, pages, profile }) => {
    const first = await readySnippet(profile, pages);
    const second = await profile.newTab();
    await second.goto(pages.origin + '/snippet.html');
    await second.run(() => onramp('flush'));
    await second.waitFor(() => window.onramp && window.onramp.loaded === true);
    const id = uniqueId(`${engine}-tabs`);
    const start = (id) => {
      window.pending = onramp('createSaasTracking', { serviceName: 'svc', customerId: id }).then((r) => ({ ok: r.ok, queued: r.queued }));
    };
    await first.run(start, id);
    await second.run(start, id);
    const outcomes = [await first.run(() => window.pending), await second.run(() => window.pending)];
    assert.ok(outcomes.every((o) => o.ok || o.queued), JSON.stringify(outcomes));
    await sandbox.deliveredOnce(id);
  },

  'a strict Content Security Policy (wasm-unsafe-eval, trusted types): loads and sends': async ({ engine, sandbox, pages, profile }) => {
    const tab = await profile.tab();
    const id = uniqueId(`${engine}-csp`);
    await tab.goto(`${pages.origin}/csp.html?id=${id}`);
    assert.deepEqual(await tab.run(() => window.first), { status: 201, transport: 'fetch' });
    await sandbox.deliveredOnce(id);
  },

  'a tampered wasm is refused (Subresource Integrity): load_failed; the call kept, and sent once by the stub as the page is left': async ({ engine, sandbox, pages, profile }) => {
    const tab = await profile.tab();
    const id = uniqueId(`${engine}-tampered`);
    await tab.goto(`${pages.origin}/tampered.html?id=${id}`);
    assert.deepEqual(await tab.run(() => window.outcome), { code: 'load_failed' });
    await sleep(300);
    assert.deepEqual(await sandbox.find(id), []);
    await tab.goto(pages.origin + '/next.html');
    await sandbox.deliveredOnce(id);
  },

  'a type="module" loader tag (no document.currentScript), the base URL elsewhere: found by its data-base-url, sent once': async ({ engine, sandbox, pages, profile }) => {
    const tab = await profile.tab();
    const id = uniqueId(`${engine}-module`);
    await tab.goto(`${pages.origin}/module.html?id=${id}`);
    await tab.waitFor(() => window.outcome);
    assert.deepEqual(await tab.run(() => window.outcome), { status: 201, partnerKey: 'pk_module' });
    await sandbox.deliveredOnce(id);
  },
};

/** What the engine offers that the pixel relies on or falls back from. */
async function probe(engine, pages) {
  const profile = await openProfile(engine);
  try {
    const tab = await profile.tab();
    await tab.goto(pages.origin + '/next.html');
    return await tab.run(() => ({
      'keepalive fetch': 'keepalive' in Request.prototype,
      'Web Locks': !!(navigator.locks && navigator.locks.request),
      IndexedDB: typeof indexedDB === 'object' && indexedDB !== null,
      'AbortSignal.timeout': typeof AbortSignal.timeout === 'function',
      'WebAssembly.compileStreaming': typeof WebAssembly.compileStreaming === 'function',
    }));
  } finally {
    await profile.close();
  }
}

for (const engine of ENGINES) {
  test(engine, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), `onramp-engines-${engine}-`));
    const db = join(dir, 'trackings.db');
    const world = { sandbox: await startSandbox({ db }) };
    // Stops the collector for `during`, then starts it again on its port.
    world.restart = async (during) => {
      await world.sandbox.stop();
      try {
        await during();
      } finally {
        world.sandbox = await world.sandbox.start();
      }
    };
    const pages = await startPageServer(world.sandbox.origin);
    try {
      features[engine] = await probe(engine, pages);
      for (const [name, scenario] of Object.entries(SCENARIOS)) {
        // ONRAMP_SCENARIO=text runs only the scenarios whose name has it (while working on one).
        if (!name.includes(process.env.ONRAMP_SCENARIO ?? '')) continue;
        await t.test(name, async () => {
          (results[name] ||= {})[engine] = 'failed';
          // Each scenario in a fresh profile of its own.
          const profile = await openProfile(engine);
          try {
            await scenario({ engine, world, sandbox: world.sandbox, pages, profile });
          } finally {
            await profile.close();
          }
          results[name][engine] = 'yes';
        });
      }
    } finally {
      await pages.close();
      await world.sandbox.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

/** The README's table, from this run. */
function table() {
  const head = `| | ${ENGINES.map((e) => ENGINE_NAMES[e]).join(' | ')} |`;
  const lines = [head, `|---|${ENGINES.map(() => ':---:').join('|')}|`];
  for (const name of Object.keys(SCENARIOS)) lines.push(`| ${name} | ${ENGINES.map((e) => results[name]?.[e] ?? '—').join(' | ')} |`);
  for (const feature of Object.keys(features[ENGINES[0]] ?? {})) {
    lines.push(`| has ${feature} | ${ENGINES.map((e) => (features[e]?.[feature] ? 'yes' : 'no')).join(' | ')} |`);
  }
  return lines.join('\n');
}

const ENGINE_NAMES = { chromium: 'Chromium', firefox: 'Firefox ESR', webkit: 'WebKitGTK' };
const BEGIN = '<!-- compatibility table: written by tests/engines/suite.test.mjs -->';
const END = '<!-- end of the compatibility table -->';

test("docs/browsers.md's compatibility table is what this run found (ONRAMP_WRITE_COMPAT=1 writes it)", () => {
  mkdirSync(join(root, 'target'), { recursive: true });
  writeFileSync(join(root, 'target/compat.json'), JSON.stringify({ results, features }, null, 2) + '\n');
  const readme = readFileSync(join(root, 'docs/browsers.md'), 'utf8');
  const found = `${BEGIN}\n${table()}\n${END}`;
  const current = readme.slice(readme.indexOf(BEGIN), readme.indexOf(END) + END.length);
  if (process.env.ONRAMP_WRITE_COMPAT === '1' && readme.includes(BEGIN)) {
    writeFileSync(join(root, 'docs/browsers.md'), readme.replace(current, found));
    return;
  }
  assert.ok(readme.includes(BEGIN) && readme.includes(END), 'the README has the table between its markers');
  assert.equal(current, found);
});
