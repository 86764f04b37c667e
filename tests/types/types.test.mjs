// The package's types under `tsc --strict`: correct code compiles, with the
// DOM library (a web app) and without it (a Node project, where names such as
// BufferSource or WebAssembly must not leak in); each wrong use fails, with
// the error on the line that is wrong.
// Needs dist/index.d.ts (npm run build).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;
const fixtures = join(root, 'tests/types/fixtures');
/** TypeScript 5.9 and 7.0 (the native compiler), each by its own path: both install a `tsc`. */
const COMPILERS = {
  '5.9': join(root, 'node_modules/typescript/bin/tsc'),
  '7.0': join(root, 'node_modules/typescript7/bin/tsc'),
};

/** Runs tsc --strict on one fixture; its exit status and output. */
function check(file, lib, tsc) {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-types-'));
  try {
    const config = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'es2022',
        module: 'esnext',
        moduleResolution: 'bundler',
        lib,
        types: [],
        skipLibCheck: false,
        paths: { 'onramp-pixel': [join(root, 'dist/index.d.ts')], 'onramp-pixel/testing': [join(root, 'dist/testing/index.d.ts')] },
      },
      files: [join(fixtures, file)],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
    const run = spawnSync(tsc, ['-p', dir], { encoding: 'utf8' });
    return { status: run.status, output: run.stdout + run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const WITH_DOM = ['es2022', 'dom'];
const WITHOUT_DOM = ['es2022'];

for (const [version, tsc] of Object.entries(COMPILERS)) {
  test(`TypeScript ${version}: correct code compiles, with the DOM library and without it`, () => {
    assert.match(spawnSync(tsc, ['--version'], { encoding: 'utf8' }).stdout, new RegExp(`Version ${version.replace('.', '\\.')}\\.`));
    for (const lib of [WITH_DOM, WITHOUT_DOM]) {
      const { status, output } = check('good.ts', lib, tsc);
      assert.equal(status, 0, `lib ${lib}: ${output}`);
    }
  });

  test(`TypeScript ${version}: each wrong use is a type error`, () => {
    const bad = readdirSync(fixtures).filter((f) => f.startsWith('bad-'));
    assert.ok(bad.length >= 8);
    for (const file of bad) {
      const { status, output } = check(file, WITH_DOM, tsc);
      assert.notEqual(status, 0, `${file} compiled`);
      assert.match(output, new RegExp(`${file}\\(\\d+,\\d+\\): error TS`), `${file}: ${output}`);
      assert.doesNotMatch(output, /index\.d\.ts/, `${file}: the error is in the fixture, not in the types`);
    }
  });
}

test('isOnrampError tells the pixel\'s rejections from other errors (Node, the built entry)', async () => {
  const { createSaasTracking, isOnrampError } = await import(join(root, 'dist/index.js'));
  const rejection = await createSaasTracking({ serviceName: 'svc' }).catch((e) => e);
  assert.equal(rejection.code, 'missing_field');
  assert.equal(isOnrampError(rejection), true);
  for (const other of [new Error('x'), new TypeError('OnrampError'), { name: 'OnrampError', code: 'x' }, null, undefined, 'OnrampError']) {
    assert.equal(isOnrampError(other), false);
  }
});

test('init(source) after a load has started keeps that load and warns once', async () => {
  const { init } = await import(join(root, 'dist/index.js'));
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => warnings.push(args.join(' '));
  try {
    await init();
    await init(new Uint8Array([1, 2, 3]));
    await init(new Uint8Array([4, 5, 6]));
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /init\(source\) came after the module began loading/);
});
