// onramp-pixel: the ESM entry of the npm package (and what the loader
// bundles). It loads the wasm module, once; the module reads every call,
// keeps the queue and sends (src/lib.rs, src/web/).
import { warm } from './accepted.js';
import { consentError, consentNow } from './consent.js';
import { onrampError } from './errors.js';
import { readKept } from './referral.js';
import { BODY_FIELDS } from './rules.js';
import { initSync, configure as wasmConfigure, createSaasTracking as wasmCreate, flush as wasmFlush } from './onramp_pixel.js';

const g = globalThis;
// The build bundles this entry into the loader with ONRAMP_LOADER true
// (scripts/build.mjs): the loader hands init() the .wasm it fetched, once,
// and calls the exports only once the module is ready, so what serves an
// import by a bundler or Node alone is left out of it.
let ready = null;
let compiled = null;
let loaded = false;
let warned = false;

// Consent, as the provider's consent tool says it (the pixel does not
// remember it): "granted" (the default), "pending" or "denied". The module
// is instantiated (its queue read, its requests sent, anything written)
// only once consent is granted; until then calls wait here, in order, and
// on "denied" a tracking ends skipped. With respectGpc, a browser sending
// Global Privacy Control counts as denied unless the page granted consent
// itself. The names and values are the core's (core/src/options.rs,
// CONSENT_OPTIONS and CONSENT_STATES, through rules.js and consent.js;
// tests/e2e/drift.test.mjs).
let consentState = 'granted';
let explicit = false;
let respectGpc = false;
const held = [];
const holds = () => consentNow(consentState, explicit, respectGpc, !!g.navigator?.globalPrivacyControl);
const denied = () => holds() === 'denied';
const pending = () => holds() === 'pending';

// Instantiates the compiled module once consent allows, then runs the
// calls that waited; on "denied" ends them.
function settleHeld() {
  if (pending()) return;
  if (!denied() && compiled && !loaded) {
    initSync({ module: compiled });
    loaded = true;
  }
  if (!denied() && !loaded) return;
  // Denied: what waited ends skipped, but configure() waits on for a
  // later grant.
  for (const call of held.splice(0)) {
    const [forwarded, args, resolve, skipped] = call;
    if (skipped || loaded) resolve(forwarded(...args));
    else held.push(call);
  }
}

// The .wasm beside this file: read from disk in Node (a file: URL), fetched
// elsewhere. Throws where import.meta.url is unusable (an IIFE bundle).
function besideThisFile() {
  const url = new URL('./onramp_pixel_bg.wasm', import.meta.url);
  const fs = url.protocol === 'file:' && g.process?.getBuiltinModule?.('fs');
  return fs ? fs.promises.readFile(url) : url;
}

/**
 * Loads and instantiates the wasm module, once. `source` may be a URL, a
 * Request, a Response (or a Promise of one), bytes or a WebAssembly.Module;
 * by default the `.wasm` beside this file. Resolves when the pixel is ready.
 * Called after a load has started, it returns that load and warns once:
 * `source` is used only if that load fails.
 */
export function init(source) {
  if (!pending() && !denied()) warm();
  if (!ONRAMP_LOADER && ready && source != null && !warned) {
    warned = true;
    g.console?.warn('[onramp] init(source) came after the module began loading: that load is kept, and source is used only if it fails');
  }
  ready ||= new Promise((resolve) => resolve(ONRAMP_LOADER ? source : (source ?? besideThisFile())))
    .then((input) =>
      !ONRAMP_LOADER && (typeof input === 'string' || input instanceof URL || (g.Request && input instanceof Request))
        ? fetch(input)
        : input,
    )
    .then(compile)
    .then((module) => {
      compiled = module;
      settleHeld();
    })
    .catch((cause) => {
      ready = null;
      // A Content Security Policy without 'wasm-unsafe-eval' refuses to
      // compile the module: say so, rather than a vague load failure.
      if (/Content Security Policy|unsafe-eval/.test(String(cause?.message))) {
        throw onrampError(
          'wasm_blocked',
          "the page's Content Security Policy does not allow WebAssembly: add 'wasm-unsafe-eval' to script-src",
          cause,
        );
      }
      throw onrampError(
        'load_failed',
        'the onramp-pixel WebAssembly module could not be loaded' +
          (!ONRAMP_LOADER && source == null ? ': pass its URL or bytes to init() before the first call' : ''),
        cause,
      );
    });
  return ready;
}

