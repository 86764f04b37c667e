// The Node CLI, with the original script's output and exit codes, against the sandbox.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { root, startSandbox, uniqueId } from './helpers.mjs';

const cli = join(root, 'bin/onramp-pixel.js');
let sandbox;

before(async () => {
  sandbox = await startSandbox();
});
after(() => sandbox?.stop());

function run(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code : 0, stdout, stderr }),
    );
  });
}

test('success: prints statusCode and body, exits 0, the tracking is stored', async () => {
  const id = uniqueId('cli');
  const { code, stdout, stderr } = await run(['pk_cli', 'Acme CRM', id, '2026-11-26T18:43:01Z'], { ONRAMP_BASE_URL: sandbox.origin });
  assert.equal(code, 0);
  const lines = stdout.split('\n');
  assert.equal(lines[0], 'statusCode: 201');
  assert.equal(stderr, '', 'nothing on stderr (Node keeps the queue in memory by design: no storage warning)');
  assert.match(lines[1], /^body: \{/);
  assert.match(stdout, new RegExp(`customerId: '${id}'`));
  const stored = await sandbox.find(id);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].purchasedAt, '2026-11-26T18:43:01.000Z');
  assert.equal(stored[0].serviceName, 'Acme CRM');
});

test('a repeat prints statusCode: 200', async () => {
  const id = uniqueId('cli-repeat');
  await run(['pk_cli', 'svc', id, '2026-11-26'], { ONRAMP_BASE_URL: sandbox.origin });
  const { code, stdout } = await run(['pk_cli', 'svc', id, '2026-11-26'], { ONRAMP_BASE_URL: sandbox.origin });
  assert.equal(code, 0);
  assert.match(stdout, /^statusCode: 200\n/);
  assert.match(stdout, /deliveries: 2/);
});

test('missing parameter: the original message and usage, exit 1, nothing sent', async () => {
  const before = (await sandbox.trackings()).length;
  const { code, stdout } = await run(['pk_cli', 'svc', 'c'], { ONRAMP_BASE_URL: sandbox.origin });
  assert.equal(code, 1);
  assert.equal(stdout, 'error - missing parameter.\nusage: onramp-pixel.js partner-key service-name customer-id purchased-at\n');
  assert.equal((await sandbox.trackings()).length, before);
});

test('invalid parameter: a clear message naming the field, exit 1, nothing sent', async () => {
  const before = (await sandbox.trackings()).length;
  const { code, stdout } = await run(['pk_cli', 'svc', 'c', '2026-13-45'], { ONRAMP_BASE_URL: sandbox.origin });
  assert.equal(code, 1);
  assert.match(stdout, /^error - invalid parameter purchasedAt \(invalid_date\): purchasedAt is not a valid date/);
  assert.equal((await sandbox.trackings()).length, before);
});

test('collector down: exit 1 with the error', async () => {
  const { code, stderr } = await run(['pk_cli', 'svc', 'c', '2026-11-26'], { ONRAMP_BASE_URL: 'http://127.0.0.1:9' });
  assert.equal(code, 1);
  assert.match(stderr, /network_error/);
});

test('ONRAMP_BASE_URL unset or insecure: exit 1 with a clear message', async () => {
  const unset = await run(['pk', 'svc', 'c', '2026-11-26'], { ONRAMP_BASE_URL: '' });
  assert.equal(unset.code, 1);
  assert.match(unset.stdout, /ONRAMP_BASE_URL is not set/);
  const insecure = await run(['pk', 'svc', 'c', '2026-11-26'], { ONRAMP_BASE_URL: 'http://onramp.example.com' });
  assert.equal(insecure.code, 1);
  assert.match(insecure.stdout, /invalid parameter baseUrl \(insecure_base_url\)/);
});

test('`onramp-pixel sandbox --port N`: the test collector until stopped; the CLI reports to it', async (t) => {
  const child = spawn(process.execPath, [cli, 'sandbox', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8');
  const base = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const found = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (found) resolve(found[1]);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  const id = uniqueId('cli-kit');
  const first = await run(['pk_cli', 'svc', id, '2026-11-26'], { ONRAMP_BASE_URL: base });
  assert.match(first.stdout, /^statusCode: 201\n/);
  const invalid = await fetch(base + '/api/SaasTrackings', { method: 'POST', body: '{"partnerKey":"pk"}' });
  assert.equal(invalid.status, 422);
  const faulted = await fetch(base + '/_sandbox/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"status":503}' });
  assert.equal(faulted.status, 200);
  const again = await run(['pk_cli', 'svc', id, '2026-11-26'], { ONRAMP_BASE_URL: base });
  assert.match(again.stdout, /^statusCode: 503\n/);
  const stored = await (await fetch(base + '/api/SaasTrackings')).json();
  assert.deepEqual(stored.map((s) => [s.customerId, s.deliveries]), [[id, 1]]);
  const rejected = await (await fetch(base + '/_sandbox/rejected')).json();
  assert.deepEqual(rejected.map((r) => r.error.code), ['missing_field']);
  child.kill('SIGTERM');
  assert.deepEqual(await once(child, 'exit'), [0, null], 'SIGTERM stops it cleanly');
});

test('`onramp-pixel sandbox` with a bad port: the usage, exit 1', async () => {
  for (const args of [['sandbox', '--port', 'x'], ['sandbox', '--port', '70000'], ['sandbox', '--prot', '1']]) {
    const { code, stdout } = await run(args);
    assert.equal(code, 1, args.join(' '));
    assert.equal(stdout, 'usage: onramp-pixel sandbox [--port N]\n');
  }
});
