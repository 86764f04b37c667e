// Where providers install the snippet (docs/integration.md, "Installing
// with a tag manager or a framework"), in Chromium: Google Tag Manager's
// Custom HTML tags as its container injects them, a Next.js-style
// injection, a type="module" loader tag, and a loader run without any tag
// of its own. Each delivers once (the sandbox counts deliveries), with the
// snippet tag's data-* read and a clean console; where the loader cannot
// load the pixel, the calls stay queued and the stub sends them as the page
// is left.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, openPage, readmeExample, root, uniqueId, worldForTests } from './helpers.mjs';
import { run, workspace } from './package.mjs';

const world = worldForTests();

/** A new page whose console messages are kept too (`messages`, beside openPage's `problems`). */
async function watchedPage() {
  const opened = await openPage(world.browser);
  const messages = [];
  opened.page.on('console', (message) => messages.push(`${message.type()}: ${message.text()}`));
  return { ...opened, messages };
}

/** Loads `path` with a new id, waits for the call's outcome; the page stays open for more checks. */
async function install(path, query = '') {
  const opened = await watchedPage();
  const id = uniqueId(path.replace(/\W/g, ''));
  await opened.page.goto(`${world.pages.origin}/${path}?id=${id}${query}`);
  await opened.page.waitForFunction(() => window.outcome, null, { timeout: 15_000 });
  return { ...opened, id, outcome: await opened.page.evaluate(() => window.outcome) };
}

/** The tracking arrived once (the sandbox's check), sent with `partnerKey`. */
async function deliveredOnce(id, partnerKey) {
  const [stored] = await world.sandbox.deliveredOnce(id);
  assert.equal(stored.partnerKey, partnerKey, id);
}

/**
 * A docs block as a provider fills it in: the CDN and the collector are the
 * sandbox, the integrity dist's, `cust-42` the customer id `id`.
 */
async function filled(code, partnerKey, id = 'cust-42') {
  const integrity = JSON.parse(await readFile(join(root, 'dist/integrity.json'), 'utf8'))['loader.js'];
  return code
    .replaceAll('https://YOUR-CDN/onramp-pixel/', world.sandbox.origin + '/')
    .replace('sha384-…', integrity)
    .replaceAll('https://onramp.example.com', world.sandbox.origin)
    .replaceAll('YOUR-PARTNER-KEY', partnerKey)
    .replaceAll('cust-42', id);
}

/** The docs' call tag, its Data Layer Variable written in as Tag Manager writes a string. */
const signupTag = (id) => readmeExample('gtm-signup-tag').replace('{{DLV - customerId}}', JSON.stringify(id));

/** Fires a Custom HTML tag (gtm.html's reproduction of the container); resolves once its nodes are in. */
const fire = (page, html) => page.evaluate((html) => new Promise((resolve) => gtmFire(html, resolve)), html);

for (const [tags, what] of [
  ['one', 'the snippet and the call in one Custom HTML tag'],
  ['later', 'the snippet on all pages, the call in a later tag'],
  ['spa', "the snippet's tag fired again on a history change, then the call"],
]) {
  test(`Google Tag Manager (docs/integration.md): ${what}: delivered once, data-* read, console clean`, async () => {
    const { context, page, problems, messages } = await watchedPage();
    const id = uniqueId('gtm-' + tags);
    const snippet = await filled(readmeExample('snippet'), 'pk_gtm');
    // The visitor arrives from the marketplace (the snippet asks for a referral).
    await page.goto(`${world.pages.origin}/gtm.html?onramp_ref=mkt-gtm`);
    if (tags === 'one') await fire(page, snippet + signupTag(id));
    else {
      await fire(page, snippet);
      await page.waitForTimeout(200);
      if (tags === 'spa') {
        await page.evaluate(() => history.pushState({}, '', '/gtm.html/welcome'));
        await fire(page, snippet);
      }
      await fire(page, signupTag(id));
    }
    await deliveredOnce(id, 'pk_gtm');
    const loaders = await page.evaluate(() => document.querySelectorAll('script[src$="loader.js"]').length);
    assert.equal(loaders, tags === 'spa' ? 2 : 1, 'the tag fired as often as said');
    assert.deepEqual(problems, []);
    assert.deepEqual(messages, []);
    await context.close();
  });
}

