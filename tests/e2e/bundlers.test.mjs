// The packed package (`npm pack` after `npm run build`) installed into an app
// as a user would (`npm install <tarball>`), then used through a Vite 8
// production build, webpack 5 without a configuration file, Rollup 4 with the
// README's configuration, esbuild as an ES module (the README's commands) and
// as an IIFE bundle, and a plain Node 20 script, against the sandbox
// collector; each web app is driven in Chromium. The apps are
// tests/fixtures/<name>/, copied into a temp dir per run with their
// node_modules and builds; the tools are this checkout's dev dependencies.
//
// PACKAGE_DIR packs another checkout (default: this one); it must have been
// built (`npm run build`). The fixtures and the tools are this checkout's.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';
import { commandLines, readmeExample, root, uniqueId, wasmRequests } from './helpers.mjs';
import { appsForTests, installedWasm, linkDependency, openSite, run, viteBuild } from './package.mjs';

const world = appsForTests();

const installFixture = (name) => world.apps.install(name);

/** Serves `dir` and opens its index.html until `ready` holds; closed after the test. */
async function openApp(t, dir, ready) {
  const opened = await openSite(t, world.browser, dir);
  await opened.page.waitForFunction(ready);
  return opened;
}

test('Vite 8 production build: a lone surrogate is refused and nothing is sent; a good tracking is sent once', async (t) => {
  const dir = await installFixture('vite-app');
  await viteBuild(dir);
  const { page, problems } = await openApp(t, join(dir, 'dist'), () => window.pixel);

  await page.evaluate(
    (collector) => window.pixel.configure({ baseUrl: collector, partnerKey: 'pk_vite' }),
    world.sandbox.origin,
  );
  const attemptsBefore = (await world.sandbox.attempts()).length;
  const storedBefore = (await world.sandbox.trackings()).length;
  // Built in the page: a lone surrogate may not survive the trip from the test.
  const bad = await page.evaluate(() =>
    window.pixel.createSaasTracking({ serviceName: 'svc', customerId: 'x' + String.fromCharCode(0xd800) }).then(
      (r) => ({ settled: 'resolved', ok: r.ok, status: r.status }),
      (e) => ({ settled: 'rejected', name: e.name, code: e.code, field: e.field }),
    ),
  );
  assert.deepEqual(bad, { settled: 'rejected', name: 'OnrampError', code: 'invalid_characters', field: 'customerId' });
  await page.waitForTimeout(200);
  assert.equal((await world.sandbox.attempts()).length, attemptsBefore, 'the refused call reached the collector');
  assert.equal((await world.sandbox.trackings()).length, storedBefore, 'the refused call was stored');

  const id = uniqueId('vite');
  const status = await page.evaluate(
    (id) => window.pixel.createSaasTracking({ serviceName: 'svc', customerId: id }).then((r) => r.status),
    id,
  );
  assert.equal(status, 201);
  assert.equal((await world.sandbox.find(id)).length, 1);
  assert.deepEqual(problems, []);
});

/**
 * Configures the app's pixel for the sandbox and sends one tracking: answered
 * 201, stored once, no error on the page, and the .wasm the page fetched is
 * the package's.
 */
async function sendsOnce(page, problems, label) {
  const id = uniqueId(label);
  const status = await page.evaluate(
    async ([collector, id]) => {
      await window.pixel.configure({ baseUrl: collector, partnerKey: 'pk_' + id.split('-')[0] });
      return (await window.pixel.createSaasTracking({ serviceName: 'svc', customerId: id })).status;
    },
    [world.sandbox.origin, id],
  );
  assert.equal(status, 201);
  const stored = await world.sandbox.find(id);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].deliveries, 1);
  assert.equal(await wasmRequests(page), 1, 'the page fetched the .wasm once');
  assert.deepEqual(problems, []);
}

test('webpack 5 without a configuration file: the build emits the .wasm and the app sends', async (t) => {
  const dir = await installFixture('webpack-app');
  await run(join(root, 'node_modules/.bin/webpack'), ['--mode', 'production'], dir);
  const built = await readdir(join(dir, 'dist'));
  assert.ok(built.some((f) => f.endsWith('.wasm')), `webpack emitted no .wasm: ${built.join(', ')}`);
  await copyFile(join(dir, 'index.html'), join(dir, 'dist/index.html'));
  const { page, problems } = await openApp(t, join(dir, 'dist'), () => window.pixel);
  await sendsOnce(page, problems, 'webpack');
});

