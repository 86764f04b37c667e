// onramp-pixel: the ESM entry of the npm package (and what the loader uses).
//
// The wasm (the Rust core) validates every call, keeps the queue and decides
// what each answer means, as pure steps over the stored queue text; this file
// reads the arguments, stores the queue and does the I/O the steps ask for:
// localStorage, Web Locks, IndexedDB, fetch, sendBeacon, timers and page
// events. Every request is started synchronously inside the caller's task,
// so a page may navigate away right after a call.
import { initSync, createSaasTracking as wasmAdmit, step as wasmStep } from './onramp_pixel.js';

const g = globalThis;
const TAG = '[onramp] ';
// The core's steps (`step` of src/lib.rs; ADMIT is `createSaasTracking`)
const ADMIT = -1;
const CONFIGURE = 0;
const CLAIM = 1;
const SETTLE = 2;
const DUE = 3;
// claim() answers
const GO = 0;
const ACCEPTED = 1;
// settle() outcomes besides HTTP statuses
const NETWORK = 0;
const TIMEOUT = 1;
const DELIVERED = 2;
const UNAVAILABLE = 3;
const STORE = 'accepted';
const KEY = 'onramp-pixel:v1';
const FIELDS = ['partnerKey', 'serviceName', 'customerId', 'purchasedAt', 'baseUrl', 'timeoutMs', 'transport'];
const MAX_UNITS = 16384;
// The fields configure() may set (partnerKey, baseUrl, timeoutMs, transport).
const CONFIGURABLE = [0, 4, 5, 6];

let ready = null;
let loaded = false;
let listening = false;
let timer;
// What the last step said: how many trackings wait.
let waiting = 0;
let db;
// The queue lives in localStorage; in memory where the page has none or
// a write failed (private mode, quota, Node), for the life of the page.
let memory = null;
// What configure() set, by field, as read() reads it: laid under each later
// call's own arguments.
const defaults = [];

function onrampError(code, message, field = null, cause) {
  const error = new Error(message, { cause });
  error.name = 'OnrampError';
  error.code = code;
  error.field = field;
  return error;
}

const fromCore = (e) => onrampError(e.code, e.message, e.field);
const warn = (message) => g.console && g.console.warn(TAG + message);

/**
 * Loads and instantiates the wasm module, once. `source` may be a URL, a
 * Response (or a Promise of one), bytes or a WebAssembly.Module; by default
 * the `.wasm` beside this file. Resolves when the pixel is ready.
 */
export function init(source) {
  if (!ready) {
    const input = source ?? new URL('./onramp_pixel_bg.wasm', import.meta.url);
    const fetchable = typeof input === 'string' || input instanceof URL || (g.Request && input instanceof Request);
    ready = Promise.resolve(fetchable ? fetch(input) : input)
      .then(compile)
      .then((module) => initSync({ module }))
      .then(
        () => {
          loaded = true;
          // Trackings left waiting by an earlier page are sent on load, when due.
          send('due');
        },
        (cause) => {
          ready = null;
          // A Content Security Policy without 'wasm-unsafe-eval' refuses to
          // compile the module: say so, rather than a vague load failure.
          if (/Content Security Policy|unsafe-eval/.test(String(cause && cause.message))) {
            throw onrampError(
              'wasm_blocked',
              "the page's Content Security Policy does not allow WebAssembly: add 'wasm-unsafe-eval' to script-src",
              null,
              cause,
            );
          }
          throw onrampError('load_failed', 'the onramp-pixel WebAssembly module could not be loaded', null, cause);
        },
      );
  }
  return ready;
}

// Compiles the module while it downloads (WebAssembly.compileStreaming,
// where the server sends application/wasm), else from its bytes; the
// instance is made at once from the compiled module.
function compile(source) {
  const W = WebAssembly;
  if (!(g.Response && source instanceof Response)) return source instanceof W.Module ? source : W.compile(source);
  if (!source.ok) throw new Error('HTTP ' + source.status);
  const bytes = () => source.arrayBuffer().then((b) => W.compile(b));
  return W.compileStreaming ? W.compileStreaming(source.clone()).catch(bytes) : bytes();
}

function call(fn, args) {
  if (!loaded) {
    return init().then(() => call(fn, args));
  }
  try {
    return fn(...args);
  } catch (cause) {
    return Promise.reject(onrampError('internal_error', 'onramp-pixel failed unexpectedly', null, cause));
  }
}

