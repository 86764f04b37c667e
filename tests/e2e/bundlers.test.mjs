// The packed package (`npm pack` after `npm run build`) installed into an app
// as a user would (`npm install <tarball>`), then used through a Vite 8
// production build, an esbuild IIFE bundle and a plain Node 20 script, against
// the sandbox collector. The apps are tests/fixtures/<name>/, copied into a
// temp dir per run with their node_modules and builds.
//
// PACKAGE_DIR packs another checkout (default: this one); it must have been
// built (`npm run build`). The fixtures, Vite and esbuild are this checkout's.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import { launchBrowser, listen, openPage, root, startSandbox, types, uniqueId } from './helpers.mjs';

const packageDir = resolve(process.env.PACKAGE_DIR || root);

let work;
let sandbox;
let browser;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'onramp-bundlers-'));
  sandbox = await startSandbox();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await sandbox?.stop();
  if (work && !process.env.KEEP_FIXTURES) await rm(work, { recursive: true, force: true });
});

/** Runs a command to completion; rejects with its output when it fails. */
function run(command, args, cwd, timeout = 120_000) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (!error) return resolve({ stdout, stderr });
      const why = error.killed ? `killed after ${timeout} ms` : `exit ${error.code}`;
      reject(new Error(`${command} ${args.join(' ')} (in ${cwd}): ${why}\n${stdout}${stderr}`));
    });
  });
}

let packed;
/** The package packed once per run (`npm pack` of PACKAGE_DIR): the tarball's path. */
function tarball() {
  packed ??= (async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], packageDir);
    const [{ filename, files }] = JSON.parse(stdout);
    const paths = files.map((f) => f.path);
    for (const wanted of ['dist/index.js', 'dist/onramp_pixel_bg.wasm']) {
      assert.ok(paths.includes(wanted), `${wanted} is not in the packed package (is dist/ built? \`npm run build\` in ${packageDir})`);
    }
    return join(work, filename);
  })();
  return packed;
}

/**
 * Copies tests/fixtures/<name>/ into the run's temp dir and installs the
 * packed package there, as a user would; returns the app's directory.
 */
async function installFixture(name) {
  const dir = join(work, name);
  await cp(join(root, 'tests/fixtures', name), dir, { recursive: true });
  await run('npm', ['install', '--no-audit', '--no-fund', await tarball()], dir);
  // Whatever resolves 'onramp-pixel' from the app finds this copy, not a checkout.
  const entry = createRequire(join(dir, 'package.json')).resolve('onramp-pixel');
  assert.ok(entry.startsWith(join(dir, 'node_modules/onramp-pixel/')), entry);
  return dir;
}

/** The installed package's .wasm (its `onramp-pixel/onramp_pixel_bg.wasm` export). */
const installedWasm = (dir) => createRequire(join(dir, 'package.json')).resolve('onramp-pixel/onramp_pixel_bg.wasm');

/** Serves a directory on its own loopback origin, as a static host would. */
async function serve(dir) {
  const server = http.createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = join(dir, path.endsWith('/') ? path + 'index.html' : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': types[extname(file)] || 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return listen(server);
}

/** Serves `dir` and opens its index.html in a new context; closed after the test. */
async function openApp(t, dir, ready) {
  const site = await serve(dir);
  const opened = await openPage(browser);
  t.after(async () => {
    await opened.context.close();
    await site.close();
  });
  await opened.page.goto(site.origin + '/');
  await opened.page.waitForFunction(ready);
  return opened;
}

test('Vite 8 production build: a lone surrogate is refused and nothing is sent; a good tracking is sent once', async (t) => {
  const dir = await installFixture('vite-app');
  // `vite build <root>`, run in the app: no config, no plugins.
  await run(join(root, 'node_modules/.bin/vite'), ['build', dir, '--outDir', join(dir, 'dist'), '--emptyOutDir', '--logLevel', 'warn'], dir);
  const { page, problems } = await openApp(t, join(dir, 'dist'), () => window.pixel);

  await page.evaluate(
    (collector) => window.pixel.configure({ baseUrl: collector, partnerKey: 'pk_vite' }),
    sandbox.origin,
  );
  const attemptsBefore = (await sandbox.attempts()).length;
  const storedBefore = (await sandbox.trackings()).length;
  // Built in the page: a lone surrogate may not survive the trip from the test.
  const bad = await page.evaluate(() =>
    window.pixel.createSaasTracking({ serviceName: 'svc', customerId: 'x' + String.fromCharCode(0xd800) }).then(
      (r) => ({ settled: 'resolved', ok: r.ok, status: r.status }),
      (e) => ({ settled: 'rejected', name: e.name, code: e.code, field: e.field }),
    ),
  );
  assert.deepEqual(bad, { settled: 'rejected', name: 'OnrampError', code: 'invalid_characters', field: 'customerId' });
  await page.waitForTimeout(200);
  assert.equal((await sandbox.attempts()).length, attemptsBefore, 'the refused call reached the collector');
  assert.equal((await sandbox.trackings()).length, storedBefore, 'the refused call was stored');

  const id = uniqueId('vite');
  const status = await page.evaluate(
    (id) => window.pixel.createSaasTracking({ serviceName: 'svc', customerId: id }).then((r) => r.status),
    id,
  );
  assert.equal(status, 201);
  assert.equal((await sandbox.find(id)).length, 1);
  assert.deepEqual(problems, []);
});

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
    [sandbox.origin, early, id],
  );
  assert.equal(got.threw, undefined, 'createSaasTracking() threw synchronously');
  assert.equal(got.returned, undefined, 'createSaasTracking() did not return a Promise');
  const { message, ...first } = got.first;
  assert.deepEqual(first, { settled: 'rejected', name: 'OnrampError', code: 'load_failed' });
  assert.match(message, /init\(/);
  assert.equal(got.status, 201);
  assert.equal((await sandbox.find(id)).length, 1);
  assert.deepEqual(await sandbox.find(early), []);
  assert.deepEqual(problems, []);
});

test('plain Node 20: a script that imports the installed package sends without init()', async () => {
  const dir = await installFixture('node-app');
  const id = uniqueId('node');
  const { stdout } = await run(process.execPath, ['send.mjs', sandbox.origin, id], dir, 30_000);
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)), { ok: true, status: 201 });
  assert.equal((await sandbox.find(id)).length, 1);
});
