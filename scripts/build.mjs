// Builds dist/: the release wasm (cargo), its ESM glue (wasm-bindgen --target
// web), wasm-opt -Oz, the npm entry and the loader (each one minified esbuild
// bundle) and the types. Prints sizes.
//
// The wasm is built with nightly's -Zbuild-std and panic=immediate-abort when
// nightly has rust-src (scripts/setup.sh installs it): that drops the panic
// formatting machinery, about a fifth of the wasm; std is built for size and
// without panic locations. All MIR optimizations run (-Zmir-opt-level=3, the
// non-experimental ones; unsound passes sit behind another flag) with every
// function's MIR inlinable across crates, std's included: together about
// 1.9 KB gzip off the wasm, measured; LLVM's inline threshold at 25 (functions
// built for minimum size otherwise get 5) takes 0.1 KB more (15 to 60 measured
// alike). `--stable` (or
// ONRAMP_STABLE=1) builds with stable Rust instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { shortenNames } from './short-names.mjs';
import { measureLanding, measureNpm, measureShipped, pin, table } from './sizes.mjs';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const integrity = (file) => 'sha384-' + createHash('sha384').update(readFileSync(file)).digest('base64');
const run = (cmd, args, env = {}) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });

// The dated nightly scripts/setup.sh installs.
const nightly = readFileSync(join(root, 'scripts/nightly'), 'utf8').trim();

function nightlyHasRustSrc() {
  const r = spawnSync('rustup', ['component', 'list', '--toolchain', nightly, '--installed'], { encoding: 'utf8' });
  return r.status === 0 && /^rust-src/m.test(r.stdout);
}

// The rules the JS needs, generated from the core (www/rules.js).
writeFileSync(
  join(root, 'www/rules.js'),
  execFileSync('cargo', ['run', '-q', '-p', 'onramp-core', '--example', 'js-rules'], { cwd: root, encoding: 'utf8' }),
);

