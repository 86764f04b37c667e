// Stands for your app in the test recipes: a landing page the marketplace
// links to, a signup form, and a confirmation page that reports the signup
// of a visitor the marketplace sent (data-require-referral), with a consent
// banner that tells the pixel the visitor's choice. Every page carries the
// snippet, pointed at the collector it is given. The pixel's files are
// served from the installed package, as a self-hosting app would.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const pixel = (name) => readFile(fileURLToPath(import.meta.resolve(`onramp-pixel/${name}`)));

/** Starts the app on a free loopback port; `onrampBaseUrl` is the collector's. Resolves `{ url, close() }`. */
export async function startApp({ onrampBaseUrl, partnerKey = 'pk_test' }) {
  const stub = (await pixel('stub.js')).toString().trim();
  const integrity = JSON.parse(await pixel('integrity.json'));
  const html = (body) => `<!doctype html><html><head><meta charset="utf-8"><title>Acme CRM</title>${body}</html>`;
  // A cookie banner (your consent tool says the visitor's choice on every page).
  const banner = `<div role="dialog" aria-label="Cookies">
  <button onclick="onramp('consent', 'granted'); this.parentNode.remove()">Accept</button>
  <button onclick="onramp('consent', 'denied'); this.parentNode.remove()">Reject</button>
</div>`;
  // The snippet, on every page.
  const snippet = `<script>${stub}</script>
<script async src="/onramp-pixel/loader.js" integrity="${integrity['loader.js']}" crossorigin="anonymous"
        data-base-url="${onrampBaseUrl}" data-partner-key="${partnerKey}" data-require-referral data-consent="pending"></script>`;
  const welcome = (customerId) =>
    html(`${snippet}
<link rel="preload" href="/onramp-pixel/onramp_pixel_bg.wasm" as="fetch" crossorigin="anonymous">
<script>onramp('createSaasTracking', { serviceName: 'Acme CRM', customerId: ${JSON.stringify(customerId)} });</script>
</head><body><h1>Welcome to Acme CRM</h1>${banner}</body>`);
  const signup = html(`${snippet}</head><body><form action="/welcome"><label>Email <input name="email" type="email" required></label>
<button>Sign up</button></form></body>`);
  // The landing page the marketplace links to: the referral is kept once the visitor accepts.
  const landing = html(`${snippet}</head><body><h1>Acme CRM</h1><a href="/signup">Start your trial</a>${banner}</body>`);

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://app');
    if (url.pathname.startsWith('/onramp-pixel/')) {
      const name = url.pathname.slice('/onramp-pixel/'.length);
      if (!['loader.js', 'pixel.js', 'debug.js', 'onramp_pixel_bg.wasm'].includes(name)) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' });
      return res.end(await pixel(name));
    }
    const page =
      url.pathname === '/welcome' ? welcome(`acct-${url.searchParams.get('email')}`) : url.pathname === '/signup' ? signup : landing;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
