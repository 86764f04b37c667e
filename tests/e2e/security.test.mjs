// Security in Chromium: the README's Content Security Policy (with and
// without WebAssembly allowed), Subresource Integrity of the loader and of
// the wasm it loads, requests without credentials, and no eval-like code in
// what ships.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pin } from '../../scripts/sizes.mjs';
import { docText, openPage, root, uniqueId, worldForTests } from './helpers.mjs';

const world = worldForTests();

const README_CSP = /^Content-Security-Policy: (.+)$/m;

test("the README's CSP is the one the strict test page uses, and its hash is the stub's", async () => {
  const readme = docText();
  const policy = readme.match(README_CSP)?.[1];
  assert.ok(policy, 'the README gives a Content-Security-Policy line');
  const stub = readme.split('\n').find((line) => line.startsWith('<script>window.onramp'));
  const stubHash = createHash('sha256').update(stub.replace(/^<script>|<\/script>$/g, '')).digest('base64');
  assert.ok(policy.includes(`'sha256-${stubHash}'`), 'the policy allows the stub by its hash');
  // Directive by directive, as sets of sources.
  const parse = (text) =>
    Object.fromEntries(
      text
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .filter((d) => d[0])
        .map(([name, ...sources]) => [name, [...new Set(sources)].sort()]),
    );
  const page = await readFile(join(root, 'tests/e2e/pages/csp.html'), 'utf8');
  const tested = parse(page.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)[1]);
  const expected = parse(policy.replace(/https:\/\/(cdn|onramp)\.example\.com/g, '{{COLLECTOR}}'));
  expected['script-src'] = [...new Set(["'self'", ...expected['script-src']])].sort();
  assert.deepEqual(tested, expected);
});

test('under a strict CSP with wasm allowed, the pixel loads and sends; no violation, no error', async () => {
  const { context, page, problems } = await openPage(world.browser);
  const violations = [];
  await page.exposeFunction('reportViolation', (v) => violations.push(v));
  await page.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (e) => window.reportViolation(e.violatedDirective + ' ' + e.blockedURI)),
  );
  const id = uniqueId('csp');
  await page.goto(`${world.pages.origin}/csp.html?id=${id}`);
  const first = await page.evaluate(() => window.first);
  assert.deepEqual(first, { status: 201, transport: 'fetch' });
  const beacon = await page.evaluate(
    (id) =>
      new Promise((resolve) =>
        onramp('createSaasTracking', { serviceName: 'svc', customerId: id, transport: 'beacon' }, (e, r) => resolve(e ? e.code : r.transport)),
      ),
    id + '-beacon',
  );
  assert.equal(beacon, 'beacon');
  assert.equal((await world.sandbox.waitFor(id)).length, 1);
  assert.equal((await world.sandbox.waitFor(id + '-beacon')).length, 1);
  assert.deepEqual(violations, []);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a CSP that forbids WebAssembly: every call fails loudly with wasm_blocked, nothing is thrown on the page', async () => {
  const { context, page, problems } = await openPage(world.browser);
  const id = uniqueId('csp-no-wasm');
  await page.goto(`${world.pages.origin}/csp-no-wasm.html?id=${id}`);
  const first = await page.evaluate(() => window.first);
  assert.equal(first.code, 'wasm_blocked');
  assert.match(first.message, /wasm-unsafe-eval/);
  // Later calls get the same clear answer, and the Promise form rejects with it.
  const later = await page.evaluate(
    (id) =>
      onramp('createSaasTracking', { serviceName: 'svc', customerId: id + '-later' }).then(
        () => 'resolved',
        (e) => e.code,
      ),
    id,
  );
  assert.equal(later, 'wasm_blocked');
  assert.deepEqual(await world.sandbox.find(id), []);
  // Both calls stay queued: the stub sends them as the page is left, once.
  await page.goto(world.pages.origin + '/next.html');
  for (const customerId of [id, id + '-later']) {
    const stored = await world.sandbox.waitFor(customerId);
    assert.deepEqual([stored.length, stored[0].deliveries], [1, 1], customerId);
  }
  // Chromium reports the refused compile itself; the page has no uncaught error.
  assert.deepEqual(
    problems.filter((p) => !/Content Security Policy|unsafe-eval/.test(p)),
    [],
  );
  assert.ok(!problems.some((p) => p.startsWith('pageerror')));
  await context.close();
});