/**
 * Reports a signup to the OnRamp collector:
 * `createSaasTracking(partnerKey, serviceName, customerId, purchasedAt?)` or
 * `createSaasTracking({ partnerKey, serviceName, customerId, purchasedAt, baseUrl, timeoutMs, transport })`.
 * Never throws; the Promise rejects with an `OnrampError` (`code`, `field`).
 */
export function createSaasTracking(...args) {
  return call(submit, args.slice(0, 4));
}

/** Sets defaults (`baseUrl`, `partnerKey`, `timeoutMs`, `transport`) for later calls. */
export function configure(options) {
  return call((o) => {
    const given = read([o], true);
    const answer = step(CONFIGURE, ...callText(given));
    if (answer.error) return Promise.reject(fromCore(answer.error));
    // All options were valid: keep them.
    for (const i of CONFIGURABLE) if (given.slots[i][0] !== '-') defaults[i] = given.slots[i];
    return Promise.resolve();
  }, [options]);
}

/** Sends every tracking waiting in the queue now, backoff or not; resolves `{ sent, waiting }`. */
export function flush() {
  return call(send, ['forced']);
}

// The arguments as the core takes them (see src/input.rs): each field's
// [kind letter, text, number] and the option names, or `bad` (`!o`, `!r`).
// Only looks at the values, never converts one, so no code of the caller's
// runs but the getters of an options object.
function read(args, options) {
  const first = args[0];
  const object = first !== null && typeof first === 'object' && !Array.isArray(first);
  if (options && !object) return { bad: '!o' };
  try {
    const keys = object ? Object.keys(first).map((key) => key.replaceAll('\0', '\ufffd')) : [];
    const slots = FIELDS.map((name, i) => {
      const v = object ? first[name] : args[i];
      if (v == null) return ['-', '', NaN];
      if (typeof v === 'string') {
        if (v.length > MAX_UNITS) return ['l', '', NaN];
        return wellFormed(v) ? ['s', v, NaN] : ['c', '', NaN];
      }
      if (typeof v === 'number') return ['n', '', v];
      if (v instanceof Date) return ['d', '', Date.prototype.getTime.call(v)];
      return ['x', '', NaN];
    });
    return { slots, keys };
  } catch {
    return { bad: '!r' };
  }
}

// The call text (kind letters, the texts, the option names, joined by NUL)
// and the numbers beside it: purchasedAt's and timeoutMs'.
function callText({ bad, slots, keys }) {
  if (bad) return [bad, NaN, NaN];
  return [[slots.map((s) => s[0]).join(''), ...slots.map((s) => s[1]), ...keys].join('\0'), slots[3][2], slots[5][2]];
}

// Whether the text can be passed as it is: no lone surrogate (which
// TextEncoder would replace) and no NUL (the call text's separator, and a
// control character the core refuses anyway).
function wellFormed(text) {
  try {
    encodeURIComponent(text);
    return !text.includes('\0');
  } catch {
    return false;
  }
}

function load() {
  if (memory !== null) return memory;
  try {
    return g.localStorage.getItem(KEY) || '';
  } catch {
    return '';
  }
}

// Runs one step of the core over the stored queue and stores what it changed.
function step(op, arg, x, y) {
  const store = load();
  const now = Date.now();
  const answer = JSON.parse(op === ADMIT ? wasmAdmit(store, now, arg, x, y) : wasmStep(op, store, now, arg, x, y));
  const text = answer.store;
  if (text === undefined) return answer;
  waiting = answer.waiting;
  if (memory === null) {
    try {
      g.localStorage.setItem(KEY, text);
      return answer;
    } catch {
      // no localStorage, or it refused: keep the queue in memory
    }
  }
  memory = text;
  return answer;
}

