// onramp-pixel: the ESM entry of the npm package (and what the loader
// bundles). It loads the wasm module, once; the module reads every call,
// keeps the queue and sends (src/lib.rs, src/web/).
import { onrampError } from './errors.js';
import { initSync, configure as wasmConfigure, createSaasTracking as wasmCreate, flush as wasmFlush } from './onramp_pixel.js';

const g = globalThis;
let ready = null;
let loaded = false;
let warned = false;

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
  if (ready && source != null && !warned) {
    warned = true;
    g.console?.warn('[onramp] init(source) came after the module began loading: that load is kept, and source is used only if it fails');
  }
  ready ||= new Promise((resolve) => resolve(source ?? besideThisFile()))
    .then((input) =>
      typeof input === 'string' || input instanceof URL || (g.Request && input instanceof Request) ? fetch(input) : input,
    )
    .then(compile)
    .then((module) => {
      initSync({ module });
      loaded = true;
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
          (source == null ? ': pass its URL or bytes to init() before the first call' : ''),
        cause,
      );
    });
  return ready;
}

// Compiles the module from its bytes, off the main thread. Not
// WebAssembly.compileStreaming: the snippet's preload has the bytes in
// before the loader runs, so streaming overlaps nothing, and cloning the
// response for it costs the page about 2 ms of main-thread time (measured
// in Chromium, scripts/bench.mjs); it also needs the server's
// application/wasm, which this does not.
function compile(source) {
  const W = WebAssembly;
  if (!(g.Response && source instanceof Response)) return source instanceof W.Module ? source : W.compile(source);
  if (!source.ok) throw new Error('HTTP ' + source.status);
  return source.arrayBuffer().then((b) => W.compile(b));
}

// An export of the module, called at once when it is loaded (so that a
// request starts in the caller's task), after init() otherwise.
const forward = (fn) =>
  function forwarded(...args) {
    if (!loaded) return init().then(() => forwarded(...args));
    try {
      return fn(...args);
    } catch (cause) {
      return Promise.reject(onrampError('internal_error', 'onramp-pixel failed unexpectedly', cause));
    }
  };

/**
 * Reports a signup to the OnRamp collector:
 * `createSaasTracking(partnerKey, serviceName, customerId, purchasedAt?)` or
 * `createSaasTracking({ partnerKey, serviceName, customerId, purchasedAt, baseUrl, timeoutMs, transport })`.
 * Never throws; the Promise rejects with an `OnrampError` (`code`, `field`).
 */
export const createSaasTracking = forward(wasmCreate);

/** Sets defaults (`baseUrl`, `partnerKey`, `timeoutMs`, `transport`) for later calls. */
export const configure = forward(wasmConfigure);

/** Sends every tracking waiting in the queue now, backoff or not; resolves `{ sent, waiting }`. */
export const flush = forward(wasmFlush);

/** Whether `error` is an `OnrampError`, what every rejection of the pixel is. */
export const isOnrampError = (error) => error instanceof Error && error.name === 'OnrampError';
