// What the pixel keeps on the visitor's device, walked after the main
// scenarios in Chromium: every localStorage key, IndexedDB database, store
// and key, cookie, sessionStorage entry, cache and service worker must be
// one docs/privacy.md's table lists ("What the pixel keeps on the visitor's
// device"); a record holds only the four fields. And the accepted set
// forgets what is older than the queue keeps (7 days).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { control, openPage, root, uniqueId, worldForTests } from './helpers.mjs';

const world = worldForTests();
const FIELDS = ['partnerKey', 'serviceName', 'customerId', 'purchasedAt'];
const DAY = 86_400_000;

/** The rows of docs/privacy.md's table: `{ where, key }`, `key` the backticked prefix of its key column, if any. */
function readmeTable() {
  const readme = readFileSync(join(root, 'docs/privacy.md'), 'utf8');
  const section = readme.slice(readme.indexOf("## What the pixel keeps on the visitor's device"));
  const rows = section.slice(0, section.indexOf('\n## ')).split('\n').filter((l) => /^\| [^-w]/.test(l) && !l.startsWith('| where'));
  return rows.map((row) => {
    const [where, key] = row.split(' | ');
    return { where: where.replace(/^\| /, ''), key: /^`([^`]+)`/.exec(key)?.[1] ?? null, keyText: key };
  });
}

/** Everything the page's origin keeps, read in the page. */
function walk(page) {
  return page.evaluate(async () => {
    const local = Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)]));
    const databases = [];
    for (const { name } of await indexedDB.databases()) {
      const db = await new Promise((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const stores = [];
      for (const store of db.objectStoreNames) {
        const entries = await new Promise((resolve) => {
          const out = [];
          const request = db.transaction(store).objectStore(store).openCursor();
          request.onsuccess = () => {
            const cursor = request.result;
            if (!cursor) return resolve(out);
            out.push([cursor.key, cursor.value]);
            cursor.continue();
          };
        });
        stores.push({ store, entries });
      }
      db.close();
      databases.push({ name, stores });
    }
    const workers = navigator.serviceWorker ? (await navigator.serviceWorker.getRegistrations()).length : 0;
    return { local, session: sessionStorage.length, databases, caches: await caches.keys(), workers };
  });
}

const result = (page) => page.waitForFunction(() => window.results.length > 0, null, { timeout: 20_000 }).then(() => page.evaluate(() => window.results[0]));

test('after the main scenarios, the device holds only what docs/privacy.md lists', async () => {
  const { sandbox, pages, browser } = world;
  const { context, page } = await openPage(browser);
  const sent = uniqueId('kept-sent');
  // Landed from the marketplace: the referral is kept too.
  await page.goto(`${pages.origin}/queue.html?id=${sent}&onramp_ref=mkt-1`);
  assert.equal((await result(page)).ok, true);
  const beacon = uniqueId('kept-beacon');
  await page.evaluate((id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id, transport: 'beacon' }), beacon);
  assert.equal((await sandbox.waitFor(beacon)).length, 1);
  // Waiting: the collector fails it, so it stays queued.
  await sandbox.faults([{ status: 503, times: 5 }]);
  const waiting = uniqueId('kept-waiting');
  await page.goto(`${pages.origin}/queue.html?id=${waiting}`);
  assert.equal((await result(page)).queued, true);

  const found = await walk(page);
  const table = readmeTable();
  const listed = (where) => table.filter((row) => row.where.includes(where));
  const id = (customerId) => [sandbox.origin + '/api/SaasTrackings', 'pk_queue', 'svc', customerId].join('\u001f');

  // localStorage: every key under a listed prefix; a record's body holds the four fields only.
  const localPrefixes = listed('`localStorage`').map((row) => row.key);
  assert.deepEqual(localPrefixes, ['onramp-pixel:v2:', 'onramp_ref']);
  assert.match(found.local.onramp_ref, /^p:\d+:\d+:mkt-1$/, 'the referral: source, times, value');
  const cookieRows = table.filter((row) => row.where.startsWith('cookie')).map((row) => row.key);
  assert.deepEqual(cookieRows, ['onramp_ref'], 'the cookie, where the page names a cookie domain (attribution.test.mjs)');
  for (const [key, text] of Object.entries(found.local)) {
    assert.ok(localPrefixes.some((p) => key.startsWith(p)), `localStorage key ${JSON.stringify(key)} is not in docs/privacy.md's table`);
    if (key == 'onramp_ref') continue;
    const record = JSON.parse(text);
    if (record.body) assert.deepEqual(Object.keys(JSON.parse(record.body)), FIELDS, `${key}: the four fields only`);
  }
  for (const customerId of [sent, waiting, beacon]) assert.ok(`onramp-pixel:v2:${id(customerId)}` in found.local, customerId);
  assert.equal(JSON.parse(found.local[`onramp-pixel:v2:${id(sent)}`]).body, '', 'an accepted record keeps no body');

  // IndexedDB: the listed database and store; keys are tracking ids or leases.
  const idbRows = listed('IndexedDB');
  for (const { name, stores } of found.databases) {
    assert.ok(idbRows.some((row) => row.where.includes(`\`${name}\``)), `IndexedDB database ${name} is not in docs/privacy.md's table`);
    for (const { store, entries } of stores) {
      assert.ok(idbRows.some((row) => row.where.includes(`store \`${store}\``)), `store ${store} is not in docs/privacy.md's table`);
      for (const [key, value] of entries) {
        const lease = idbRows.find((row) => row.key && String(key).startsWith(row.key));
        assert.ok(lease || String(key).startsWith(sandbox.origin + '/api/SaasTrackings\u001f'), `IndexedDB key ${JSON.stringify(key)}`);
        assert.equal(typeof value, 'number', `${key}: a time`);
      }
    }
  }
  assert.ok(found.databases.some((d) => d.name === 'onramp-pixel'), 'the accepted set exists');

  // Nothing else: no cookie (on any origin), no sessionStorage, caches or service workers.
  assert.deepEqual(await context.cookies(), []);
  assert.deepEqual([found.session, found.caches, found.workers], [0, [], 0]);
  await control(sandbox.origin, '/_sandbox/reset');
  await context.close();
});