// A new call: queued by the core first, then sent (under the tracking's
// lock where there are Web Locks, so two tabs never both send it).
function submit(...args) {
  listen();
  const call = read(args);
  if (call.slots) for (const i of CONFIGURABLE) if (call.slots[i][0] === '-' && defaults[i]) call.slots[i] = defaults[i];
  const plan = step(ADMIT, ...callText(call));
  if (plan.error) return Promise.reject(fromCore(plan.error));
  if (plan.dropped) warn('the queue is full: the oldest waiting tracking was dropped');
  const tracking = JSON.parse(plan.body);
  const result = (ok, transport, extra) =>
    Object.assign({ ok, queued: !ok, status: null, body: null, transport, tracking }, extra);
  const alreadySent = () => result(true, null, { alreadySent: true });
  const claimed = (acceptedAt) => {
    const claim = step(CLAIM, plan.id, plan.timeoutMs, acceptedAt).claim;
    if (claim === GO) return attempt(plan, result);
    return claim === ACCEPTED ? alreadySent() : result(false, null);
  };
  if (plan.state === 'sent') return Promise.resolve(alreadySent());
  if (plan.state === 'busy') {
    // The attempt in flight elsewhere settles it; if it dies, the timer retries.
    arm(plan.next);
    return Promise.resolve(result(false, null));
  }
  if (plan.transport === 'beacon') return beacon(plan, result);
  return guarded(plan.id, claimed);
}

// One attempt at a claimed tracking, by fetch (or beacon as the fallback).
function attempt(plan, result) {
  const pending = post(plan.url, plan.body, plan.timeoutMs);
  if (!pending) {
    if (plan.fallback === 'beacon') return beacon(plan, result, true);
    return Promise.reject(fromCore(settle(plan.id, UNAVAILABLE).error));
  }
  return answer(plan.id, pending).then((a) => {
    const r = result(a.verdict === 'accepted', 'fetch', a.retryAt ? { retryAt: a.retryAt } : undefined);
    if (a.verdict === 'rejected') {
      const error = fromCore(a.error);
      error.status = a.status;
      error.body = a.body;
      throw error;
    }
    if (a.status) {
      r.status = a.status;
      r.body = a.body;
    } else {
      r.error = fromCore(a.error);
    }
    return r;
  });
}

// A beacon: handed to the browser, the answer never read, so a beacon taken
// counts as delivered. Only where the browser has beacons. It goes as a
// keepalive, no-cors fetch of text/plain, which (unlike sendBeacon) leaves
// the visitor's cookies out; navigator.sendBeacon itself serves only where
// fetch cannot start (`fetchFailed`).
function beacon(plan, result, fetchFailed) {
  let taken = false;
  const nav = g.navigator;
  if (nav && typeof nav.sendBeacon === 'function') {
    if (!fetchFailed) {
      try {
        keepalive(plan.url, plan.body, { mode: 'no-cors' }).catch(() => {});
        taken = true;
      } catch {
        // fetch refused to start: sendBeacon below
      }
    }
    try {
      taken ||= nav.sendBeacon(plan.url, plan.body) === true;
    } catch {
      // refused
    }
  }
  const settled = settle(plan.id, taken ? DELIVERED : UNAVAILABLE);
  if (!taken) return Promise.reject(fromCore(settled.error));
  markAccepted(plan.id);
  return Promise.resolve(result(true, 'beacon'));
}

function settle(id, outcome, retryAfter) {
  // A Retry-After goes with the browser's reading of it as a date (the core
  // decides whether it is seconds or a date).
  const text = retryAfter == null ? id : [id, retryAfter, Date.parse(retryAfter)].join('\n');
  const settled = step(SETTLE, text, outcome, Math.random());
  arm(settled.next);
  return settled;
}

// A keepalive POST without cookies, started now (it may outlive the page).
const keepalive = (url, body, init) =>
  g.fetch(url, { method: 'POST', body, keepalive: true, credentials: 'omit', ...init });

// The JSON body by a keepalive POST, started now; null when fetch is missing
// or refuses to start.
function post(url, body, timeoutMs) {
  try {
    const A = g.AbortSignal;
    return keepalive(url, body, {
      headers: { 'Content-Type': 'application/json' },
      mode: 'cors',
      signal: A && A.timeout ? A.timeout(timeoutMs) : undefined,
    });
  } catch {
    return null;
  }
}

// Reads the answer and records the verdict (in IndexedDB too when it was
// accepted, before anyone else may take the tracking's lock).
function answer(id, pending) {
  return pending
    .then(
      (response) =>
        response
          .text()
          .catch(() => '')
          .then((text) => [response.status, response.headers.get('Retry-After'), text]),
      (error) => [error && /^(Timeout|Abort)Error$/.test(error.name) ? TIMEOUT : NETWORK, null, ''],
    )
    .then(([status, retryAfter, text]) => {
      const settled = settle(id, status, retryAfter);
      settled.status = status > TIMEOUT ? status : null;
      settled.body = parse(text);
      return settled.verdict === 'accepted' ? markAccepted(id).then(() => settled) : settled;
    });
}

