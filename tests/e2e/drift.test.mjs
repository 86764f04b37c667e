// The rules the JS files repeat, held to the Rust that defines them
// (onramp-core): the option names (core/src/options.rs, through the
// generated www/rules.js: no Rust source is read here) in the pixel, the
// stub and index.d.ts; which value wins (a call's option over configure()
// over the loader tag's data-*); and the base-URL rule
// (core/src/endpoint.rs), which the stub must never be looser than. The
// stub is the built one (dist/stub.js, the README's snippet line), run in a
// bare VM context; the core's verdict comes from the built wasm in Node.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import vm from 'node:vm';

import { configure, createSaasTracking, init } from '../../dist/index.js';
import * as rules from '../../www/rules.js';

const root = new URL('../../', import.meta.url).pathname;
const read = (path) => readFileSync(join(root, path), 'utf8');


/** The keys an interface of index.d.ts declares (its own, not inherited). */
function interfaceKeys(name) {
  const match = read('www/index.d.ts').match(new RegExp(`export interface ${name}[^{]*\\{([\\s\\S]*?)\\n\\}`));
  assert.ok(match, name);
  return [...match[1].matchAll(/^\s+(\w+)\??:/gm)].map((m) => m[1]);
}

// The core's lists, as the build generates them from core/src/options.rs
// (www/rules.js; tests/e2e/referral.test.mjs holds the file to the core).
const tracking = rules.TRACKING_OPTIONS;
const configurable = rules.CONFIGURE_OPTIONS;
const consentOptions = rules.CONSENT_OPTIONS;

test('option names: index.d.ts, the loader and the stub say what the core accepts', () => {
  assert.deepEqual(
    [...interfaceKeys('ConfigureOptions'), ...interfaceKeys('TrackingOptions')].sort(),
    [...tracking].sort(),
    'TrackingOptions (with ConfigureOptions) are the core TRACKING_OPTIONS',
  );
  assert.deepEqual(interfaceKeys('ConfigureOptions').sort(), [...configurable].sort());
  // The pixel reads a data-* attribute of the loader's tag for every option
  // configure() takes: the consent options first, before the module may
  // start, then the rest.
  const loaderLists = [...read('www/pixel.js').matchAll(/for \(const name of \[([^\]]*)\]\)/g)].map((list) =>
    [...list[1].matchAll(/'(\w+)'/g)].map((m) => m[1]).sort(),
  );
  assert.deepEqual(loaderLists, [[...consentOptions].sort(), [...configurable].sort()], 'the loader lists its data-* options');
  assert.deepEqual(interfaceKeys('ConsentOptions').sort(), [...consentOptions].sort());
  assert.deepEqual(interfaceKeys('PageOptions'), rules.PAGE_OPTIONS);
  // The consent states, as index.js and the loader check them (consent.js,
  // from the generated rules.js) and index.d.ts names them.
  assert.match(read('www/consent.js'), /import \{ CONSENT_STATES \} from '\.\/rules\.js'/);
  assert.match(read('www/index.d.ts'), new RegExp(rules.CONSENT_STATES.map((state) => `'${state}'`).join(' \\| ')));
  // The stub sends the body's four fields, in the core's order (the
  // positional form's order too).
  assert.ok(read('dist/stub.js').includes(JSON.stringify(rules.BODY_FIELDS)), 'the stub names the body fields in the core order');
  const [sent] = stubSends([call()], { baseUrl: 'https://data.example', partnerKey: 'pk' });
  assert.deepEqual(Object.keys(sent.body), rules.BODY_FIELDS, 'the stub sends them in that order');
  assert.deepEqual(tracking.slice(0, 4), rules.BODY_FIELDS);
});

/**
 * Runs the built stub in a bare context: calls queued, then the page left;
 * `referred`, when given, is the loader's word on the kept referral.
 */
function stubSends(queue, dataset = {}, navigator = {}, referred) {
  const sent = [];
  const listeners = {};
  const window = {
    addEventListener: (type, f) => (listeners[type] = f),
    fetch: (url, init) => sent.push({ url, body: JSON.parse(init.body) }),
  };
  const context = vm.createContext({
    window,
    fetch: window.fetch,
    document: { querySelector: () => ({ dataset }) },
    navigator,
    Object,
    JSON,
    Date,
  });
  vm.runInContext(read('dist/stub.js'), context);
  for (const args of queue) window.onramp(...args);
  if (referred !== undefined) window.onramp.g = () => referred;
  listeners.pagehide();
  return sent;
}

const call = (extra = {}) => ['createSaasTracking', { serviceName: 'svc', customerId: 'c-1', purchasedAt: '2026-01-02', ...extra }];

