// Shared parts of the end-to-end tests: the real sandbox collector, a page
// server on another loopback origin, and Debian's Chromium via playwright-core.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { after, before } from 'node:test';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';

export const root = new URL('../../', import.meta.url).pathname;
const sandboxBin = join(root, 'target/release/onramp-sandbox');

/** A POST to the sandbox's control API, as a local tool sends it (JSON). */
export function control(origin, path, body = {}) {
  return fetch(origin + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Starts the sandbox on a free loopback port, serving dist/ too (`statics` instead, if given). */
export async function startSandbox({ db = ':memory:', port = 0, args = [], statics = [join(root, 'dist')], stderr = 'inherit', spawnWith } = {}) {
  const argv = ['--port', String(port), '--db', db, ...statics.flatMap((dir) => ['--static', dir]), ...args];
  const child = spawnWith
    ? spawnWith(sandboxBin, argv)
    : spawn(sandboxBin, argv, { stdio: ['ignore', 'pipe', stderr] });
  const origin = await new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`onramp-sandbox exited with ${code}: ${out}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/listening on (http:\/\/\S+)/);
      if (match) resolve(match[1]);
    });
  });
  child.removeAllListeners('exit');
  return {
    origin,
    child,
    async trackings() {
      const response = await fetch(origin + '/api/SaasTrackings');
      return response.json();
    },
    /** Queues faults (`POST /_sandbox/faults`): statuses, Retry-After, delays, drops. */
    faults(list) {
      return control(origin, '/_sandbox/faults', list);
    },
    /** Every POST the sandbox saw, faulted or not (`GET /_sandbox/attempts`). */
    async attempts() {
      return (await fetch(origin + '/_sandbox/attempts')).json();
    },
    async find(customerId) {
      return (await this.trackings()).filter((t) => t.customerId === customerId);
    },
    /** Polls until `customerId` is stored (keepalive requests may land after the page is gone). */
    async waitFor(customerId, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = await this.find(customerId);
        if (found.length || Date.now() > until) return found;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    /**
     * Waits until every one of `customerIds` is stored (keepalive requests
     * may land after the page is gone), then a moment for a duplicate, and
     * checks each was stored once and delivered once; the stored rows.
     */
    async deliveredOnce(...customerIds) {
      for (const id of customerIds) assert.ok((await this.waitFor(id)).length > 0, `${id} stored`);
      await new Promise((r) => setTimeout(r, 700));
      const all = await this.trackings();
      return customerIds.map((id) => {
        const found = all.filter((t) => t.customerId === id);
        assert.equal(found.length, 1, `${id} stored once`);
        assert.equal(found[0].deliveries, 1, `${id} delivered once`);
        return found[0];
      });
    },
    /**
     * A new sandbox on this one's port with its database and arguments: the
     * collector back after `stop()` (with a database file, what it stored is
     * still there).
     */
    start() {
      return startSandbox({ db, port: Number(new URL(origin).port), args, statics, stderr, spawnWith });
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      });
    },
  };
}

/** A free loopback port (for a process that binds it itself). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Content types by extension, as a static host serves them. */
export const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
};

/** Starts `server` on a free loopback port; its origin and a way to close it. */
export async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * Serves tests/e2e/pages/ (with {{COLLECTOR}}, {{LOADER_INTEGRITY}},
 * {{WASM_INTEGRITY}} and {{STUB}}, the stub line's script, replaced) and the built package under /pkg/ on its own loopback origin, as
 * a provider's site would; /tampered/ serves the package with one byte of the
 * wasm changed, /untyped/ serves it with the wasm as
 * application/octet-stream, /late-loader/ serves loader.js and /late-wasm/
 * the .wasm 3 s late (a slow network), /csp-no-wasm.html is csp.html
 * without 'wasm-unsafe-eval'. In a page, {{LOADER_SRC}} is the collector's
 * loader.js, or /X/loader.js for `?loader=X` (one of the prefixes above).
 */
export async function startPageServer(collector) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const path = normalize(decodeURIComponent(url.pathname));
    const packaged = path.match(/^\/(pkg|tampered|untyped|late-loader|late-wasm)\/(.*)$/);
    const late = { 'late-loader': '.js', 'late-wasm': '.wasm' }[packaged?.[1]];
    if (late && extname(path) === late) await new Promise((r) => setTimeout(r, 3000));
    const wasmless = path === '/csp-no-wasm.html';
    const page = wasmless ? '/csp.html' : path;
    const file = packaged ? join(root, 'dist', packaged[2]) : join(root, 'tests/e2e/pages', page);
    try {
      let body = await readFile(file);
      if (extname(file) === '.html') {
        const integrities = JSON.parse(await readFile(join(root, 'dist/integrity.json'), 'utf8'));
        const integrity = integrities['loader.js'];
        const loader = url.searchParams.get('loader');
        const loaderSrc = loader && /^[a-z-]+$/.test(loader) ? `/${loader}/loader.js` : `${collector}/loader.js`;
        body = body
          .toString()
          .replaceAll('{{LOADER_SRC}}', loaderSrc)
          .replaceAll('{{COLLECTOR}}', collector)
          .replaceAll('{{LOADER_INTEGRITY}}', integrity)
          .replaceAll('{{WASM_INTEGRITY}}', integrities['onramp_pixel_bg.wasm'])
          .replaceAll('{{STUB}}', () => readFileSync(join(root, 'dist/stub.js'), 'utf8'));
        if (wasmless) body = body.replace(" 'wasm-unsafe-eval'", '');
      }
      if (packaged?.[1] === 'tampered' && extname(file) === '.wasm') {
        body = Buffer.from(body);
        body[body.length - 1] ^= 1;
      }
      const untyped = packaged?.[1] === 'untyped' && extname(file) === '.wasm';
      res.writeHead(200, { 'content-type': (!untyped && types[extname(file)]) || 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return listen(server);
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
      // For measurements (npm run profile): a V8 flag, for instance.
      ...(process.env.CHROMIUM_EXTRA_ARGS ? process.env.CHROMIUM_EXTRA_ARGS.split(' ') : []),
    ],
  });
}

/** A new page that records uncaught errors and console errors. */
export async function openPage(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push('pageerror: ' + error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push('console error: ' + message.text());
  });
  return { context, page, problems };
}

export function uniqueId(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A sandbox collector, a page server on another origin, and Chromium. */
export async function startWorld(sandboxOptions) {
  const sandbox = await startSandbox(sandboxOptions);
  const pages = await startPageServer(sandbox.origin);
  const browser = await launchBrowser();
  return { sandbox, pages, browser };
}

/**
 * A world for a test file: started before its first test, stopped after its
 * last; the returned object holds `sandbox`, `pages` and `browser` once started.
 * `fileDb`: the sandbox stores in a SQLite file of a temp dir (deleted after),
 * so that it keeps its trackings across a restart.
 */
export function worldForTests({ fileDb = false, ...sandboxOptions } = {}) {
  const world = {};
  let dir;
  before(async () => {
    if (fileDb) dir = await mkdtemp(join(tmpdir(), 'onramp-world-'));
    Object.assign(world, await startWorld({ ...sandboxOptions, ...(dir && { db: join(dir, 'trackings.db') }) }));
  });
  after(async () => {
    await stopWorld(world);
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return world;
}

export async function stopWorld({ sandbox, pages, browser }) {
  await browser?.close();
  await pages?.close();
  await sandbox?.stop();
}

/** The project's documentation: README.md, CONTRIBUTING.md and docs/*.md. */
export const DOCS = ['README.md', 'CONTRIBUTING.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => 'docs/' + f)];

/** The text of one documentation file (`docs/api.md`), or of all of them. */
export const docText = (file) => (file ? [file] : DOCS).map((f) => readFileSync(join(root, f), 'utf8')).join('\n');

/**
 * The fenced code blocks of the documentation: `{ file, lang, attrs, code,
 * line }`, where attrs are the words after the language on the opening
 * fence (`example=npm` is `{ example: 'npm' }`, a bare word is `true`;
 * GitHub shows only the language).
 */
export function readmeBlocks() {
  const blocks = [];
  for (const file of DOCS) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(\S*)\s*(.*)$/.exec(lines[i]);
      if (!open) continue;
      const end = lines.indexOf('```', i + 1);
      if (end < 0) throw new Error(`${file}:${i + 1}: a code block that is never closed`);
      const attrs = Object.fromEntries(
        open[2]
          .split(/\s+/)
          .filter(Boolean)
          .map((word) => (word.includes('=') ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)] : [word, true])),
      );
      blocks.push({ file, lang: open[1], attrs, code: lines.slice(i + 1, end).join('\n') + '\n', line: i + 1 });
      i = end;
    }
  }
  return blocks;
}

/** The code of the documentation's one block marked `example=NAME`. */
export function readmeExample(name) {
  const found = readmeBlocks().filter((b) => b.attrs.example === name);
  if (found.length !== 1) throw new Error(`the documentation has ${found.length} code blocks marked example=${name}, not one`);
  return found[0].code;
}

/** The command lines of a shell block: not blank, not comments. */
export const commandLines = (code) => code.split('\n').filter((line) => line.trim() && !line.startsWith('#'));

/** How many .wasm files the page has fetched (Resource Timing). */
export const wasmRequests = (page) =>
  page.evaluate(() => performance.getEntriesByType('resource').filter((e) => /\.wasm$/.test(e.name)).length);
