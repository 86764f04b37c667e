// `npm start` as a provider runs it: the demo page on localhost sends a
// tracking to the sandbox on 127.0.0.1, and the page shows what was stored.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { freePort, launchBrowser, openPage, root } from './helpers.mjs';

let start;
let origin;
let browser;


before(async () => {
  const port = await freePort();
  start = spawn('npm', ['start', '--silent'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), ONRAMP_SANDBOX_DB: ':memory:' },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  let out = '';
  origin = await new Promise((resolve, reject) => {
    start.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${out}`)));
    start.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/Demo signup-confirmation page: (http:\/\/localhost:\d+)\/demo\.html[\s\S]*listening on/);
      if (match) resolve(match[1]);
    });
  });
  start.removeAllListeners('exit');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (start && start.exitCode === null) process.kill(-start.pid, 'SIGTERM');
});

test('the demo funnel: the marketplace listing, the landing page, the signup reported; opened directly, skipped', async () => {
  const { context, page, problems } = await openPage(browser);
  // Opened directly: not referred, so skipped.
  await page.goto(`${origin}/demo.html?customerId=demo-direct-${Date.now()}`);
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Skipped'));
  assert.match(await page.textContent('#debug'), /\[onramp\] tracking skipped: the marketplace did not refer this visitor/);
  const collector = await page.textContent('#collector');
  assert.notEqual(new URL(collector).origin, new URL(origin).origin, 'page and collector on different origins');

  // The marketplace's listing, on another origin, links to the landing page.
  await page.goto(`${collector}/marketplace.html`);
  await Promise.all([page.waitForURL(/landing\.html/), page.click('#try')]);
  await page.waitForFunction(() => document.getElementById('kept').textContent.startsWith('p:'));
  assert.equal(new URL(page.url()).search, '?utm_source=marketplace', 'the referral parameter left the address bar');
  assert.match(await page.textContent('#debug'), /\[onramp\] referral captured from the address \(onramp_ref=demo-listing\)/);
  const customerId = 'demo-test-' + Date.now();
  await page.goto(`${origin}/demo.html?customerId=${customerId}`);
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Accepted'));
  assert.match(await page.textContent('#status'), /referred by param/);
  const sent = JSON.parse(await page.textContent('#result'));
  assert.equal(sent.status, 201);
  assert.equal(sent.tracking.customerId, customerId);
  await page.waitForFunction(() => /tracking sent \(fetch, HTTP 201\)/.test(document.getElementById('debug').textContent));
  await page.waitForFunction((id) => document.getElementById('stored').textContent.includes(id), customerId);
  const stored = await (await fetch(collector + '/api/SaasTrackings')).json();
  assert.deepEqual(
    stored.filter((t) => t.customerId === customerId).map((t) => [t.partnerKey, t.deliveries]),
    [['pk_demo_123', 1]],
  );
  // The form sends another; bad input is shown, not thrown.
  await page.fill('#customerId', '   ');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Rejected: empty_field'));
  assert.deepEqual(problems, []);
  await context.close();
});