test('which value wins: the call over configure() over data-*, in the stub as in the wasm', async () => {
  await init(readFileSync(join(root, 'dist/onramp_pixel_bg.wasm')));
  const data = { baseUrl: 'https://data.example', partnerKey: 'pk_data' };
  const cases = [
    [[call()], 'https://data.example', 'pk_data'],
    [[['configure', { baseUrl: 'https://configured.example' }], call()], 'https://configured.example', 'pk_data'],
    [
      [['configure', { baseUrl: 'https://configured.example', partnerKey: 'pk_conf' }], call({ baseUrl: 'https://call.example', partnerKey: 'pk_call' })],
      'https://call.example',
      'pk_call',
    ],
  ];
  for (const [queue, base, key] of cases) {
    const sent = stubSends(queue, data);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].url, base + rules.TRACKINGS_PATH);
    assert.equal(sent[0].body.partnerKey, key);
  }
  // The wasm lays configure() under the call the same way (the loader
  // passes data-* to configure() before any queued call: loader.js).
  await configure({ baseUrl: 'http://127.0.0.1:9', partnerKey: 'pk_conf', timeoutMs: 1 });
  const result = await createSaasTracking({ ...call({ partnerKey: 'pk_call', transport: 'fetch' })[1], customerId: 'drift-' + Date.now() });
  assert.equal(result.tracking.partnerKey, 'pk_call');
});

test('consent in the stub as in index.js: pending or denied sends nothing; granted, or Global Privacy Control only where the page respects it', () => {
  const data = { baseUrl: 'https://data.example', partnerKey: 'pk_data' };
  const gpc = { globalPrivacyControl: true };
  const cases = [
    // [queue, dataset additions, navigator, sends]
    [[call()], {}, {}, true],
    [[call()], { consent: 'pending' }, {}, false],
    [[call()], { consent: 'denied' }, {}, false],
    [[call()], { consent: 'granted' }, {}, true],
    [[['consent', 'granted'], call()], { consent: 'pending' }, {}, true],
    [[call(), ['consent', 'granted']], { consent: 'pending' }, {}, true],
    [[call(), ['consent', 'denied']], {}, {}, false],
    [[['configure', { consent: 'pending' }], call()], {}, {}, false],
    [[['consent', 'denied'], call()], {}, {}, false],
    [[call()], {}, gpc, true],
    [[call()], { respectGpc: '' }, gpc, false],
    [[call()], { respectGpc: 'false' }, gpc, true],
    [[call()], { respectGpc: '' }, {}, true],
    [[['configure', { respectGpc: true }], call()], {}, gpc, false],
    [[['configure', { respectGpc: false }], call()], { respectGpc: '' }, gpc, true],
    [[call()], { respectGpc: '', consent: 'granted' }, gpc, true],
    [[['consent', 'granted'], call()], { respectGpc: '' }, gpc, true],
  ];
  for (const [queue, extra, navigator, sends] of cases) {
    assert.equal(stubSends(queue, { ...data, ...extra }, navigator).length, sends ? 1 : 0, JSON.stringify([queue[0], extra, navigator]));
  }
});

test("requireReferral in the stub's send as the engine's gate: only with a referral the loader finds kept", () => {
  const data = { baseUrl: 'https://data.example', partnerKey: 'pk_data' };
  const cases = [
    // [queue, dataset additions, the loader's word (undefined: no loader yet), sends]
    [[call()], {}, undefined, true],
    [[call()], { requireReferral: '' }, undefined, false],
    [[call()], { requireReferral: '' }, false, false],
    [[call()], { requireReferral: '' }, true, true],
    [[call()], { requireReferral: 'false' }, false, true],
    [[call({ requireReferral: true })], {}, false, false],
    [[call({ requireReferral: true })], {}, true, true],
    [[call({ requireReferral: false })], { requireReferral: '' }, false, true],
    [[['configure', { requireReferral: true }], call()], {}, false, false],
    [[['configure', { requireReferral: false }], call()], { requireReferral: '' }, false, true],
  ];
  for (const [queue, extra, referred, sends] of cases) {
    assert.equal(stubSends(queue, { ...data, ...extra }, {}, referred).length, sends ? 1 : 0, JSON.stringify([queue, extra, referred]));
  }
});

