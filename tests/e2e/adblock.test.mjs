// The pixel's own requests against uBlock Origin's default filter lists,
// through uBO's own engine (@gorhill/ubo-core, with the lists of the
// extension Debian packages), beside peers' scripts and endpoints; the
// ad-blocker table in docs/privacy.md must say what this finds. The real extension
// runs the snippet in Firefox ESR in tests/engines/adblock.test.mjs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { root } from './helpers.mjs';
import { page, requests, table, ublockEngine, version } from './ublock.mjs';

test("the pixel's fetch requests pass uBO's default lists; its sendBeacon fallback does not", async () => {
  const ubo = await ublockEngine();
  for (const [who, what, url, type] of requests.filter(([who]) => who === 'onramp-pixel')) {
    const { blocked, rule } = ubo.verdict(page, url, type);
    if (type === 'ping') assert.ok(blocked, `${what}: uBO blocks third-party pings (${rule})`);
    else assert.ok(!blocked, `${what} (${url}) is blocked by ${rule}`);
  }
  // The engine does block: every peer's script is on a list.
  for (const [who, what, url, type] of requests.filter(([who, what]) => who !== 'onramp-pixel' && /script/.test(what))) {
    assert.ok(ubo.verdict(page, url, type).blocked, `${who}'s ${what}`);
  }
});

test("docs/privacy.md's ad-blocker table is what uBO's engine finds", async () => {
  const readme = readFileSync(join(root, 'docs/privacy.md'), 'utf8');
  const expected = await table();
  assert.ok(readme.includes(expected), `docs/privacy.md's table should read (uBlock Origin ${version()}):\n${expected}`);
  assert.ok(readme.includes(`uBlock Origin ${version()}`), 'docs/privacy.md names the version tested');
});
