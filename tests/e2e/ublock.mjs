// uBlock Origin as Debian packages it (scripts/setup.sh unpacks
// webext-ublock-origin-firefox under target/ublock/): the extension itself,
// for Firefox ESR, and the filter lists it turns on by default, for uBO's own
// matching engine in Node (@gorhill/ubo-core).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StaticNetFilteringEngine } from '@gorhill/ubo-core';
import { root } from './helpers.mjs';

/** The unpacked extension (a temporary add-on for Firefox). */
export const extension = join(root, 'target/ublock/extension');

/** The lists the extension enables out of the box, from its own copies (assets/assets.json). */
export function defaultLists() {
  assert.ok(existsSync(join(extension, 'manifest.json')), 'uBlock Origin is unpacked under target/ublock (npm run setup)');
  const assets = JSON.parse(readFileSync(join(extension, 'assets/assets.json'), 'utf8'));
  return Object.entries(assets)
    .filter(([, a]) => a.content === 'filters' && !a.off)
    .map(([name, a]) => {
      const local = [a.contentURL].flat().find((u) => u.startsWith('assets/'));
      return { name, raw: readFileSync(join(extension, local), 'utf8') };
    });
}

/** The extension's version (its manifest). */
export const version = () => JSON.parse(readFileSync(join(extension, 'manifest.json'), 'utf8')).version;

let engine = null;

/**
 * uBO's static network filtering engine with the default lists: `verdict(origin, url, type)`
 * is `{ blocked, rule }` (`type` as uBO names it: a `fetch` is `xmlhttprequest`,
 * `sendBeacon` is `ping`).
 */
export async function ublockEngine() {
  if (!engine) {
    const snfe = await StaticNetFilteringEngine.create();
    await snfe.useLists(defaultLists());
    engine = {
      verdict(originURL, url, type) {
        const result = snfe.matchRequest({ originURL, url, type });
        const rule = result === 0 ? null : snfe.toLogData()?.raw ?? null;
        return { blocked: result === 1, rule };
      },
    };
  }
  return engine;
}

/** The provider's page the requests come from. */
export const page = 'https://www.provider.example/signup/thanks';
const collector = 'https://onramp.marketplace.example/api/SaasTrackings';
const npm = (cdn) => `https://${cdn}/npm/onramp-pixel@0.1.0/dist/`;

/** [who, what, url, uBO's request type]. A `fetch` is `xmlhttprequest` to uBO; `sendBeacon` is `ping`. */
export const requests = [
  ['onramp-pixel', '`loader.js` from jsDelivr', npm('cdn.jsdelivr.net') + 'loader.js', 'script'],
  ['onramp-pixel', '`.wasm` from jsDelivr', npm('cdn.jsdelivr.net') + 'onramp_pixel_bg.wasm', 'xmlhttprequest'],
  ['onramp-pixel', '`loader.js` from unpkg', 'https://unpkg.com/onramp-pixel@0.1.0/dist/loader.js', 'script'],
  ['onramp-pixel', '`.wasm` from unpkg', 'https://unpkg.com/onramp-pixel@0.1.0/dist/onramp_pixel_bg.wasm', 'xmlhttprequest'],
  ['onramp-pixel', 'the POST by `fetch` (transports `fetch` and `beacon`, the stub)', collector, 'xmlhttprequest'],
  ['onramp-pixel', 'the POST by `navigator.sendBeacon` (only where `fetch` cannot start)', collector, 'ping'],
  ['Plausible', 'script', 'https://plausible.io/js/script.js', 'script'],
  ['Plausible', 'event', 'https://plausible.io/api/event', 'xmlhttprequest'],
  ['Segment', 'script', 'https://cdn.segment.com/analytics.js/v1/WRITE_KEY/analytics.min.js', 'script'],
  ['Segment', 'event', 'https://api.segment.io/v1/t', 'xmlhttprequest'],
  ['Snowplow', 'script (npm, jsDelivr)', 'https://cdn.jsdelivr.net/npm/@snowplow/javascript-tracker@4/dist/sp.js', 'script'],
  ['Snowplow', 'event (own collector)', 'https://collector.provider.example/com.snowplowanalytics.snowplow/tp2', 'xmlhttprequest'],
  ['PostHog', 'script', 'https://us-assets.i.posthog.com/static/array.js', 'script'],
  ['PostHog', 'event', 'https://us.i.posthog.com/e/', 'xmlhttprequest'],
  ['Meta', 'pixel script', 'https://connect.facebook.net/en_US/fbevents.js', 'script'],
  ['Meta', 'pixel event', 'https://www.facebook.com/tr/?id=1&ev=Purchase', 'image'],
];

/** The README's table, as this test finds it. */
export async function table() {
  const ubo = await ublockEngine();
  const rows = requests.map(([who, what, url, type]) => {
    const { blocked, rule } = ubo.verdict(page, url, type);
    return `| ${who} | ${what} | \`${type}\` | ${blocked ? '**blocked**' : 'passes'} | ${rule ? '`' + rule.replaceAll('|', '\\|') + '`' : '—'} |`;
  });
  return ['| who | request | uBO type | verdict | rule |', '|---|---|---|---|---|', ...rows].join('\n');
}
