// onramp-pixel/testing: a collector for a provider's own headless tests
// (Playwright, Puppeteer, Cypress, WebdriverIO), in Node, without a Rust
// toolchain. It speaks the OnRamp API and the control API of the sandbox
// collector (docs/sandbox.md), and reads submissions and faults with the
// same Rust rules (onramp-core, compiled to wasm for Node: testing/), so a
// tracking it takes is one the marketplace's collector takes.
// tests/e2e/testing.test.mjs holds its answers to the sandbox's.
//
//   const collector = await startCollector();
//   // point the snippet's data-base-url (or configure({ baseUrl })) at collector.baseUrl
//   await collector.waitForTracking({ customerId: 'cust-42' });
//   await collector.close();
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { check, faults as readFaults, initSync } from './onramp_testing.js';

let loaded = false;

/** Loads the rules' wasm, beside this file (once). */
function load() {
  if (!loaded) initSync({ module: readFileSync(new URL('./onramp_testing_bg.wasm', import.meta.url)) });
  loaded = true;
}

/** The rules' answer (`check` or `readFaults`, as JSON text) read. */
const rules = (read, ...args) => JSON.parse(read(...args));

const problem = (code, message) => ({ error: { code, field: null, message } });
const matches = (record, match) =>
  typeof match === 'function' ? match(record) : Object.entries(match || {}).every(([k, v]) => record[k] === v);
const copies = (list, match) => list.filter((r) => match === undefined || matches(r, match)).map((r) => structuredClone(r));

/**
 * Starts a collector on loopback (`port` 0, the default, picks a free one).
 * Resolves `{ baseUrl, trackings(match?), rejected(), attempts(),
 * waitForTracking(match, { timeoutMs }), fault(fault | faults), faults(),
 * reset(), close() }`.
 */
