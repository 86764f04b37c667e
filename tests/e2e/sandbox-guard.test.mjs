// The sandbox as a development server left running: what other pages and
// names may do with it, files it never serves, a write-ahead log that stays
// small, and connections that cannot exhaust it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { control, startSandbox, uniqueId } from './helpers.mjs';

let sandbox;
let port;

before(async () => {
  sandbox = await startSandbox({ args: ['--allowed-host', 'dev.test', '--allowed-host', '.tunnel.example'] });
  port = Number(new URL(sandbox.origin).port);
});
after(() => sandbox?.stop());

const tracking = (customerId) => ({ partnerKey: 'pk', serviceName: 'svc', customerId, purchasedAt: '2026-11-26T18:43:01Z' });

/** A raw request with any headers (fetch will not set Host). */
function request(path, { method = 'GET', headers = {}, body, target = sandbox } = {}) {
  const url = new URL(target.origin);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('Host: localhost, IP addresses and --allowed-host names are served; any other name gets 403 naming the flag', async () => {
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `app.localhost:${port}`, 'dev.test', `a.tunnel.example:${port}`]) {
    assert.equal((await request('/api/SaasTrackings', { headers: { host } })).status, 200, host);
  }
  for (const host of ['evil.example', `evil.example:${port}`, 'dev.test.evil.example', 'localhost.evil.example']) {
    for (const path of ['/api/SaasTrackings', '/_sandbox/attempts', '/loader.js']) {
      const answer = await request(path, { headers: { host } });
      assert.equal(answer.status, 403, `${host}${path}`);
      assert.match(JSON.parse(answer.text).error.message, /--allowed-host /);
    }
  }
  // A rebinding page's POST changes nothing either.
  const id = uniqueId('sb-rebind');
  const posted = await request('/api/SaasTrackings', {
    method: 'POST',
    headers: { host: 'evil.example', 'content-type': 'application/json' },
    body: JSON.stringify(tracking(id)),
  });
  assert.equal(posted.status, 403);
  assert.deepEqual(await sandbox.find(id), []);
});

