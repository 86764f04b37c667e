// onramp-pixel/testing: a collector for a provider's own headless tests
// (Playwright, Puppeteer, Cypress, WebdriverIO), in Node, without a Rust
// toolchain. It speaks the OnRamp API as the sandbox collector does and
// validates with the same Rust rules (onramp-core's reading of a
// submission, compiled to wasm for Node: testing/), so a tracking it takes
// is one the marketplace's collector takes.
//
//   const collector = await startCollector();
//   // point the snippet's data-base-url (or configure({ baseUrl })) at collector.baseUrl
//   await collector.waitForTracking({ customerId: 'cust-42' });
//   await collector.close();
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { check, initSync } from './onramp_testing.js';

let ready = false;

/** Loads the rules' wasm (beside this file), once. */
function rules() {
  if (!ready) {
    initSync({ module: readFileSync(new URL('./onramp_testing_bg.wasm', import.meta.url)) });
    ready = true;
  }
}

/**
 * Starts a collector on loopback (`port` 0, the default, picks a free one).
 * Resolves `{ baseUrl, trackings(), rejected(), waitForTracking(match, { timeoutMs }),
 * fault({ status, retryAfter, delayMs, times }), reset(), close() }`.
 */
export async function startCollector({ port = 0 } = {}) {
  rules();
  let stored = [];
  let refused = [];
  let faults = [];
  const waiters = new Set();

  const matches = (tracking, match) =>
    typeof match === 'function' ? match(tracking) : Object.entries(match || {}).every(([k, v]) => tracking[k] === v);
  const notify = () => {
    for (const waiter of waiters) waiter();
  };

  // CORS as the sandbox answers it (sandbox/src/cors.rs): a tracking's POST
  // (and its preflight) from any origin, its answer and Retry-After readable.
  const cors = (req) => {
    const origin = req.headers.origin;
    return {
      'access-control-expose-headers': 'retry-after',
      vary: 'origin, access-control-request-method, access-control-request-headers',
      ...(origin && { 'access-control-allow-origin': origin }),
    };
  };
  const send = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname !== '/api/SaasTrackings') return send(res, 404, { error: { code: 'not_found', field: null, message: 'not found' } });
    if (req.method === 'OPTIONS') {
      const { 'access-control-expose-headers': _, ...preflight } = cors(req);
      return send(res, 200, undefined, {
        ...preflight,
        'access-control-allow-methods': 'GET,POST',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '600',
      });
    }
    if (req.method === 'GET') return send(res, 200, stored);
    if (req.method !== 'POST') return send(res, 405, undefined);
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const receivedAt = new Date();
    const fault = faults[0];
    if (fault) {
      if (--fault.times <= 0) faults.shift();
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.status) {
        const headers = { ...cors(req), ...(fault.retryAfter != null && { 'retry-after': String(fault.retryAfter) }) };
        return send(res, fault.status, { error: { code: 'sandbox_fault', field: null, message: 'an injected fault (fault())' } }, headers);
      }
    }
    const answer = JSON.parse(check(body, receivedAt.getTime()));
    if (answer.error) {
      refused.push({ ...answer.error, status: answer.status, receivedAt: receivedAt.toISOString(), body: body.toString('utf8').slice(0, 2000) });
      notify();
      return send(res, answer.status, { error: answer.error }, cors(req));
    }
    const { tracking } = answer;
    const key = (t) => [t.partnerKey, t.serviceName, t.customerId].join('\u001f');
    let row = stored.find((t) => key(t) === key(tracking));
    if (row) row.deliveries += 1;
    else {
      row = { id: stored.length + 1, ...tracking, receivedAt: receivedAt.toISOString(), deliveries: 1, origin: req.headers.origin ?? null };
      stored.push(row);
    }
    notify();
    send(res, row.deliveries === 1 ? 201 : 200, row, cors(req));
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));

  return {
    baseUrl: `http://127.0.0.1:${server.address().port}`,
    /** Every tracking taken, oldest first, with `receivedAt` and `deliveries`. */
    trackings: () => stored.map((t) => ({ ...t })),
    /** Every refused submission: `{ code, field, message, status, receivedAt, body }`. */
    rejected: () => refused.map((r) => ({ ...r })),
    /** Resolves the first tracking that matches (an object of fields, or a function); rejects after `timeoutMs`. */
    waitForTracking(match, { timeoutMs = 10_000 } = {}) {
      return new Promise((resolve, reject) => {
        const look = () => {
          const found = stored.find((t) => matches(t, match));
          if (!found) return false;
          waiters.delete(look);
          clearTimeout(timer);
          resolve({ ...found });
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(new Error(`no tracking matching ${JSON.stringify(typeof match === 'function' ? String(match) : match)} in ${timeoutMs} ms`));
        }, timeoutMs);
        if (!look()) waiters.add(look);
      });
    },
    /** The next `times` POSTs (default 1) answer `status` (with `retryAfter`), or wait `delayMs` first. */
    fault({ status, retryAfter, delayMs = 0, times = 1 } = {}) {
      faults.push({ status, retryAfter, delayMs, times });
    },
    /** Forgets trackings, refusals and faults. */
    reset() {
      stored = [];
      refused = [];
      faults = [];
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