export async function startCollector({ port = 0 } = {}) {
  load();
  let stored = [];
  let refused = [];
  let tried = [];
  let pending = [];
  const waiters = new Set();
  const hangups = new Set();
  let busy = 0;
  let lastSeen = Date.now();
  const notify = () => waiters.forEach((waiter) => waiter());

  // The sandbox's own origins (guard.rs): loopback names on this port.
  const own = (origin) => ['127.0.0.1', 'localhost', '[::1]'].some((host) => origin === `http://${host}:${server.address().port}`);

  // CORS as the sandbox answers it (cors.rs): any origin may POST a tracking
  // (and preflight it) and read the answer and its Retry-After; the stored
  // trackings are readable by its own origins only; /_sandbox/* has none.
  const cors = (req, path) => {
    const origin = req.headers.origin;
    if (path.startsWith('/_sandbox/')) return {};
    const posting = req.method === 'POST' || (req.method === 'OPTIONS' && req.headers['access-control-request-method'] === 'POST');
    return {
      vary: 'origin, access-control-request-method, access-control-request-headers',
      ...(req.method !== 'OPTIONS' && { 'access-control-expose-headers': 'retry-after' }),
      ...(origin && (posting || own(origin)) && { 'access-control-allow-origin': origin }),
    };
  };

  // Why a request to /_sandbox/* is refused (guard.rs): another origin's
  // page, a cross-site fetch, a POST that is not JSON.
  const refusal = (req) => {
    const { origin, 'sec-fetch-site': site, 'content-type': type } = req.headers;
    if (origin !== undefined && !own(origin)) return [403, "the sandbox's control endpoints answer only its own pages and local tools, not pages of another origin"];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return [403, `the sandbox's control endpoints answer only its own pages and local tools, not a ${site} request`];
    if (req.method === 'POST' && (type ?? '').split(';')[0].trim().toLowerCase() !== 'application/json')
      return [415, "a POST to the sandbox's control endpoints must be sent with Content-Type: application/json"];
  };

  /** A POST of a tracking: a fault, or the rules' answer and the store. */
  async function post(req, res, body, headers) {
    const receivedAt = new Date().toISOString();
    const origin = req.headers.origin ?? null;
    let customerId = null;
    try {
      customerId = JSON.parse(body.toString('utf8')).customerId ?? null;
    } catch {}
    const attempt = (status, outcome) => {
      tried.push({ at: receivedAt, customerId, status, outcome, origin });
      notify();
    };
    const fault = pending[0] && { ...pending[0] };
    if (fault && --pending[0].times === 0) pending.shift();
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.drop) {
      attempt(null, 'dropped');
      return req.socket.destroy();
    }
    if (fault?.status) {
      attempt(fault.status, 'fault');
      const retry = fault.retryAfter != null && { 'retry-after': fault.retryAfter };
      return answer(res, fault.status, problem('sandbox_fault', 'an injected fault (POST /_sandbox/faults)'), { ...headers, ...retry });
    }
    const checked = rules(check, body, Date.parse(receivedAt));
    if (checked.error) {
      refused.push({ error: checked.error, receivedAt, status: checked.status, body: body.toString('utf8').slice(0, 2000), origin });
      attempt(checked.status, 'handled');
      return answer(res, checked.status, { error: checked.error }, headers);
    }
    const { tracking } = checked;
    const same = (t) => t.partnerKey === tracking.partnerKey && t.serviceName === tracking.serviceName && t.customerId === tracking.customerId;
    let row = stored.find(same);
    if (row) row.deliveries += 1;
    else stored.push((row = { id: stored.length + 1, ...tracking, receivedAt, deliveries: 1, origin }));
    attempt(row.deliveries === 1 ? 201 : 200, 'handled');
    answer(res, row.deliveries === 1 ? 201 : 200, row, headers);
  }

  const answer = (res, status, body, headers = {}) => {
    res.writeHead(status, { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };

  const server = http.createServer(async (req, res) => {
    hangups.add(req.socket);
    req.socket.once('close', () => hangups.delete(req.socket));
    busy += 1;
    res.once('close', () => {
      busy -= 1;
      lastSeen = Date.now();
    });
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const path = new URL(req.url, 'http://x').pathname;
    const headers = cors(req, path);
    const { method } = req;
    const route = `${method} ${path.replace(/^\/api\/SaasTrackings\/\d+$/, '/api/SaasTrackings/{id}')}`;
    if (path.startsWith('/_sandbox/')) {
      const refused = refusal(req);
      if (refused) return answer(res, refused[0], problem('control_refused', refused[1]));
    }
    switch (route) {
      case 'OPTIONS /api/SaasTrackings':
        return answer(res, 200, undefined, {
          ...headers,
          'access-control-allow-methods': 'GET,POST',
          'access-control-allow-headers': 'content-type',
          'access-control-max-age': '600',
        });
      case 'POST /api/SaasTrackings':
        return post(req, res, body, headers);
      case 'GET /api/SaasTrackings':
        return answer(res, 200, stored, headers);
      case 'GET /api/SaasTrackings/{id}': {
        const row = stored[Number(path.split('/').pop()) - 1];
        return row ? answer(res, 200, row, headers) : answer(res, 404, problem('not_found', 'no tracking with this id'), headers);
      }
      case 'GET /_sandbox/faults':
        return answer(res, 200, pending);
      case 'POST /_sandbox/faults': {
        const asked = rules(readFaults, body);
        if (asked.error) return answer(res, asked.status, { error: asked.error });
        pending.push(...asked.faults);
        return answer(res, 200, pending);
      }
      case 'POST /_sandbox/reset':
        clear();
        return answer(res, 204);
      case 'GET /_sandbox/rejected':
        return answer(res, 200, refused);
      case 'GET /_sandbox/attempts':
        return answer(res, 200, tried);
    }
    const known = ['/api/SaasTrackings', '/_sandbox/faults', '/_sandbox/reset', '/_sandbox/rejected', '/_sandbox/attempts'].includes(path);
    answer(res, known ? 405 : 404, known ? undefined : problem('not_found', 'not found'), known ? headers : {});
  });
  const clear = () => {
    stored = [];
    refused = [];
    tried = [];
    pending = [];
  };
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));

  return {
    /** `http://127.0.0.1:PORT`: the base URL to give the pixel. */
    baseUrl: `http://127.0.0.1:${server.address().port}`,
    /** The trackings taken (those matching `match`), oldest first, with `receivedAt`, `deliveries` and `origin`. */
    trackings: (match) => copies(stored, match),
    /** The refused submissions: `{ error: { code, field, message }, receivedAt, status, body, origin }`. */
    rejected: (match) => copies(refused, match),
    /** Every POST of a tracking: `{ at, customerId, status, outcome, origin }` (`outcome`: handled, fault, dropped). */
    attempts: (match) => copies(tried, match),
    /** Resolves the first tracking that matches (an object of fields, or a function); rejects after `timeoutMs`. */
    waitForTracking(match, { timeoutMs = 10_000 } = {}) {
      return new Promise((resolve, reject) => {
        const look = () => {
          const [found] = copies(stored, match);
          if (!found) return false;
          waiters.delete(look);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(new Error(`no tracking matching ${typeof match === 'function' ? String(match) : JSON.stringify(match)} in ${timeoutMs} ms`));
        }, timeoutMs);
        if (!look()) waiters.add(look);
      });
    },
    /**
     * Resolves once no request has been in progress or arrived for
     * `quietMs` (default 300): after the page is left, when a duplicate
     * would have come.
     */
    settled({ quietMs = 300 } = {}) {
      return new Promise((resolve) => {
        const look = () => {
          const quiet = Date.now() - lastSeen;
          if (busy === 0 && quiet >= quietMs) resolve();
          else setTimeout(look, Math.max(quietMs - quiet, 10));
        };
        look();
      });
    },
    /**
     * Queues faults for the next POSTs, as `POST /_sandbox/faults` does:
     * `{ status, retryAfter, delayMs, drop, times }` or a list of them.
     * Throws a TypeError for one the sandbox would refuse.
     */
    fault(fault) {
      const asked = rules(readFaults, new TextEncoder().encode(JSON.stringify(fault ?? null)));
      if (asked.error) throw new TypeError(`invalid_fault: ${asked.error.message}`);
      pending.push(...asked.faults);
    },
    /** The faults still to apply. */
    faults: () => structuredClone(pending),
    /** Forgets trackings, refusals, attempts and faults. */
    reset: clear,
    /** Stops listening; connections a `drop` fault holds are closed. */
    close() {
      for (const socket of hangups) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
