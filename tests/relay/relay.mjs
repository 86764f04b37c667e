// Shared parts of the relay's tests and bench: a throwaway Postgres cluster
// (Debian's postgresql, initdb and pg_ctl in a temporary directory, as the
// postgres user when run as root), onramp-relay processes, the INSERTs of
// docs/server.md as written there, and the sandbox as the OnRamp.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

import { freePort, root } from '../e2e/helpers.mjs';

export { root };
export const relayBin = join(root, 'target/release/onramp-relay');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function pgBin() {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin/initdb'))) return join(base, v, 'bin');
  throw new Error('no Postgres here: `npm run setup` installs Debian\'s postgresql');
}

/**
 * A throwaway Postgres cluster on a free loopback port. initdb refuses
 * root: as root, the cluster belongs to the postgres user. With `ssl`, it
 * serves TLS with a certificate for 127.0.0.1 signed by a CA of its own,
 * whose PEM is at the returned `ca`.
 */
export async function startPostgres({ ssl = false } = {}) {
  const bin = pgBin();
  const dir = mkdtempSync(join(tmpdir(), 'onramp-pg-'));
  const asRoot = userInfo().uid === 0;
  const as = (cmd, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  // As root, what the server reads belongs to the postgres user.
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  const own = (path) => asRoot && chownSync(path, id('-u'), id('-g'));
  own(dir);
  const data = join(dir, 'data');
  const run = (cmd, args) => {
    const [c, a] = as(join(bin, cmd), args);
    return execFileSync(c, a, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  };
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  let options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  let ca = null;
  if (ssl) {
    const at = (name) => join(dir, name);
    const openssl = (...args) => execFileSync('openssl', args, { stdio: 'ignore' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=onramp test CA', '-keyout', at('ca.key'), '-out', at('ca.crt'));
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', at('server.key'), '-out', at('server.csr'));
    writeFileSync(at('san.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
    openssl('x509', '-req', '-in', at('server.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', at('san.ext'), '-out', at('server.crt'));
    for (const f of ['server.key', 'server.crt']) own(at(f));
    chmodSync(at('server.key'), 0o600);
    options += ` -c ssl=on -c ssl_cert_file=${at('server.crt')} -c ssl_key_file=${at('server.key')}`;
    ca = at('ca.crt');
  }
  const ctl = (...args) => run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', ...args]);
  ctl('start');
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dir,
    ca,
    client() {
      return new pg.Client({ connectionString: url });
    },
    pool(max = 10) {
      return new pg.Pool({ connectionString: url, max });
    },
    /** Stops and starts the server (`pg_ctl restart -m fast`: every connection is cut). */
    restart() {
      ctl('restart', '-m', 'fast');
    },
    stop() {
      try {
        ctl('stop', '-m', 'immediate');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `onramp-relay ARGS` to its end: its exit code and output. */
export function relay(database, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(relayBin, ['--database', database, ...args], {
      env: { ...process.env, RUST_LOG: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Starts `onramp-relay run` against `baseUrl`; stop() sends SIGTERM, kill() SIGKILL. */
export function startRelay(database, baseUrl, args = []) {
  const child = spawn(relayBin, ['--database', database, 'run', ...args], {
    env: { ...process.env, ONRAMP_BASE_URL: baseUrl, RUST_LOG: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (c) => (log += c));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    exited,
    get log() {
      return log;
    },
    stop() {
      child.kill('SIGTERM');
      return exited;
    },
    kill() {
      child.kill('SIGKILL');
      return exited;
    },
  };
}

/** `onramp-relay status --json`. */
export async function status(database) {
  const out = await relay(database, ['status', '--json']);
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout);
}

/** Polls `check` until it returns something truthy (or the time is up: its last value). */
export async function until(check, timeoutMs, everyMs = 200) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value || Date.now() > end) return value;
    await sleep(everyMs);
  }
}

/**
 * What the sandbox stored, checked against what was committed: each
 * committed customer stored once, each delivered at most 1 + its share of
 * the bound; nothing else stored. Returns the number of repeat deliveries.
 */
export function checkDelivered(stored, committed, { bound = 0, never = [] } = {}) {
  const byCustomer = new Map(stored.map((t) => [t.customerId, t]));
  assert.equal(stored.length, byCustomer.size, 'each customer stored once');
  const missing = committed.filter((c) => !byCustomer.has(c));
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} committed rows never delivered`);
  for (const c of never) assert.ok(!byCustomer.has(c), `${c} (rolled back or refused) was sent`);
  assert.equal(stored.length, committed.length, 'nothing but the committed rows stored');
  const repeats = stored.reduce((n, t) => n + t.deliveries - 1, 0);
  assert.ok(repeats <= bound, `${repeats} repeat deliveries, the bound is ${bound}`);
  return repeats;
}