test('Next.js (docs/integration.md): the App Router recipe and its npm alternative, built by the real next build and served by next start: each delivered once, console clean', async (t) => {
  const apps = await workspace();
  t.after(() => apps.remove());
  // The app installs next, react and react-dom itself (the versions this
  // checkout pins), as a provider's does: Next.js builds only what lies in
  // the app's own folder.
  const app = JSON.parse(await readFile(join(root, 'tests/fixtures/nextjs/package.json'), 'utf8'));
  const ours = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).devDependencies;
  for (const [name, version] of Object.entries(app.dependencies)) assert.equal(version, ours[name], name);
  const dir = await apps.install('nextjs');
  const id = uniqueId('nextjs');
  // (The fixture holds the app's icon: a page without one has the browser ask for /favicon.ico.)
  await mkdir(join(dir, 'app/welcome'), { recursive: true });
  await writeFile(join(dir, 'app/layout.jsx'), await filled(readmeExample('nextjs-layout'), 'pk_nextjs'));
  await writeFile(join(dir, 'app/welcome/page.jsx'), await filled(readmeExample('nextjs-welcome'), 'pk_nextjs', id));
  // The npm import instead of the snippet's call, on a page of its own.
  await mkdir(join(dir, 'app/welcome-npm'));
  await writeFile(join(dir, 'app/welcome-npm/page.jsx'), await filled(readmeExample('nextjs-npm'), 'pk_nextjs_npm', id + '-npm'));
  const next = join(dir, 'node_modules/next/dist/bin/next');
  const env = { NEXT_TELEMETRY_DISABLED: '1', NODE_TEST_CONTEXT: undefined };
  await run(process.execPath, [next, 'build'], dir, { timeout: 300_000, env });
  const port = await freePort();
  const server = spawn(process.execPath, [next, 'start', '-p', String(port), '-H', '127.0.0.1'], { cwd: dir, env: { ...process.env, ...env }, stdio: 'ignore' });
  t.after(() => server.kill());
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; !(await fetch(origin + '/welcome').then((r) => r.ok, () => false)); i++) {
    assert.ok(i < 300, 'next start answers');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const [path, customerId, partnerKey] of [['/welcome', id, 'pk_nextjs'], ['/welcome-npm', id + '-npm', 'pk_nextjs_npm']]) {
    const { context, page, problems, messages } = await watchedPage();
    await page.goto(origin + path);
    await deliveredOnce(customerId, partnerKey);
    assert.equal(await page.evaluate(() => document.querySelectorAll('script[src$="loader.js"][data-base-url]').length), 1, path);
    assert.deepEqual([...problems, ...messages], [], path);
    await context.close();
  }
});

test('Next.js-style injection (next/script afterInteractive: createElement, props as attributes), the call later: delivered once', async () => {
  for (const after of [0, 1500]) {
    const { context, id, outcome, messages, problems } = await install('injected.html', `&after=${after}`);
    assert.deepEqual(outcome, { status: 201, partnerKey: 'pk_next' }, `call after ${after} ms`);
    await deliveredOnce(id, 'pk_next');
    assert.deepEqual([...problems, ...messages], []);
    await context.close();
  }
});

test('a type="module" loader tag (no document.currentScript), with <base href> elsewhere: the tag found by its data-base-url, the .wasm beside the loader, delivered once', async () => {
  for (const [path, query] of [['module.html', ''], ['injected.html', '&module=1']]) {
    const { context, page, id, outcome, messages, problems } = await install(path, query);
    const partnerKey = path === 'module.html' ? 'pk_module' : 'pk_next';
    assert.deepEqual(outcome, { status: 201, partnerKey }, path + query);
    await deliveredOnce(id, partnerKey);
    const wasm = await page.evaluate(() =>
      performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.wasm')).map((e) => new URL(e.name).origin),
    );
    assert.deepEqual([...new Set(wasm)], [world.sandbox.origin], 'the .wasm comes from beside the loader, never from <base href>');
    assert.deepEqual([...problems, ...messages], []);
    await context.close();
  }
});

test('a loader run where no tag says where it is: one console line naming the fix, the calls kept, and the stub sends them as the page is left', async () => {
  const { context, page, id, outcome, messages, problems } = await install('evaluated.html');
  assert.deepEqual(outcome, { code: 'load_failed', message: "the loader's tag needs data-base-url" });
  const lines = messages.filter((m) => m.includes('[onramp]'));
  assert.ok(lines.length >= 1);
  for (const line of lines) assert.equal(line, "warning: [onramp] load_failed: the loader's tag needs data-base-url");
  assert.deepEqual(problems, []);
  // Nothing was sent, nothing was lost: both calls wait in the queue.
  assert.deepEqual(await world.sandbox.find(id + '-a'), []);
  assert.equal(await page.evaluate(() => onramp.q.filter((args) => args[0] === 'createSaasTracking').length), 2);
  await page.goto(world.pages.origin + '/next.html');
  await deliveredOnce(id + '-a', 'pk_evaluated');
  await deliveredOnce(id + '-b', 'pk_evaluated');
  await context.close();
});
