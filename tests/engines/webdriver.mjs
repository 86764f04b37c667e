// A tiny W3C WebDriver client (https://www.w3.org/TR/webdriver2/) over Node's
// fetch, with no npm dependency: it starts a driver on a free loopback port,
// opens one session, and speaks the handful of commands the engine tests
// need (./browsers.mjs builds on it).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { freePort } from '../e2e/helpers.mjs';

export const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/** How each engine's driver is started and which capabilities its session asks for. */
export const engines = {
  firefox: {
    command: (port, { systemAccess } = {}) => ['geckodriver', ['--port', String(port), '--host', '127.0.0.1', ...(systemAccess ? ['--allow-system-access'] : [])]],
    capabilities: {
      browserName: 'firefox',
      'moz:firefoxOptions': { binary: process.env.FIREFOX_PATH || '/usr/bin/firefox-esr', args: ['-headless'] },
    },
  },
  webkit: {
    // MiniBrowser has no headless mode: the driver and the browser it starts run in Xvfb.
    command: (port) => ['xvfb-run', ['-a', 'WebKitWebDriver', `--port=${port}`]],
    capabilities: {
      'webkitgtk:browserOptions': { binary: process.env.MINIBROWSER_PATH || MINIBROWSER, args: ['--automation'] },
    },
  },
};

// Drivers run in their own process group (so that stopping one also stops
// xvfb-run's Xvfb and the browser); those still running when this process
// ends, on a crash, Ctrl-C or a killed test run, are stopped with it.
const running = new Set();
const killGroup = (pid) => {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {}
};
process.on('exit', () => running.forEach(killGroup));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => process.exit(128 + constants.signals[signal]));

/** One WebDriver command; throws the driver's error (`error`, `message`) when it answers with one. */
async function command(base, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const { value } = await response.json();
  if (!response.ok || value?.error) {
    const error = new Error(`${method} ${path}: ${value?.error}: ${value?.message}`);
    error.webdriverError = value?.error;
    throw error;
  }
  return value;
}

/**
 * Starts `engine`'s driver, waits for its `/status` to be ready and opens a
 * session. Rejects (never skips) when the driver is missing or does not start.
 */
export async function startSession(engine, { timeoutMs = 30_000, prefs, systemAccess = false } = {}) {
  const { command: driverCommand, capabilities: asked } = engines[engine];
  // Firefox preferences for this session's profile (moz:firefoxOptions).
  const capabilities = prefs ? { ...asked, 'moz:firefoxOptions': { ...asked['moz:firefoxOptions'], prefs } } : asked;
  const port = await freePort();
  // systemAccess (Firefox): scripts may run in the browser itself (context('chrome')).
  const [file, args] = driverCommand(port, { systemAccess });
  const child = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk) => (log = (log + chunk).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('close', resolve)).finally(() => running.delete(child.pid));
  const died = new Promise((_, reject) => {
    child.once('error', (e) => reject(new Error(`${engine}: cannot start ${file}: ${e.message}`)));
    exited.then((code) => reject(new Error(`${engine}: ${file} exited with ${code}:\n${log}`)));
  });
  died.catch(() => {});
  if (child.pid === undefined) await died; // not started (no such file): the 'error' event says why
  running.add(child.pid);

  const base = `http://127.0.0.1:${port}`;
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stopDriver = async () => {
    if (alive()) killGroup(child.pid);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
  };

  let id;
  const session = (method, path, body) => command(base, method, `/session/${id}${path}`, body);
  try {
    const ready = waitReady(base, timeoutMs, alive).catch((e) => Promise.reject(new Error(`${engine}: ${e.message}:\n${log}`)));
    await Promise.race([died, ready]);
    ({ sessionId: id } = await Promise.race([died, command(base, 'POST', '/session', { capabilities: { alwaysMatch: capabilities } })]));
    await session('POST', '/timeouts', { script: timeoutMs, pageLoad: timeoutMs });
  } catch (e) {
    await stopDriver();
    throw e;
  }

  return {
    engine,
    navigate: (url) => session('POST', '/url', { url }),
    currentUrl: () => session('GET', '/url'),
    /** Runs `script` as a function body; its last argument is the callback that ends it. */
    executeAsync: (script, args = []) => session('POST', '/execute/async', { script, args }),
    executeSync: (script, args = []) => session('POST', '/execute/sync', { script, args }),
    windowHandle: () => session('GET', '/window'),
    /** Opens a tab in the same profile; its handle. */
    newWindow: () => session('POST', '/window/new', { type: 'tab' }).then((v) => v.handle),
    switchTo: (handle) => session('POST', '/window', { handle }),
    /** Firefox: installs the add-on at `path` (a directory or .xpi) for this session only. */
    installAddon: (path) => session('POST', '/moz/addon/install', { path, temporary: true }),
    /** Firefox: runs later scripts in the page (`content`) or in the browser itself (`chrome`; the driver must allow it). */
    context: (context) => session('POST', '/moz/context', { context }),
    async quit() {
      try {
        await session('DELETE', '');
      } finally {
        await stopDriver();
      }
    },
  };
}

/** Polls `/status` until the driver says it is ready, while it runs. */
async function waitReady(base, timeoutMs, alive) {
  const until = Date.now() + timeoutMs;
  while (alive()) {
    try {
      if ((await command(base, 'GET', '/status')).ready) return;
    } catch {}
    if (Date.now() > until) throw new Error(`the driver at ${base} was not ready in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the driver at ${base} exited before it was ready`);
}