test('control endpoints: a page of another origin is refused, a simple request cannot reach them, local tools and own pages can', async () => {
  const id = uniqueId('sb-keep');
  assert.equal((await request('/api/SaasTrackings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(tracking(id)) })).status, 201);
  const attempts = [
    // A no-cors form or fetch from another site: text/plain, with its Origin.
    { origin: 'https://evil.example', 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site' },
    // Even with a JSON type (which a browser would preflight) and no Origin.
    { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
    { origin: 'https://evil.example', 'content-type': 'application/json' },
    // Another local server's page (another port).
    { origin: 'http://localhost:3000', 'content-type': 'application/json', 'sec-fetch-site': 'same-site' },
    // A local tool without the JSON type.
    { 'content-type': 'text/plain' },
  ];
  for (const headers of attempts) {
    const reset = await request('/_sandbox/reset', { method: 'POST', headers, body: '{}' });
    assert.ok([403, 415].includes(reset.status), `${JSON.stringify(headers)}: ${reset.status}`);
    assert.equal(reset.headers['access-control-allow-origin'], undefined);
    const fault = await request('/_sandbox/faults', { method: 'POST', headers, body: JSON.stringify({ drop: true, times: 5 }) });
    assert.ok([403, 415].includes(fault.status), `${JSON.stringify(headers)}: ${fault.status}`);
  }
  assert.equal((await sandbox.find(id)).length, 1, 'nothing was reset');
  assert.deepEqual(await (await fetch(sandbox.origin + '/_sandbox/faults')).json(), [], 'no fault was queued');
  const next = uniqueId('sb-next');
  assert.equal((await request('/api/SaasTrackings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(tracking(next)) })).status, 201);
  // Reading is refused to other sites too.
  const read = await request('/_sandbox/attempts', { headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
  assert.equal(read.status, 403);
  // The sandbox's own page (same origin) and a local tool (no Origin) pass.
  const own = await request('/_sandbox/faults', {
    method: 'POST',
    headers: { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
    body: JSON.stringify({ status: 503 }),
  });
  assert.equal(own.status, 200);
  assert.equal((await control(sandbox.origin, '/_sandbox/reset')).status, 204);
});

test('Private Network Access: preflights get no Allow-Private-Network unless --allow-private-network', async () => {
  const preflight = (target) =>
    request('/api/SaasTrackings', {
      method: 'OPTIONS',
      target,
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
        'access-control-request-private-network': 'true',
      },
    });
  assert.equal((await preflight(sandbox)).headers['access-control-allow-private-network'], undefined);
  const open = await startSandbox({ args: ['--allow-private-network'] });
  try {
    assert.equal((await preflight(open)).headers['access-control-allow-private-network'], 'true');
  } finally {
    await open.stop();
  }
});

test('static files: no dotfiles, nothing through a symbolic link out of the folder, the wasm typed', async () => {
  const base = await mkdtemp(join(tmpdir(), 'onramp-static-'));
  const root = join(base, 'site');
  await mkdir(join(root, '.git'), { recursive: true });
  await writeFile(join(root, '.env'), 'SECRET=1');
  await writeFile(join(root, '.git', 'config'), '[core]');
  await writeFile(join(root, 'index.html'), '<p>__ONRAMP_BASE_URL__</p>');
  await writeFile(join(root, 'm.wasm'), Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]));
  await writeFile(join(base, 'outside.txt'), 'outside');
  await symlink(join(base, 'outside.txt'), join(root, 'link.txt'));
  await symlink(base, join(root, 'up'));
  const files = await startSandbox({ statics: [root] });
  try {
    for (const path of ['/.env', '/.git/config', '/%2eenv', '/link.txt', '/up/outside.txt', '/../outside.txt']) {
      const answer = await request(path, { target: files });
      assert.equal(answer.status, 404, path);
      assert.doesNotMatch(answer.text, /SECRET|core|outside/, path);
    }
    const wasm = await request('/m.wasm', { target: files });
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers['content-type'], 'application/wasm');
    const page = await request('/', { target: files });
    assert.equal(page.text, `<p>${files.origin}</p>`);
  } finally {
    await files.stop();
    await rm(base, { recursive: true, force: true });
  }
});

test('the write-ahead log stays small: 5,000 POSTs leave it under 8 MB, and shutdown empties it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'onramp-wal-'));
  const db = join(dir, 'trackings.db');
  const busy = await startSandbox({ db });
  try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    const url = new URL(busy.origin);
    const post = (i) =>
      new Promise((resolve, reject) => {
        const req = http.request(
          { host: url.hostname, port: url.port, path: '/api/SaasTrackings', method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(tracking(`wal-${i}`)));
      });
    let next = 0;
    const statuses = [];
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < 5000) statuses.push(await post(next++));
      }),
    );
    agent.destroy();
    assert.equal(statuses.filter((s) => s === 201).length, 5000);
    const wal = (await stat(db + '-wal')).size;
    assert.ok(wal < 8 * 1024 * 1024, `the log is ${wal} B after 5,000 POSTs`);
  } finally {
    await busy.stop();
  }
  const left = await stat(db + '-wal').then((s) => s.size, () => 0);
  assert.equal(left, 0, 'checkpointed and emptied on shutdown');
  const again = await startSandbox({ db });
  try {
    assert.equal((await again.trackings()).length, 5000);
  } finally {
    await again.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a connection that sends nothing is closed after the header-read timeout (10 s)', async () => {
  const url = new URL(sandbox.origin);
  const socket = net.connect(Number(url.port), url.hostname);
  const begun = Date.now();
  const closed = await new Promise((resolve) => {
    socket.on('close', () => resolve(Date.now() - begun));
    socket.on('error', () => {});
    setTimeout(() => resolve(null), 20_000);
  });
  socket.destroy();
  assert.notEqual(closed, null, 'the server closed the idle connection');
});

test('out of file descriptors: accept errors back off instead of spinning, and service comes back', async () => {
  // The sandbox with 64 descriptors, and 100 connections held open.
  let stderr = '';
  const limited = await startSandbox({
    spawnWith: (bin, argv) => {
      const child = spawn('bash', ['-c', 'ulimit -n 64 && exec "$0" "$@"', bin, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stderr.on('data', (chunk) => (stderr += chunk));
      return child;
    },
  });
  const url = new URL(limited.origin);
  const sockets = [];
  try {
    for (let i = 0; i < 100; i++) {
      const socket = net.connect(Number(url.port), url.hostname);
      socket.on('error', () => {});
      sockets.push(socket);
    }
    await new Promise((r) => setTimeout(r, 3000));
    const lines = stderr.split('\n').filter((l) => l.includes('accept failed')).length;
    assert.ok(lines > 0, 'the failure is reported');
    assert.ok(lines < 100, `${lines} lines in 3 s`);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
  // Once the held connections are gone, it serves again.
  const until = Date.now() + 15_000;
  let status = null;
  while (status !== 200 && Date.now() < until) {
    status = await fetch(limited.origin + '/api/SaasTrackings').then((r) => r.status, () => null);
    if (status !== 200) await new Promise((r) => setTimeout(r, 200));
  }
  await limited.stop();
  assert.equal(status, 200);
});
