// Sizes of what a visitor downloads: the inline stub (the README's line),
// loader.js (the loader, the npm entry and the wasm-bindgen glue bundled)
// and the wasm; raw, gzip -9 and brotli -q 11. Shared by the build, the size
// budget and the benchmark. A bundler that imports the npm entry ships
// index.js (the entry and the glue) instead of loader.js: less than loader.js,
// printed too.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export const root = new URL('..', import.meta.url).pathname;

/**
 * The Subresource Integrity pin that the loader and the pixel carry of the
 * files they load: SHA-256 (a pin as strong as SRI takes, and 21 characters
 * shorter than SHA-384 in the loader every page downloads). The build writes
 * it; the tests and the profile read it back.
 */
export const pin = (file) => 'sha256-' + createHash('sha256').update(readFileSync(file)).digest('base64');
export const SHIPPED = ['loader.js', 'pixel.js', 'onramp_pixel_bg.wasm'];
/** What a page with the snippet and no call downloads, besides the stub. */
export const LANDING = ['loader.js'];
export const NPM = ['index.js', 'onramp_pixel_bg.wasm'];

/** The stub line providers paste, exactly as the README shows it. */
export function stubLine() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith('<script>window.onramp'));
  if (!line) throw new Error('README.md has no stub line');
  return line;
}

export function sizeOf(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
}

/** One row per file a visitor downloads (through the snippet), and their total. */
export function measureShipped(dist = join(root, 'dist')) {
  const rows = [{ file: 'inline stub', ...sizeOf(Buffer.from(stubLine())) }];
  for (const file of SHIPPED) rows.push({ file, ...sizeOf(readFileSync(join(dist, file))) });
  return withTotal(rows);
}

/** What a page with the snippet and no call downloads (no pixel.js, no .wasm). */
export function measureLanding(dist = join(root, 'dist')) {
  const rows = [{ file: 'inline stub', ...sizeOf(Buffer.from(stubLine())) }];
  for (const file of LANDING) rows.push({ file, ...sizeOf(readFileSync(join(dist, file))) });
  return withTotal(rows);
}

/** The same for a page that imports the npm entry (before its bundler minifies it). */
export function measureNpm(dist = join(root, 'dist')) {
  return withTotal(NPM.map((file) => ({ file, ...sizeOf(readFileSync(join(dist, file))) })));
}

function withTotal(rows) {
  const total = { file: 'total', raw: 0, gzip: 0, brotli: 0 };
  for (const row of rows) for (const k of ['raw', 'gzip', 'brotli']) total[k] += row[k];
  return { rows, total };
}

export function table(rows) {
  const lines = ['| file | raw | gzip -9 | brotli -q 11 |', '|---|---:|---:|---:|'];
  for (const r of rows) lines.push(`| ${r.file} | ${r.raw} | ${r.gzip} | ${r.brotli} |`);
  return lines.join('\n');
}
