// Consent and Global Privacy Control in Chromium, against the sandbox: while
// consent is pending nothing is stored (no storage key, no IndexedDB, no
// cookie) and nothing is sent, whatever the page's events; granted sends
// what waited, once; denied ends it skipped and stores nothing; a page left
// while pending sends nothing (the stub included). GPC comes from an init
// script (navigator.globalPrivacyControl = true).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, uniqueId, worldForTests } from './helpers.mjs';

const world = worldForTests();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const page = (query) => `${world.pages.origin}/consent.html?${new URLSearchParams(query)}`;

/** What the page's origin keeps: localStorage keys, IndexedDB names, cookies. */
async function kept(page, context) {
  const inPage = await page.evaluate(async () => ({
    local: Object.keys(localStorage),
    databases: (await indexedDB.databases()).map((d) => d.name),
  }));
  return { ...inPage, cookies: (await context.cookies()).length };
}

/** The page's events that make the pixel send (each flush of the engine), fired by hand. */
const fireEvents = (page) =>
  page.evaluate(() => {
    for (const type of ['online', 'pagehide']) window.dispatchEvent(new Event(type));
    document.dispatchEvent(new Event('visibilitychange'));
  });

async function gpcPage() {
  const opened = await openPage(world.browser);
  await opened.context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
  return opened;
}

const loaded = (page) => page.waitForFunction(() => window.onramp && window.onramp.loaded === true);
/** The loader has run (a page without a call loads no pixel). */
const loaderRan = (page) => page.waitForFunction(() => window.onramp && window.onramp.l === 1);

/** A page of the pixel with consent pending, loaded, calling for a fresh id; `{ context, tab, id }`. */
async function pendingPage(prefix) {
  const { context, page: tab } = await openPage(world.browser);
  const id = uniqueId(prefix);
  await tab.goto(page({ consent: 'pending', id }));
  await loaded(tab);
  return { context, tab, id };
}

const firstResult = (page) => page.waitForFunction(() => window.results.length > 0, null, { timeout: 20_000 }).then(() => page.evaluate(() => window.results[0]));

test('pending: nothing stored or sent, whatever the page does; granted: sent once', async () => {
  const { sandbox } = world;
  const { context, tab, id } = await pendingPage('consent-pending');
  await fireEvents(tab);
  await sleep(1500);
  assert.deepEqual(await kept(tab, context), { local: [], databases: [], cookies: 0 });
  assert.deepEqual(await sandbox.find(id), []);
  assert.deepEqual(await tab.evaluate(() => window.results), [], 'the call waits');
  await tab.evaluate(() => onramp('consent', 'granted'));
  assert.deepEqual(await firstResult(tab), { ok: true, queued: false, skipped: null, customerId: id });
  await sandbox.deliveredOnce(id);
  await context.close();
});

test('denied: the call ends skipped, nothing stored or sent', async () => {
  const { sandbox } = world;
  const { context, tab, id } = await pendingPage('consent-denied');
  await tab.evaluate(() => onramp('consent', 'denied'));
  assert.deepEqual(await firstResult(tab), { ok: false, queued: false, skipped: 'consent_denied', customerId: id });
  // A later call is skipped too.
  const later = await tab.evaluate((c) => onramp('createSaasTracking', { serviceName: 'svc', customerId: c }).then((r) => r.skipped), id + '-later');
  assert.equal(later, 'consent_denied');
  await fireEvents(tab);
  await sleep(1000);
  assert.deepEqual(await kept(tab, context), { local: [], databases: [], cookies: 0 });
  assert.deepEqual(await sandbox.find(id), []);
  await context.close();
});

test('a page left while consent is pending sends nothing, before or after the loader ran', async () => {
  const { sandbox, pages } = world;
  const { context, page: tab } = await openPage(world.browser);
  // Left before the loader ran: the stub holds the call.
  const early = uniqueId('consent-left-early');
  await tab.goto(page({ consent: 'pending' }));
  await tab.evaluate((c) => {
    onramp('createSaasTracking', { serviceName: 'svc', customerId: c });
    location.href = '/next.html';
  }, early);
  await tab.waitForURL(/next\.html/);
  // Left after it: the module waits for consent.
  const late = uniqueId('consent-left-late');
  await tab.goto(page({ consent: 'pending', id: late }));
  await loaded(tab);
  await tab.goto(`${pages.origin}/next.html`);
  await sleep(1500);
  assert.deepEqual(await sandbox.find(early), []);
  assert.deepEqual(await sandbox.find(late), []);
  await context.close();
});

test('Global Privacy Control: ignored by default; with data-respect-gpc it is denied unless the page grants consent', async () => {
  const { sandbox } = world;
  {
    const { context, page: tab } = await gpcPage();
    const id = uniqueId('gpc-ignored');
    await tab.goto(page({ id }));
    assert.equal((await firstResult(tab)).ok, true);
    assert.equal((await sandbox.waitFor(id)).length, 1);
    await context.close();
  }
  {
    const { context, page: tab } = await gpcPage();
    const id = uniqueId('gpc-respected');
    await tab.goto(page({ id, 'respect-gpc': '' }));
    assert.equal((await firstResult(tab)).skipped, 'consent_denied');
    assert.deepEqual(await kept(tab, context), { local: [], databases: [], cookies: 0 });
    // The page's own grant wins over the signal.
    await tab.evaluate(() => onramp('consent', 'granted'));
    const granted = await tab.evaluate((c) => onramp('createSaasTracking', { serviceName: 'svc', customerId: c }).then((r) => r.ok), id + '-granted');
    assert.equal(granted, true);
    assert.equal((await sandbox.waitFor(id + '-granted')).length, 1);
    assert.deepEqual(await sandbox.find(id), [], 'the call made before the grant was skipped');
    await context.close();
  }
  {
    const { context, page: tab } = await gpcPage();
    const id = uniqueId('gpc-granted-tag');
    await tab.goto(page({ id, 'respect-gpc': '', consent: 'granted' }));
    assert.equal((await firstResult(tab)).ok, true, 'data-consent="granted" is the page granting it');
    await context.close();
  }
});

test('a consent value that is not one is an invalid_option, and changes nothing', async () => {
  const { context, page: tab } = await openPage(world.browser);
  await tab.goto(page({ consent: 'pending' }));
  await loaderRan(tab);
  const outcome = await tab.evaluate(() =>
    onramp('consent', 'yes').then(
      () => 'resolved',
      (e) => [e.code, e.field],
    ),
  );
  assert.deepEqual(outcome, ['invalid_option', 'consent']);
  const configured = await tab.evaluate(() => onramp('configure', { respectGpc: 'yes' }).catch((e) => [e.code, e.field]));
  assert.deepEqual(configured, ['invalid_type', 'respectGpc']);
  assert.deepEqual((await kept(tab, context)).local, [], 'still pending');
  await context.close();
});
