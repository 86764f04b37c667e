// The packed package installed into apps as a user would: `npm pack` of
// PACKAGE_DIR (default: this checkout, built with `npm run build`), then
// `npm install <tarball>` in a copy of tests/fixtures/<name>/ in a temp dir.
// Shared by the bundler tests and the README's examples.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { after, before } from 'node:test';
import { launchBrowser, listen, openPage, root, startSandbox, types } from './helpers.mjs';

export const packageDir = resolve(process.env.PACKAGE_DIR || root);

/**
 * Runs a command to completion; rejects with its output when it fails.
 * `env` is laid over this process's (a variable set to `undefined` is left out).
 */
export function run(command, args, cwd, { timeout = 120_000, env } = {}) {
  const environment = env && Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, value]) => value !== undefined));
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout, maxBuffer: 16 << 20, env: environment }, (error, stdout, stderr) => {
      if (!error) return resolve({ stdout, stderr });
      const why = error.killed ? `killed after ${timeout} ms` : `exit ${error.code}`;
      reject(Object.assign(new Error(`${command} ${args.join(' ')} (in ${cwd}): ${why}\n${stdout}${stderr}`), { stdout, stderr, code: error.code }));
    });
  });
}

/**
 * A temp dir for a test file's apps: `install(name)` copies a fixture there
 * and installs the tarball (packed once); `remove()` deletes it all
 * (KEEP_FIXTURES=1 keeps it).
 */
export async function workspace() {
  const work = await mkdtemp(join(tmpdir(), 'onramp-apps-'));
  let packed;
  const tarball = () =>
    (packed ??= (async () => {
      const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], packageDir);
      const [{ filename, files }] = JSON.parse(stdout);
      const paths = files.map((f) => f.path);
      for (const wanted of ['dist/index.js', 'dist/onramp_pixel_bg.wasm']) {
        assert.ok(paths.includes(wanted), `${wanted} is not in the packed package (is dist/ built? \`npm run build\` in ${packageDir})`);
      }
      return { path: join(work, filename), files: paths };
    })());
  return {
    work,
    tarball,
    /** Copies tests/fixtures/<name>/ (an empty folder when there is none) and installs the tarball there; the app's dir. */
    async install(name, fixture = name) {
      const dir = join(work, name);
      if (fixture) await cp(join(root, 'tests/fixtures', fixture), dir, { recursive: true });
      else await mkdir(dir);
      await run('npm', ['install', '--no-audit', '--no-fund', (await tarball()).path], dir);
      // Whatever resolves 'onramp-pixel' from the app finds this copy, not a checkout.
      const entry = createRequire(join(dir, 'package.json')).resolve('onramp-pixel');
      assert.ok(entry.startsWith(join(dir, 'node_modules/onramp-pixel/')), entry);
      return dir;
    },
    remove() {
      return process.env.KEEP_FIXTURES ? undefined : rm(work, { recursive: true, force: true });
    },
  };
}

/**
 * Links this checkout's copy of a dev dependency into an app's node_modules,
 * for what the app's own files import (a Rollup configuration's plugin, React).
 */
export async function linkDependency(dir, name) {
  await mkdir(join(dir, 'node_modules', name, '..'), { recursive: true });
  await symlink(join(root, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
}

/** The installed package's .wasm (its `onramp-pixel/onramp_pixel_bg.wasm` export). */
export const installedWasm = (dir) => createRequire(join(dir, 'package.json')).resolve('onramp-pixel/onramp_pixel_bg.wasm');

/**
 * Serves a directory on its own loopback origin, as a static host would;
 * `headers` are added to HTML answers; `cors` allows every origin, as a CDN
 * does.
 */
export async function serve(dir, { headers = {}, cors = false } = {}) {
  const server = http.createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = join(dir, path.endsWith('/') ? path + 'index.html' : path);
    try {
      const body = await readFile(file);
      const type = types[extname(file)] || 'application/octet-stream';
      res.writeHead(200, {
        'content-type': type,
        ...(cors ? { 'access-control-allow-origin': '*' } : {}),
        ...(type.startsWith('text/html') ? headers : {}),
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return listen(server);
}

/**
 * For a test file: a workspace for apps, the sandbox and (unless `browser`
 * is false) Chromium, started before its first test and stopped after its
 * last; the returned object holds `apps`, `sandbox` and `browser` once started.
 */
export function appsForTests({ browser = true } = {}) {
  const world = {};
  before(async () => {
    world.apps = await workspace();
    world.sandbox = await startSandbox();
    if (browser) world.browser = await launchBrowser();
  });
  after(async () => {
    await world.browser?.close();
    await world.sandbox?.stop();
    await world.apps?.remove();
  });
  return world;
}

/**
 * Serves `dir` (with `headers` on HTML) and opens `path` there in a new
 * context of `browser`; both are closed after the test `t`.
 */
export async function openSite(t, browser, dir, { path = '/', headers } = {}) {
  const site = await serve(dir, { headers });
  const opened = await openPage(browser);
  t.after(async () => {
    await opened.context.close();
    await site.close();
  });
  await opened.page.goto(site.origin + path);
  return opened;
}

/** `vite build` of the app in `dir` into `dir/dist`, with no config and no plugins. */
export const viteBuild = (dir) =>
  run(join(root, 'node_modules/.bin/vite'), ['build', dir, '--outDir', join(dir, 'dist'), '--emptyOutDir', '--logLevel', 'warn'], dir);