test('the accepted set forgets what is older than 7 days at the next acceptance', async () => {
  const { pages, browser } = world;
  const { context, page } = await openPage(browser);
  await page.goto(`${pages.origin}/queue.html`);
  await page.evaluate(() => onramp('flush'));
  // Entries as an earlier visit left them: 8 days old (gone next), 6 days old (kept).
  await page.evaluate(
    ([old, recent]) =>
      new Promise((resolve) => {
        const request = indexedDB.open('onramp-pixel', 2);
        request.onupgradeneeded = () => {
          for (const name of ['accepted', 'leases']) request.result.createObjectStore(name);
        };
        request.onsuccess = () => {
          const transaction = request.result.transaction('accepted', 'readwrite');
          transaction.objectStore('accepted').put(old, 'old-tracking');
          transaction.objectStore('accepted').put(recent, 'recent-tracking');
          transaction.oncomplete = () => resolve(request.result.close());
        };
      }),
    [Date.now() - 8 * DAY, Date.now() - 6 * DAY],
  );
  const id = uniqueId('kept-prune');
  await page.goto(`${pages.origin}/queue.html?id=${id}`);
  assert.equal((await result(page)).ok, true);
  const keys = async () => (await walk(page)).databases.find((d) => d.name === 'onramp-pixel').stores.find((s) => s.store === 'accepted').entries.map(([k]) => k);
  // The acceptance's transaction commits before the lock is released; give it a moment anyway.
  await page.waitForTimeout(300);
  const left = await keys();
  assert.ok(!left.includes('old-tracking'), `the 8-day-old entry is gone: ${left}`);
  assert.ok(left.includes('recent-tracking'), 'the 6-day-old one stays');
  await context.close();
});