/** Base URLs around the rule's edges, and many made from their parts. */
function baseUrls() {
  const fixed = [
    'https://onramp.example.com',
    'https://onramp.example.com/',
    'https://onramp.example.com/tenant/a',
    'https://onramp.example.com//',
    'HTTPS://Onramp.Example.COM',
    'https://a-b.example',
    'https://-a.example',
    'https://a-.example',
    'https://a..example',
    'https://a_b.example',
    'https://' + 'a'.repeat(63) + '.example',
    'https://' + 'a'.repeat(64) + '.example',
    'https://' + 'a.'.repeat(126) + 'a',
    'https://' + 'a.'.repeat(127) + 'a',
    'https://onramp.example.com:443',
    'https://onramp.example.com:0',
    'https://onramp.example.com:65535',
    'https://onramp.example.com:65536',
    'https://onramp.example.com:99999',
    'https://onramp.example.com:123456',
    'https://onramp.example.com:',
    'https://user:pw@onramp.example.com',
    'https://user@onramp.example.com',
    'https://onramp.example.com?x=1',
    'https://onramp.example.com/?x=1',
    'https://onramp.example.com#f',
    'https://onramp.example.com/a/../b',
    'https://onramp.example.com/a/./b',
    'https://onramp.example.com/a b',
    'https://onramp.example.com/%2e%2e',
    'https://[::1]',
    'https://[2001:db8::1]:8443/x',
    'http://localhost',
    'http://localhost:8080/x/',
    'http://127.0.0.1:8080',
    'http://[::1]:8080',
    'http://localhost.example',
    'http://127.0.0.2',
    'http://onramp.example.com',
    'ftp://onramp.example.com',
    'https:onramp.example.com',
    'https:/onramp.example.com',
    '//onramp.example.com',
    ' https://onramp.example.com',
    'https://onramp.example.com ',
    'https://onramp.example.com\n',
    'javascript:alert(1)',
    '',
  ];
  // Parts, combined by a seeded generator: the same cases every run.
  const schemes = ['https://', 'http://', 'HTTP://', 'https:/', 'ws://', ''];
  const hosts = ['onramp.example.com', 'localhost', '127.0.0.1', '[::1]', 'a-', '-a', 'a..b', 'a_b', 'xn--d1acufc.example', 'é.example', 'a', '1.2.3.4', 'user@h.example', ''];
  const ports = ['', ':1', ':8080', ':0', ':65535', ':65536', ':080', ':x', ':'];
  const paths = ['', '/', '/a', '/a/', '/a/b', '/./', '/../a', '/a b', '/%41', '/a?x', '/a#x', '/~_-.!$&\'()*+,;=:@', '//', '/é'];
  let seed = 42;
  const pick = (list) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return list[seed % list.length];
  };
  const made = Array.from({ length: 3000 }, () => pick(schemes) + pick(hosts) + pick(ports) + pick(paths));
  return [...fixed, ...made];
}

test('the stub refuses every base URL the core refuses, and sends where the core accepts (but IPv6 over https, or white space around)', async () => {
  await init(readFileSync(join(root, 'dist/onramp_pixel_bg.wasm')));
  let accepted = 0;
  for (const baseUrl of baseUrls()) {
    const core = await configure({ baseUrl }).then(
      () => 'ok',
      (error) => error.code,
    );
    const stub = stubSends([call({ baseUrl, partnerKey: 'pk' })]).length === 1 ? 'ok' : 'refused';
    if (core !== 'ok') assert.equal(stub, 'refused', `the stub sends to ${JSON.stringify(baseUrl)}, which the core refuses (${core})`);
    // Stricter only where it saves inline bytes: IPv6 hosts over https, and
    // white space around the URL (the core trims it).
    else if (!/^https:\/\/\[/i.test(baseUrl) && baseUrl === baseUrl.trim()) assert.equal(stub, 'ok', `the stub refuses ${JSON.stringify(baseUrl)}, which the core accepts`);
    accepted += core === 'ok';
  }
  assert.ok(accepted > 100, `only ${accepted} accepted cases`);
});

test("the stub sends on beforeunload too (WebKit fires no pagehide for a page left before its load event), and only while calls wait", () => {
  const sent = [];
  const listeners = {};
  const window = {
    addEventListener: (type, f) => (listeners[type] = f),
    fetch: (url, init) => sent.push({ url, body: JSON.parse(init.body) }),
  };
  const context = vm.createContext({ window, fetch: window.fetch, document: { querySelector: () => null }, navigator: {}, Object, JSON, Date });
  vm.runInContext(read('dist/stub.js'), context);
  assert.equal(listeners.beforeunload, undefined, 'no beforeunload listener before a call waits');
  window.onramp(...call({ baseUrl: 'https://onramp.example.com', partnerKey: 'pk' }));
  assert.equal(typeof listeners.beforeunload, 'function');
  listeners.beforeunload();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].url, 'https://onramp.example.com' + rules.TRACKINGS_PATH);
  listeners.pagehide();
  assert.equal(sent.length, 1, 'sent once');
});