// Compiles the module: while it downloads (WebAssembly.compileStreaming,
// where the server sends application/wasm), else from its bytes. The
// loader compiles from the bytes: the snippet's preload has them in before
// it runs, so streaming would overlap nothing (measured in Chromium: no
// difference in time beyond the noise), and the loader is smaller without it.
function compile(source) {
  const W = WebAssembly;
  // (The loader always hands over the Response of its fetch.)
  if (!ONRAMP_LOADER && !(g.Response && source instanceof Response)) {
    return source instanceof W.Module ? source : W.compile(source);
  }
  if (!source.ok) throw new Error('HTTP ' + source.status);
  const bytes = () => source.arrayBuffer().then((b) => W.compile(b));
  return !ONRAMP_LOADER && W.compileStreaming ? W.compileStreaming(source.clone()).catch(bytes) : bytes();
}

// An export of the module, called at once when it is loaded (so that a
// request starts in the caller's task), after init() otherwise; while
// consent is pending it waits, and when it is denied `skipped` answers.
const forward = (fn, skipped) =>
  function forwarded(...args) {
    if (!ONRAMP_LOADER && !compiled) return init().then(() => forwarded(...args));
    if (denied() && skipped) return Promise.resolve(skipped(args));
    if (!loaded || pending()) return new Promise((resolve) => held.push([forwarded, args, resolve, skipped]));
    try {
      return fn(...args);
    } catch (cause) {
      return Promise.reject(onrampError('internal_error', 'onramp-pixel failed unexpectedly', cause));
    }
  };


// What a call skipped for consent resolves to: its fields as given (nothing
// was checked).
const notConsented = (args) => ({
  ok: false,
  queued: false,
  skipped: 'consent_denied',
  status: null,
  body: null,
  transport: null,
  tracking: Object.fromEntries(BODY_FIELDS.map((name, i) => [name, (args[0] && typeof args[0] == 'object' ? args[0][name] : args[i]) ?? null])),
});

/**
 * Consent from the page's consent tool: `"granted"` sends what waited and
 * what comes; `"denied"` ends what waited as skipped and skips what comes
 * (`"pending"` too by `configure({ consent })`). Resolves once applied.
 */
export function consent(value) {
  const error = consentError(value ?? null);
  if (error) return Promise.reject(error);
  consentState = value;
  explicit ||= value === 'granted';
  settleHeld();
  return Promise.resolve();
}

// The visitor's kept referral, for the engine's gate: as the loader reads
// it (its attribution setting included), or, without the loader, from
// localStorage and the cookie (first touch).
const kept = () => (g.onramp?.r || (!ONRAMP_LOADER && readKept))?.(true, true);

/**
 * Reports a signup to the OnRamp collector:
 * `createSaasTracking(partnerKey, serviceName, customerId, purchasedAt?)` or
 * `createSaasTracking({ partnerKey, serviceName, customerId, purchasedAt, baseUrl, timeoutMs, transport, requireReferral })`.
 * Never throws; the Promise rejects with an `OnrampError` (`code`, `field`).
 */
export const createSaasTracking = forward((a, b, c, d, r = kept()) => wasmCreate(a, b, c, d, r?.s, r?.at, r?.until), notConsented);

// configure() is never skipped: while the module waits for consent, so do
// its defaults.
const configureModule = forward(wasmConfigure, null);

/**
 * Sets defaults (`baseUrl`, `partnerKey`, `timeoutMs`, `transport`) for later
 * calls; `consent` and `respectGpc` take effect at once.
 */
export function configure(options) {
  if (options && typeof options == 'object' && ('consent' in options || 'respectGpc' in options || 'debug' in options)) {
    // debug is the loader's switch (loader.js), never the module's.
    const { consent: value, respectGpc: gpc, debug, ...rest } = options;
    const error = consentError(value, gpc);
    if (error) return Promise.reject(error);
    if (gpc !== undefined) respectGpc = gpc;
    return (value === undefined ? Promise.resolve() : consent(value)).then(() => configureModule(rest));
  }
  return configureModule(options);
}

/** Sends every tracking waiting in the queue now, backoff or not; resolves `{ sent, waiting }`. */
export const flush = forward(wasmFlush, () => ({ sent: 0, waiting: 0 }));

/** Whether `error` is an `OnrampError`, what every rejection of the pixel is. */
export const isOnrampError = (error) => error instanceof Error && error.name === 'OnrampError';
