// The package as it would be published: `npm publish --dry-run` is clean and
// ships what the README promises (LICENSE, metadata, the integrity values the
// snippet needs); installed from its tarball into an empty folder, it is
// imported in Node and sends. (A browser page importing it from such a folder
// is the README's import-map example, run by readme.test.mjs.)
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { uniqueId } from './helpers.mjs';
import { appsForTests, packageDir, run } from './package.mjs';

const world = appsForTests({ browser: false });

const SHIPPED = [
  'LICENSE',
  'README.md',
  'bin/onramp-pixel.js',
  'dist/debug.js',
  'dist/index.d.ts',
  'dist/index.js',
  'dist/integrity.json',
  'dist/loader.js',
  'dist/onramp_pixel_bg.wasm',
  'dist/pixel.js',
  'dist/stub.js',
  'dist/testing/index.cjs',
  'dist/testing/index.d.cts',
  'dist/testing/index.d.ts',
  'dist/testing/index.js',
  'dist/testing/onramp_testing_bg.wasm',
  'package.json',
];

test('npm publish --dry-run: no warning, and exactly the files the package needs', async () => {
  // A token only so that npm does not warn about being logged out; nothing is published.
  const config = await mkdtemp(join(tmpdir(), 'onramp-npmrc-'));
  try {
    await writeFile(join(config, 'npmrc'), '//registry.npmjs.org/:_authToken=dry-run-only\n');
    const { stdout, stderr } = await run('npm', ['publish', '--dry-run', '--json', '--userconfig', join(config, 'npmrc')], packageDir, {
      env: { npm_config_update_notifier: 'false' },
    });
    assert.doesNotMatch(stderr, /npm (warn|error)/i, stderr);
    const [report] = Object.values(JSON.parse(stdout));
    assert.deepEqual(report.files.map((f) => f.path).sort(), SHIPPED);
  } finally {
    await rm(config, { recursive: true, force: true });
  }
});

test("the installed package: LICENSE, metadata, and integrity.json's values are its files' SHA-384", async () => {
  const dir = await world.apps.install('inspected', null);
  const installed = join(dir, 'node_modules/onramp-pixel');
  const meta = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
  assert.equal(meta.license, 'MIT');
  assert.match(await readFile(join(installed, 'LICENSE'), 'utf8'), /^MIT License\n/);
  assert.match(meta.repository.url, /^git\+https:\/\/.+\.git$/);
  assert.match(meta.homepage, /^https:\/\//);
  assert.match(meta.bugs.url, /^https:\/\//);
  assert.ok(meta.keywords.includes('webassembly'));
  const integrity = JSON.parse(await readFile(join(installed, 'dist/integrity.json'), 'utf8'));
  for (const file of ['loader.js', 'pixel.js', 'debug.js', 'onramp_pixel_bg.wasm', 'index.js']) {
    const digest = createHash('sha384').update(await readFile(join(installed, 'dist', file))).digest('base64');
    assert.equal(integrity[file], `sha384-${digest}`, file);
  }
});

test('installed into an empty folder: imported in Node (every export path resolves) and sends', async () => {
  const dir = await world.apps.install('empty-node', null);
  const id = uniqueId('empty-node');
  const script = `
    import { createSaasTracking, configure, flush, init, isOnrampError } from 'onramp-pixel';
    const resolved = ['onramp-pixel/loader.js', 'onramp-pixel/pixel.js', 'onramp-pixel/debug.js', 'onramp-pixel/onramp_pixel_bg.wasm', 'onramp-pixel/integrity.json', 'onramp-pixel/stub.js', 'onramp-pixel/testing', 'onramp-pixel/package.json']
      .map((name) => import.meta.resolve(name).replace(/^.*node_modules\\//, ''));
    const types = [createSaasTracking, configure, flush, init, isOnrampError].map((f) => typeof f);
    const result = await createSaasTracking({ partnerKey: 'pk_empty', serviceName: 'svc', customerId: process.argv[2], baseUrl: process.argv[1] });
    console.log(JSON.stringify({ resolved, types, status: result.status }));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, world.sandbox.origin, id], dir, { timeout: 30_000 });
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)), {
    resolved: [
      'onramp-pixel/dist/loader.js',
      'onramp-pixel/dist/pixel.js',
      'onramp-pixel/dist/debug.js',
      'onramp-pixel/dist/onramp_pixel_bg.wasm',
      'onramp-pixel/dist/integrity.json',
      'onramp-pixel/dist/stub.js',
      'onramp-pixel/dist/testing/index.js',
      'onramp-pixel/package.json',
    ],
    types: ['function', 'function', 'function', 'function', 'function'],
    status: 201,
  });
  assert.equal((await world.sandbox.find(id)).length, 1);
});

test('onramp-pixel/testing from CommonJS (require, as Jest loads it): a collector that takes a tracking', async () => {
  const dir = await world.apps.install('cjs-kit', null);
  const script = `
    const { startCollector } = require('onramp-pixel/testing');
    startCollector().then(async (collector) => {
      const body = JSON.stringify({ partnerKey: 'pk', serviceName: 'svc', customerId: 'c-cjs', purchasedAt: '2026-12-01' });
      const answer = await fetch(collector.baseUrl + '/api/SaasTrackings', { method: 'POST', body });
      const tracking = await collector.waitForTracking({ customerId: 'c-cjs' });
      await collector.close();
      console.log(JSON.stringify({ status: answer.status, purchasedAt: tracking.purchasedAt, resolved: require.resolve('onramp-pixel/testing').replace(/^.*node_modules\\//, '') }));
    });
  `;
  const { stdout } = await run(process.execPath, ['-e', script], dir, { timeout: 30_000 });
  assert.deepEqual(JSON.parse(stdout.trim()), { status: 201, purchasedAt: '2026-12-01T00:00:00.000Z', resolved: 'onramp-pixel/dist/testing/index.cjs' });
});
