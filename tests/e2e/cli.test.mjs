// The Node CLI, with the original script's output and exit codes, against the sandbox.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
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
  // Started, read and stopped as the Rust sandbox is (its first line names the origin).
  const kit = await startSandbox({ spawnWith: () => spawn(process.execPath, [cli, 'sandbox', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] }) });
  t.after(() => kit.child.kill('SIGKILL'));
  const id = uniqueId('cli-kit');
  const first = await run(['pk_cli', 'svc', id, '2026-11-26'], { ONRAMP_BASE_URL: kit.origin });
  assert.match(first.stdout, /^statusCode: 201\n/);
  const invalid = await fetch(kit.origin + '/api/SaasTrackings', { method: 'POST', body: '{"partnerKey":"pk"}' });
  assert.equal(invalid.status, 422);
  assert.equal((await kit.faults({ status: 503 })).status, 200);
  const again = await run(['pk_cli', 'svc', id, '2026-11-26'], { ONRAMP_BASE_URL: kit.origin });
  assert.match(again.stdout, /^statusCode: 503\n/);
  assert.deepEqual((await kit.trackings()).map((s) => [s.customerId, s.deliveries]), [[id, 1]]);
  const rejected = await (await fetch(kit.origin + '/_sandbox/rejected')).json();
  assert.deepEqual(rejected.map((r) => r.error.code), ['missing_field']);
  await kit.stop();
  assert.deepEqual([kit.child.exitCode, kit.child.signalCode], [0, null], 'SIGTERM stops it cleanly');
});

test('`onramp-pixel sandbox` with a bad port: the usage, exit 1', async () => {
  for (const args of [['sandbox', '--port', 'x'], ['sandbox', '--port', '70000'], ['sandbox', '--prot', '1']]) {
    const { code, stdout } = await run(args);
    assert.equal(code, 1, args.join(' '));
    assert.equal(stdout, 'usage: onramp-pixel sandbox [--port N]\n');
  }
});
