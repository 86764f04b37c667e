// The test recipes of docs/testing.md (examples/testing/), run as a provider
// would run them: the packed package installed into an app beside them,
// Playwright's test runner (@playwright/test) and Puppeteer (puppeteer-core
// under `node --test`) driving Chromium. Each recipe must pass against the
// example app, and must fail where the app breaks what it checks: an app
// that ignores the visitor's refusal, and an app that sends the tracking a
// second time as the page is left. The Cypress and WebdriverIO recipes are
// checked for syntax only (their runners are not installed here).
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { root } from './helpers.mjs';
import { linkDependency, run, workspace } from './package.mjs';

let apps;
let dir;

before(async () => {
  apps = await workspace();
  dir = await apps.install('recipes', null);
  await cp(join(root, 'examples/testing'), dir, { recursive: true });
  await mkdir(join(dir, 'node_modules/@playwright'), { recursive: true });
  await linkDependency(dir, '@playwright/test');
  await linkDependency(dir, 'puppeteer-core');
});
after(() => apps?.remove());

// NODE_TEST_CONTEXT left out: `node --test` inside a test file would report to this one.
const env = { CHROMIUM_PATH: process.env.CHROMIUM_PATH || '/usr/bin/chromium', NODE_TEST_CONTEXT: undefined };
const RECEIVED = 'a signup is reported once, with the right fields';
const REFUSED = 'nothing is sent when the visitor rejects cookies';
const RETRIED = 'a collector that fails first: the pixel retries, and it still counts once';
const NOT_REFERRED = 'a visitor the marketplace did not send is not reported';

// How each recipe runs, and how its runner reports each test: [title, passed].
const RUNNERS = {
  playwright: {
    command: [join(root, 'node_modules/@playwright/test/cli.js'), 'test', '-c', 'playwright/playwright.config.mjs', '--reporter=json'],
    results: (stdout) => JSON.parse(stdout).suites.flatMap((s) => s.specs.map((spec) => [spec.title, spec.ok])),
  },
  puppeteer: {
    command: ['--test', '--test-reporter=tap', 'puppeteer/signup.test.mjs'],
    results: (stdout) => [...stdout.matchAll(/^(not )?ok \d+ - (.+)$/gm)].map(([, not, title]) => [title, !not]),
  },
};

/** Runs a recipe; resolves the titles of its tests that passed and failed. */
async function outcome(recipe) {
  const { command, results } = RUNNERS[recipe];
  const finished = await run(process.execPath, command, dir, { env, timeout: 180_000 }).catch((failed) => failed);
  const tests = results(finished.stdout);
  return {
    passed: tests.filter(([, ok]) => ok).map(([title]) => title),
    failed: tests.filter(([, ok]) => !ok).map(([title]) => title),
    output: finished.stdout + finished.stderr,
  };
}

/** Rewrites the example app (app.mjs) with `change`, for the run of `body`. */
async function withApp(change, body) {
  const path = join(dir, 'app.mjs');
  const intact = await readFile(path, 'utf8');
  const changed = change(intact);
  assert.notEqual(changed, intact, 'the change applies');
  await writeFile(path, changed);
  try {
    return await body();
  } finally {
    await writeFile(path, intact);
  }
}

// The app without its consent banner's effect: the pixel is not told to wait.
const ignoresRefusal = (app) => app.replace(' data-consent="pending"', '');
// The app reports every signup, referred or not.
const ignoresReferral = (app) => app.replace(' data-require-referral', '');
// The app sends the tracking once more itself as the page is left.
const sendsTwice = (app) =>
  app.replace(
    '</head><body><h1>',
    `<script>addEventListener('pagehide', () => fetch('\${onrampBaseUrl}/api/SaasTrackings', { method: 'POST', keepalive: true, body: JSON.stringify({ partnerKey: '\${partnerKey}', serviceName: 'Acme CRM', customerId: \${JSON.stringify(customerId)}, purchasedAt: new Date() }) }));</script>
</head><body><h1>`,
  );

for (const [recipe, titles] of [
  ['playwright', [RECEIVED, REFUSED, RETRIED, NOT_REFERRED]],
  ['puppeteer', [RECEIVED, REFUSED, NOT_REFERRED]],
]) {
  test(`the ${recipe} recipe passes against the example app`, async () => {
    const { passed, failed, output } = await outcome(recipe);
    assert.deepEqual({ passed: passed.sort(), failed }, { passed: [...titles].sort(), failed: [] }, output);
  });

  test(`the ${recipe} recipe fails where the app ignores the refusal or the referral, or sends the tracking twice`, async () => {
    const refusal = await withApp(ignoresRefusal, () => outcome(recipe));
    assert.deepEqual(refusal.failed, [REFUSED], refusal.output);
    const referral = await withApp(ignoresReferral, () => outcome(recipe));
    assert.deepEqual(referral.failed, [NOT_REFERRED], referral.output);
    const twice = await withApp(sendsTwice, () => outcome(recipe));
    assert.ok(twice.failed.includes(RECEIVED), twice.output);
  });
}

test('the Cypress and WebdriverIO recipes parse', async () => {
  for (const file of ['cypress/cypress.config.mjs', 'cypress/e2e/signup.cy.js', 'webdriverio/wdio.conf.mjs', 'webdriverio/signup.e2e.mjs']) {
    await run(process.execPath, ['--check', join(dir, file)], dir);
  }
});