test('Subresource Integrity: the loader pins the pixel, the pixel the wasm, and a tampered wasm is refused', async () => {
  const integrity = JSON.parse(await readFile(join(root, 'dist/integrity.json'), 'utf8'));
  const loader = await readFile(join(root, 'dist/loader.js'), 'utf8');
  const pixel = await readFile(join(root, 'dist/pixel.js'), 'utf8');
  assert.match(integrity['loader.js'], /^sha384-[A-Za-z0-9+/]{64}$/);
  // What they load, each pinned by its SHA-256.
  const pinOf = (file) => pin(join(root, 'dist', file));
  assert.ok(loader.includes(pinOf('pixel.js')), 'loader.js pins the pixel it loads');
  assert.ok(loader.includes(pinOf('debug.js')), 'and debug mode\'s words');
  assert.ok(pixel.includes(pinOf('onramp_pixel_bg.wasm')), 'pixel.js pins the wasm it loads');

  // The same loader.js (its integrity attribute matches) next to a changed wasm.
  const { context, page, problems } = await openPage(world.browser);
  const id = uniqueId('tampered');
  await page.goto(`${world.pages.origin}/tampered.html?id=${id}`);
  assert.deepEqual(await page.evaluate(() => window.outcome), { code: 'load_failed' });
  assert.deepEqual(await world.sandbox.find(id), []);
  assert.ok(!problems.some((p) => p.startsWith('pageerror')), problems.join('\n'));
  assert.ok(problems.some((p) => /integrity/i.test(p)), 'Chromium reports the integrity failure');
  // The call stays queued: the stub sends it as the page is left, once.
  await page.goto(world.pages.origin + '/next.html');
  const stored = await world.sandbox.waitFor(id);
  assert.deepEqual([stored.length, stored[0].deliveries], [1, 1]);
  await context.close();
});

test('a loader whose integrity attribute does not match is not run', async () => {
  const { context, page } = await openPage(world.browser);
  await page.route('**/loader.js', async (route) => {
    const response = await route.fetch();
    const body = (await response.text()) + '\n;window.tampered = true;';
    await route.fulfill({ response, body });
  });
  await page.goto(`${world.pages.origin}/snippet.html`);
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.tampered === true || window.onramp.l === 1), false);
  await context.close();
});

test('requests to the collector carry no cookies or credentials, though the browser holds one it would send', async () => {
  const { context, page } = await openPage(world.browser);
  // A cookie of the collector's that a credentialed request from the page
  // carries: the page and the collector are two ports of one host, so one
  // site (the control request below proves it).
  await context.addCookies([{ name: 'session', value: 'secret', url: world.sandbox.origin, sameSite: 'Lax' }]);
  const seen = [];
  const control = [];
  context.on('request', (request) => {
    if (request.url().endsWith('/api/SaasTrackings?control')) control.push(request.allHeaders());
    else if (request.url().endsWith('/api/SaasTrackings') && request.method() === 'POST') seen.push(request.allHeaders());
  });
  await page.goto(world.pages.origin + '/snippet.html');
  // The control: the collector's page in a frame, a request that carries
  // the site's cookies.
  await page.evaluate((collector) => {
    const frame = document.createElement('iframe');
    frame.src = collector + '/api/SaasTrackings?control';
    document.body.append(frame);
  }, world.sandbox.origin);
  await page.waitForFunction(() => document.querySelector('iframe').contentWindow.length === 0);
  while (control.length === 0) await new Promise((r) => setTimeout(r, 20));
  const [controlHeaders] = await Promise.all(control);
  assert.match(controlHeaders.cookie ?? '', /session=secret/, 'a credentialed request carries the cookie');
  const id = uniqueId('no-cookies');
  await page.evaluate((id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id }), id);
  await page.evaluate(
    (id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id, transport: 'beacon' }),
    id + '-beacon',
  );
  await world.sandbox.waitFor(id + '-beacon');
  assert.ok(seen.length >= 2);
  for (const headers of await Promise.all(seen)) {
    assert.equal(headers.cookie, undefined);
    assert.equal(headers.authorization, undefined);
  }
  await context.close();
});

test('what ships has no eval, new Function, innerHTML or document.write', async () => {
  for (const file of (await readdir(join(root, 'dist'))).filter((f) => f.endsWith('.js'))) {
    const code = await readFile(join(root, 'dist', file), 'utf8');
    for (const banned of [/\beval\s*\(/, /new Function\b/, /\bFunction\s*\(/, /innerHTML/, /outerHTML/, /document\.write/, /setTimeout\s*\(\s*['"`]/]) {
      assert.doesNotMatch(code, banned, `${file} contains ${banned}`);
    }
  }
});

test('the shipped wasm cannot unwind: panic = "abort", and no panic machinery in the module', async () => {
  const cargo = await readFile(join(root, 'Cargo.toml'), 'utf8');
  const release = cargo.split('[profile.release]')[1].split('\n[')[0];
  assert.match(release, /^panic = "abort"$/m);
  const build = await readFile(join(root, 'scripts/build.mjs'), 'utf8');
  assert.match(build, /-Cpanic=immediate-abort/);
  // The shipped build (nightly, immediate-abort) has no panic formatting or
  // hook at all: a panic could only be an `unreachable`, which the property
  // tests and the fuzzer show no input reaches.
  const wasm = await readFile(join(root, 'dist/onramp_pixel_bg.wasm'));
  for (const text of ['panicked at', 'called `Option::unwrap()`', 'called `Result::unwrap()`']) {
    assert.equal(wasm.includes(text), false, `the wasm contains ${text}`);
  }
});
