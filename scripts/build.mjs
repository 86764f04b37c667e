// Builds dist/: the release wasm (cargo), its ESM glue (wasm-bindgen --target
// web), wasm-opt -Oz, the npm entry, its types and the loader. Prints sizes.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

run('cargo', ['build', '--release', '--target', 'wasm32-unknown-unknown', '-p', 'onramp-pixel']);
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
run('wasm-bindgen', [
  '--target', 'web',
  '--no-typescript',
  '--out-dir', dist,
  '--out-name', 'onramp_pixel',
  join(root, 'target/wasm32-unknown-unknown/release/onramp_pixel.wasm'),
]);
const wasm = join(dist, 'onramp_pixel_bg.wasm');
run(join(root, 'node_modules/.bin/wasm-opt'), [
  '-Oz',
  '--enable-bulk-memory',
  '--enable-nontrapping-float-to-int',
  '--enable-sign-ext',
  '--enable-mutable-globals',
  '--enable-reference-types',
  '--enable-multivalue',
  '--strip-debug',
  '--strip-producers',
  wasm,
  '-o', wasm,
]);
for (const file of ['index.js', 'index.d.ts', 'loader.js']) {
  copyFileSync(join(root, 'www', file), join(dist, file));
}

const shipped = ['loader.js', 'index.js', 'onramp_pixel.js', 'onramp_pixel_bg.wasm'];
let total = 0;
let totalGzip = 0;
console.log('\nshipped file                 raw   gzip -9');
for (const file of shipped) {
  const path = join(dist, file);
  const raw = statSync(path).size;
  const gzip = gzipSync(readFileSync(path), { level: 9 }).length;
  total += raw;
  totalGzip += gzip;
  console.log(`${file.padEnd(24)} ${String(raw).padStart(8)} ${String(gzip).padStart(9)}`);
}
console.log(`${'total'.padEnd(24)} ${String(total).padStart(8)} ${String(totalGzip).padStart(9)}`);