const stable = process.argv.includes('--stable') || process.env.ONRAMP_STABLE === '1' || !nightlyHasRustSrc();
const targetDir = process.env.CARGO_TARGET_DIR || join(root, 'target');
let wasmOut;
if (stable) {
  run('cargo', ['build', '--release', '--target', 'wasm32-unknown-unknown', '-p', 'onramp-pixel']);
  wasmOut = join(targetDir, 'wasm32-unknown-unknown/release/onramp_pixel.wasm');
} else {
  const nightlyDir = join(targetDir, 'nightly');
  run(
    'cargo',
    [`+${nightly}`, 'build', '--release', '--target', 'wasm32-unknown-unknown', '-p', 'onramp-pixel',
      '-Zbuild-std=std,panic_abort', '-Zbuild-std-features=optimize_for_size', '--target-dir', nightlyDir],
    {
      RUSTFLAGS:
        '-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none' +
        ' -Zmir-opt-level=3 -Zcross-crate-inline-threshold=always -Cllvm-args=-inline-threshold=25',
    },
  );
  wasmOut = join(nightlyDir, 'wasm32-unknown-unknown/release/onramp_pixel.wasm');
}
console.log(`built the wasm with ${stable ? 'stable Rust' : `${nightly}, -Zbuild-std, panic=immediate-abort`}`);
// wasm-bindgen writes the glue, the JS files the Rust imports (snippets/)
// and the wasm to target/js/; the entry and the loader are bundled from
// there into dist/.
const js = join(targetDir, 'js');
rmSync(js, { recursive: true, force: true });
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
run('wasm-bindgen', [
  '--target', 'web',
  '--no-typescript',
  '--encode-into', 'always',
  '--out-dir', js,
  '--out-name', 'onramp_pixel',
  wasmOut,
]);
// Short names between the wasm and the glue (scripts/short-names.mjs).
const glueFile = join(js, 'onramp_pixel.js');
const wasmFile = join(js, 'onramp_pixel_bg.wasm');
const short = shortenNames(readFileSync(wasmFile), readFileSync(glueFile, 'utf8'), './onramp_pixel_bg.js');
writeFileSync(wasmFile, short.wasm);
// The JS files the Rust imports (src/web/*.js, www/errors.js) sit beside the glue, so that
// the entry imports the same modules as the Rust (index.js opens IndexedDB
// through accepted.js once consent allows).
const snippets = join(js, 'snippets');
for (const crate of readdirSync(snippets)) {
  for (const dir of ['src/web', 'www']) {
    const from = join(snippets, crate, dir);
    if (existsSync(from)) for (const file of readdirSync(from)) copyFileSync(join(from, file), join(js, file));
  }
}
writeFileSync(glueFile, short.glue.replace(/( from ['"])\.\/snippets\/[^'"]+\/(?:src\/web|www)\/(\w+\.js)/g, '$1./$2'));
console.log(`short names: ${short.imports} imports, ${short.exports} internal exports`);
const wasm = join(dist, 'onramp_pixel_bg.wasm');
// Flattened and re-looped before -Oz (twice, until nothing changes): 0.3 KB
// gzip below plain -Oz, measured.
run(join(root, 'node_modules/.bin/wasm-opt'), [
  '--flatten',
  '--rereloop',
  '-Oz',
  '-Oz',
  '--converge',
  '--enable-bulk-memory',
  '--enable-nontrapping-float-to-int',
  '--enable-sign-ext',
  '--enable-mutable-globals',
  '--enable-reference-types',
  '--enable-multivalue',
  '--strip-debug',
  '--strip-producers',
  wasmFile,
  '-o', wasm,
]);
copyFileSync(join(root, 'www/index.d.ts'), join(dist, 'index.d.ts'));
for (const file of ['index.js', 'loader.js', 'pixel.js', 'debug.js', 'errors.js', 'consent.js', 'referral.js', 'rules.js']) {
  copyFileSync(join(root, 'www', file), join(js, file));
}
// No tsconfig.json is read (esbuild would look in every parent folder, and
// one with `strict` would add "use strict" to what ships).
const alone = { tsconfigRaw: {} };
const bundle = { ...alone, bundle: true, minify: true, target: 'es2020', legalComments: 'none' };
// The npm entry: one ES module (entry, glue and the imported JS files); it
// finds the .wasm beside it with new URL(…, import.meta.url).
buildSync({ ...bundle, entryPoints: [join(js, 'index.js')], format: 'esm', define: { ONRAMP_LOADER: 'false' }, outfile: join(dist, 'index.js') });
// The pixel is one classic script: its replay, the entry and the glue
// bundled, so that a page with work for it makes two requests more
// (pixel.js and the .wasm).
buildSync({
  ...bundle,
  entryPoints: [join(js, 'pixel.js')],
  format: 'iife',
  // The pixel always hands init() the .wasm it fetched, so the entry's
  // default location (import.meta.url) is never read.
  logOverride: { 'empty-import-meta': 'silent' },
  define: { WASM_INTEGRITY: JSON.stringify(pin(wasm)), ONRAMP_LOADER: 'true' },
  outfile: join(dist, 'pixel.js'),
});
// Debug mode's words, fetched only when it is on.
buildSync({ ...bundle, entryPoints: [join(js, 'debug.js')], format: 'iife', outfile: join(dist, 'debug.js') });
// The loader, on every page: the referral's capture, and pixel.js when
// there is work for it.
buildSync({
  ...bundle,
  entryPoints: [join(js, 'loader.js')],
  format: 'iife',
  define: {
    PIXEL_INTEGRITY: JSON.stringify(pin(join(dist, 'pixel.js'))),
    DEBUG_INTEGRITY: JSON.stringify(pin(join(dist, 'debug.js'))),
  },
  outfile: join(dist, 'loader.js'),
});

// The queue stub providers paste inline (the README's snippet line, which a
// test holds to this file): ES2018 syntax, so that it parses wherever a page
// may run.
buildSync({ ...alone, entryPoints: [join(root, 'www/stub.js')], minify: true, target: 'es2018', legalComments: 'none', outfile: join(dist, 'stub.js') });
const stubText = readFileSync(join(dist, 'stub.js'), 'utf8').trim();
writeFileSync(join(dist, 'stub.js'), stubText);
const stubHash = 'sha256-' + createHash('sha256').update(stubText).digest('base64');
console.log(`\ninline stub: ${Buffer.byteLength(stubText)} B, CSP hash '${stubHash}'`);

// Subresource Integrity of every file, for the snippet's integrity attribute
// (loader.js) and for whoever serves the others.
const integrityFile = {};
for (const file of ['loader.js', 'pixel.js', 'debug.js', 'index.js', 'onramp_pixel_bg.wasm']) {
  integrityFile[file] = integrity(join(dist, file));
}
writeFileSync(join(dist, 'integrity.json'), JSON.stringify(integrityFile, null, 2) + '\n');
// The demo page (npm start serves dist/ before www/).
copyFileSync(join(root, 'www/demo.html'), join(dist, 'demo.html'));
console.log(`\nloader.js integrity: ${integrityFile['loader.js']} (all in dist/integrity.json)`);

// The test kit's collector (onramp-pixel/testing, for Node only: nothing of
// it is in what visitors download): onramp-testing, the core's reading of a
// submission, as wasm, beside the collector.
run('cargo', ['build', '--release', '--target', 'wasm32-unknown-unknown', '-p', 'onramp-testing']);
const testingJs = join(targetDir, 'testing-js');
rmSync(testingJs, { recursive: true, force: true });
run('wasm-bindgen', [
  '--target', 'web',
  '--no-typescript',
  '--out-dir', testingJs,
  '--out-name', 'onramp_testing',
  join(targetDir, 'wasm32-unknown-unknown/release/onramp_testing.wasm'),
]);
mkdirSync(join(dist, 'testing'));
run(join(root, 'node_modules/.bin/wasm-opt'), ['-Oz', '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue', '--strip-debug', '--strip-producers', join(testingJs, 'onramp_testing_bg.wasm'), '-o', join(dist, 'testing/onramp_testing_bg.wasm')]);
copyFileSync(join(root, 'www/testing.js'), join(testingJs, 'testing.js'));
const testing = { ...alone, bundle: true, platform: 'node', target: 'node20', legalComments: 'none', entryPoints: [join(testingJs, 'testing.js')] };
buildSync({ ...testing, format: 'esm', outfile: join(dist, 'testing/index.js') });
// And for require() (Jest, a CommonJS config): the same, finding its .wasm from __filename.
buildSync({
  ...testing,
  format: 'cjs',
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  outfile: join(dist, 'testing/index.cjs'),
});
copyFileSync(join(root, 'www/testing.d.ts'), join(dist, 'testing/index.d.ts'));
copyFileSync(join(root, 'www/testing.d.ts'), join(dist, 'testing/index.d.cts'));

const { rows, total } = measureShipped(dist);
console.log('\nthe confirmation page:\n' + table([...rows, total]));
const landing = measureLanding(dist);
console.log('\na page without a call:\n' + table([...landing.rows, landing.total]));
const npm = measureNpm(dist);
console.log('\nthrough the npm entry:\n' + table([...npm.rows, npm.total]));