function parse(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// Sends the waiting trackings: 'due' on load and on the timer, 'forced' for
// flush() and `online` (everything not in flight), 'leaving' when the page is
// hidden or left (what is due, started at once, without waiting for a lock
// the page may not live to get). Resolves { sent, waiting }; never rejects.
function send(mode) {
  listen();
  const list = step(DUE, '', mode === 'forced' ? 1 : 0, NaN);
  if (list.expired) warn('trackings older than 7 days were dropped from the queue');
  // Wakes for what is not due yet, and for attempts left in flight by a page
  // that went away, once their lease is over.
  arm(list.next);
  const attempts = list.due.map((entry) => {
    const one = (acceptedAt) => {
      if (step(CLAIM, entry.id, entry.timeoutMs, acceptedAt).claim !== GO) return false;
      const pending = post(entry.url, entry.body, entry.timeoutMs);
      if (!pending) {
        settle(entry.id, NETWORK);
        return false;
      }
      return answer(entry.id, pending).then((a) => a.verdict === 'accepted');
    };
    return guarded(entry.id, one, mode === 'leaving');
  });
  return Promise.all(attempts.map((a) => a.catch(() => false))).then((sent) => ({
    sent: sent.filter(Boolean).length,
    waiting,
  }));
}

// One timer, for the next waiting tracking that becomes due (in `delay` ms;
// none when negative).
function arm(delay) {
  if (delay < 0) return;
  clearTimeout(timer);
  timer = setTimeout(() => send('due'), delay + 50);
  // In Node a pending retry must not keep the process alive.
  if (timer && timer.unref) timer.unref();
}

// Flushes when the browser comes back online and when the page is hidden or
// left (never on `unload`, which would keep the page out of the bfcache).
function listen() {
  if (listening || typeof g.addEventListener !== 'function') return;
  listening = true;
  const leaving = (event) => {
    if (event.type === 'pagehide' || g.document.visibilityState === 'hidden') send('leaving');
  };
  g.addEventListener('online', () => send('forced'));
  g.addEventListener('pagehide', leaving);
  if (g.document) g.document.addEventListener('visibilitychange', leaving);
}

// Runs `task(acceptedAt)` holding the tracking's exclusive Web Lock, with
// what IndexedDB says of it read under the lock, so two tabs never both send
// it. Without the lock (acceptedAt NaN) when `unlocked`, where there are no
// Web Locks, or when the lock request is refused (an opaque origin, a
// sandboxed frame). The task's own OnrampError rejections pass through.
function guarded(id, task, unlocked) {
  let locked = null;
  if (!unlocked) {
    try {
      locked = g.navigator.locks.request('onramp-pixel:' + id, () => acceptedAt(id).then(task));
    } catch {
      // no Web Locks
    }
  }
  return locked
    ? locked.catch((error) => (error && error.name === 'OnrampError' ? Promise.reject(error) : task(NaN)))
    : Promise.resolve(task(NaN));
}

// The set of accepted trackings in IndexedDB, consistent across tabs (unlike
// localStorage); read and written under the tracking's lock. Every step
// resolves (to nothing) where IndexedDB cannot be used.
function database() {
  db ||= new Promise((resolve) => {
    const open = g.indexedDB.open('onramp-pixel', 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = open.onblocked = () => resolve(null);
  }).catch(() => null);
  return db;
}

function request(mode, use) {
  return database()
    .then(
      (d) =>
        d &&
        new Promise((resolve) => {
          const transaction = d.transaction(STORE, mode);
          const req = use(transaction.objectStore(STORE));
          transaction.oncomplete = () => resolve(req.result);
          transaction.onerror = transaction.onabort = () => resolve(null);
        }),
    )
    .catch(() => null);
}

// When IndexedDB says the tracking was accepted (epoch ms), or NaN.
function acceptedAt(id) {
  return request('readonly', (store) => store.get(id)).then((at) => (typeof at === 'number' ? at : NaN));
}

function markAccepted(id) {
  return request('readwrite', (store) => store.put(Date.now(), id));
}
