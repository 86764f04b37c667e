// WebdriverIO (checked for syntax by our tests, not run): the signup is
// reported once, with the right fields.
import { browser, $, expect } from '@wdio/globals';

const collector = process.env.ONRAMP_COLLECTOR;
const get = async (path) => (await fetch(collector + path)).json();

describe('signup', () => {
  beforeEach(() => fetch(collector + '/_sandbox/reset', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));

  it('is reported once, with the right fields', async () => {
    // The marketplace's link to your landing page, then the signup.
    await browser.url(process.env.APP_URL + '/?onramp_ref=listing');
    await $('button=Accept').click();
    await $('a=Start your trial').click();
    await $('input[name=email]').setValue('ada@example.com');
    await $('button=Sign up').click();
    await $('button=Accept').click();
    await browser.waitUntil(async () => (await get('/api/SaasTrackings')).length > 0, { timeout: 10_000 });
    // Leaving the page is when a duplicate would go: leave, give it time, count.
    await browser.url('about:blank');
    await browser.pause(500);
    const [tracking, ...more] = await get('/api/SaasTrackings');
    expect(more).toHaveLength(0);
    expect(tracking).toMatchObject({ customerId: 'acct-ada@example.com', serviceName: 'Acme CRM', deliveries: 1 });
  });
});
