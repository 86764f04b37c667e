// The README's snippet and call, pasted into a page, leave the console clean
// in Firefox ESR and WebKitGTK as in Chromium (tests/e2e/snippet.test.mjs):
// no warning and no error from the page or from the browser itself (an
// unused or mismatched preload, a refused integrity, a blocked request...).
// Neither WebDriver session reports the browser's own warnings, so each
// engine is read where its developer tools read it:
// - Firefox: its DevTools' resource watchers (the Web Console's own source,
//   which has every message of the tab, the cached ones included), run in
//   the browser's parent process through geckodriver --allow-system-access;
// - WebKitGTK: MiniBrowser (no driver) with
//   --enable-write-console-messages-to-stdout, which writes each console
//   message, the engine's own included, to its output (stderr, in fact).
// Each engine is first shown a page with a known browser warning, so that a
// clean console is one that would have shown it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { extname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { listen, readmeExample, root, startSandbox, types, uniqueId } from '../e2e/helpers.mjs';
import { MINIBROWSER, startSession } from './webdriver.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Browsers warn of an unused preload a few seconds after the load event.
const SETTLE_MS = 5_000;

let sandbox;
let cdn;
let site;

/** The README's snippet, the confirmation page's preload line and call, with the CDN's URLs and integrity, the sandbox and `id`. */
async function snippetPage(id) {
  const integrity = JSON.parse(await readFile(join(root, 'dist/integrity.json'), 'utf8'));
  const snippet = readmeExample('snippet')
    .replaceAll('https://YOUR-CDN/onramp-pixel/', cdn.origin + '/')
    .replace('sha384-…', integrity['loader.js'])
    .replaceAll('https://onramp.example.com', sandbox.origin)
    .replaceAll('YOUR-PARTNER-KEY', 'pk_console');
  const preload = readmeExample('snippet-preload').replaceAll('https://YOUR-CDN/onramp-pixel/', cdn.origin + '/');
  // (A visitor the marketplace did not refer: the README's snippet asks for
  // a referral, so the call asks for none.)
  const call = readmeExample('snippet-call').replaceAll('cust-42', id).replace("customerId: '", "requireReferral: false, customerId: '");
  return `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">\n${snippet}\n${preload}${call}</head><body><p>Thanks for signing up.</p></body></html>`;
}

/** A page with a warning every engine gives: a script served as text/html, and a preload never used. */
const WARNED = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<link rel="preload" href="/unused.js" as="script"><script src="/mistyped.js"></script></head><body></body></html>`;

before(async () => {
  sandbox = await startSandbox();
  // dist/ on its own origin, as a CDN serves it.
  cdn = await listen(
    http.createServer(async (req, res) => {
      try {
        const name = new URL(req.url, 'http://x').pathname.slice(1);
        if (name.includes('/') || name.includes('..')) throw new Error('not found');
        const body = await readFile(join(root, 'dist', name));
        res.writeHead(200, { 'access-control-allow-origin': '*', 'content-type': types[extname(name)] || 'application/octet-stream' });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    }),
  );
  // The provider's pages: /signup/<id> the snippet's, /warned the control.
  site = await listen(
    http.createServer(async (req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      if (path.startsWith('/signup/')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(await snippetPage(decodeURIComponent(path.slice('/signup/'.length))));
      }
      if (path === '/warned') return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(WARNED);
      if (path.endsWith('.js')) return res.writeHead(200, { 'content-type': 'text/html' }).end('0');
      res.writeHead(404).end();
    }),
  );
});

after(async () => {
  await Promise.all([cdn?.close(), site?.close()]);
  await sandbox?.stop();
});

// What Firefox's Web Console would list for the selected tab: warnings and
// errors of the page and of the browser, and console calls of any level.
const FIREFOX_MESSAGES = `
  const done = arguments[arguments.length - 1];
  (async () => {
    const { require } = ChromeUtils.importESModule('resource://devtools/shared/loader/Loader.sys.mjs');
    const { CommandsFactory } = require('devtools/shared/commands/commands-factory');
    const tab = Services.wm.getMostRecentWindow('navigator:browser').gBrowser.selectedTab;
    const commands = await CommandsFactory.forTab(tab);
    await commands.targetCommand.startListening();
    const seen = [];
    const { TYPES } = commands.resourceCommand;
    await commands.resourceCommand.watchResources([TYPES.ERROR_MESSAGE, TYPES.CONSOLE_MESSAGE], {
      onAvailable: (resources) => {
        for (const r of resources) {
          seen.push(r.pageError
            ? (r.pageError.warning ? 'warning' : r.pageError.error ? 'error' : 'info') + ' [' + r.pageError.category + ']: ' + r.pageError.errorMessage
            : 'console.' + r.level + ': ' + (r.arguments || []).map(String).join(' '));
        }
      },
    });
    await commands.destroy();
    return seen;
  })().then(done, (e) => done(['cannot read the console: ' + e]));`;

test('Firefox ESR: the snippet leaves the console clean (and the check sees a browser warning)', async (t) => {
  const firefox = await startSession('firefox', { systemAccess: true });
  t.after(() => firefox.quit());
  const open = async (url) => {
    await firefox.context('content');
    await firefox.navigate(url);
  };
  const read = async () => {
    await firefox.context('chrome');
    return firefox.executeAsync(FIREFOX_MESSAGES);
  };

  await open(site.origin + '/warned');
  await sleep(SETTLE_MS);
  const warned = await read();
  assert.ok(warned.some((m) => m.startsWith('warning') && m.includes('mistyped.js')), `the control page's warning is seen: ${JSON.stringify(warned)}`);

  const id = uniqueId('console-firefox');
  await open(`${site.origin}/signup/${id}`);
  await sandbox.deliveredOnce(id);
  await sleep(SETTLE_MS);
  assert.deepEqual(await read(), [], 'the console stays clean');
});

test('WebKitGTK: the snippet leaves the console clean (and the check sees a browser warning)', async () => {
  // MiniBrowser writes what its console gets; it runs in a virtual display
  // (it has no headless mode), in a process group of its own, stopped after.
  const consoleOf = async (url, until) => {
    const child = spawn('xvfb-run', ['-a', process.env.MINIBROWSER_PATH || MINIBROWSER, '--enable-write-console-messages-to-stdout=true', url], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    // (The messages come on its stderr.)
    for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => (out += chunk));
    const closed = new Promise((resolve) => child.once('close', resolve));
    try {
      await until();
      await sleep(SETTLE_MS);
    } finally {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
      await closed;
    }
    return out.split('\n').filter((line) => line.includes('CONSOLE'));
  };

  const warned = await consoleOf(site.origin + '/warned', () => sleep(SETTLE_MS));
  assert.ok(warned.some((m) => /WARN|ERROR/.test(m) && m.includes('unused.js')), `the control page's warning is seen: ${JSON.stringify(warned)}`);

  const id = uniqueId('console-webkit');
  assert.deepEqual(await consoleOf(`${site.origin}/signup/${id}`, () => sandbox.deliveredOnce(id)), [], 'the console stays clean');
});