test("Rollup 4 with the README's configuration (the resolve plugin and the .wasm emitted): the app sends", async (t) => {
  const dir = await installFixture('rollup-app');
  await linkDependency(dir, '@rollup/plugin-node-resolve');
  await run(join(root, 'node_modules/.bin/rollup'), ['--config', 'rollup.config.mjs', '--silent'], dir);
  await copyFile(join(dir, 'index.html'), join(dir, 'dist/index.html'));
  const { page, problems } = await openApp(t, join(dir, 'dist'), () => window.pixel);
  await sendsOnce(page, problems, 'rollup');
});

test("esbuild as an ES module with the README's two commands (bundle, copy the .wasm): the app sends", async (t) => {
  const dir = await installFixture('esbuild-esm');
  for (const command of readmeCommands('esbuild-esm')) await run('bash', ['-c', command], dir);
  await copyFile(join(dir, 'index.html'), join(dir, 'dist/index.html'));
  const { page, problems } = await openApp(t, join(dir, 'dist'), () => window.pixel);
  await sendsOnce(page, problems, 'esbuild');
});

/**
 * The command lines of the README's code block marked `example=NAME`, with
 * this checkout's tools first on the PATH, where `npx TOOL` is TOOL (an app
 * would have it installed; npx would not look on the PATH).
 */
function readmeCommands(name) {
  const path = `PATH=${join(root, 'node_modules/.bin')}:$PATH`;
  return commandLines(readmeExample(name)).map((line) => `${path} ${line.replace(/^npx /, '')}`);
}

test('esbuild IIFE bundle: before init(url) a call rejects with load_failed (never throws); after it, a call is sent once', async (t) => {
  const dir = await installFixture('esbuild-iife');
  const out = join(dir, 'public');
  await mkdir(out);
  await build({
    absWorkingDir: dir,
    entryPoints: ['main.js'],
    bundle: true,
    format: 'iife',
    outfile: join(out, 'bundle.js'),
    logLevel: 'silent',
  });
  await copyFile(join(dir, 'index.html'), join(out, 'index.html'));
  await copyFile(installedWasm(dir), join(out, 'onramp_pixel_bg.wasm'));
  const { page, problems } = await openApp(t, out, () => window.pixel);

  const early = uniqueId('iife-early');
  const id = uniqueId('iife');
  const got = await page.evaluate(
    async ([collector, early, id]) => {
      const { pixel } = window;
      const track = (customerId) =>
        pixel.createSaasTracking({ partnerKey: 'pk_iife', serviceName: 'svc', customerId, baseUrl: collector });
      let pending;
      try {
        pending = track(early);
      } catch (e) {
        return { threw: `${e.name}: ${e.message}` };
      }
      if (!(pending instanceof Promise)) return { returned: String(pending) };
      const first = await pending.then(
        (r) => ({ settled: 'resolved', status: r.status }),
        (e) => ({ settled: 'rejected', name: e.name, code: e.code, message: e.message }),
      );
      await pixel.init(new URL('onramp_pixel_bg.wasm', location.href).href);
      const sent = await track(id);
      return { first, status: sent.status };
    },
    [world.sandbox.origin, early, id],
  );
  assert.equal(got.threw, undefined, 'createSaasTracking() threw synchronously');
  assert.equal(got.returned, undefined, 'createSaasTracking() did not return a Promise');
  const { message, ...first } = got.first;
  assert.deepEqual(first, { settled: 'rejected', name: 'OnrampError', code: 'load_failed' });
  assert.match(message, /init\(/);
  assert.equal(got.status, 201);
  assert.equal((await world.sandbox.find(id)).length, 1);
  assert.deepEqual(await world.sandbox.find(early), []);
  assert.deepEqual(problems, []);
});

test('plain Node 20: a script that imports the installed package sends without init()', async () => {
  const dir = await installFixture('node-app');
  const id = uniqueId('node');
  const { stdout } = await run(process.execPath, ['send.mjs', world.sandbox.origin, id], dir, 30_000);
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)), { ok: true, status: 201 });
  assert.equal((await world.sandbox.find(id)).length, 1);
});
