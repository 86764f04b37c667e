// onramp-pixel: the ESM entry of the npm package (and what the loader uses).
// The wasm is loaded lazily and once; once it is loaded, every call starts
// its request synchronously, so a page may navigate away right after it.
import initWasm, {
  createSaasTracking as wasmCreateSaasTracking,
  configure as wasmConfigure,
  flush as wasmFlush,
  resume as wasmResume,
} from './onramp_pixel.js';

let ready = null;
let loaded = false;

function onrampError(code, message, cause) {
  const error = new Error(message, cause === undefined ? undefined : { cause });
  error.name = 'OnrampError';
  error.code = code;
  error.field = null;
  return error;
}

/**
 * Loads and instantiates the wasm module, once. `source` may be a URL, a
 * Response (or a Promise of one), bytes or a WebAssembly.Module; by default
 * the `.wasm` beside this file. Resolves when the pixel is ready.
 */
export function init(source) {
  if (!ready) {
    const input = source ?? new URL('./onramp_pixel_bg.wasm', import.meta.url);
    ready = initWasm({ module_or_path: input }).then(
      () => {
        loaded = true;
        // Trackings left waiting by an earlier page are sent on load, when due.
        wasmResume();
      },
      (cause) => {
        ready = null;
        throw onrampError('load_failed', 'the onramp-pixel WebAssembly module could not be loaded', cause);
      },
    );
  }
  return ready;
}

function call(fn, args) {
  if (!loaded) {
    return init().then(() => call(fn, args));
  }
  try {
    return fn(...args);
  } catch (cause) {
    return Promise.reject(onrampError('internal_error', 'onramp-pixel failed unexpectedly', cause));
  }
}

/**
 * Reports a signup to the OnRamp collector:
 * `createSaasTracking(partnerKey, serviceName, customerId, purchasedAt?)` or
 * `createSaasTracking({ partnerKey, serviceName, customerId, purchasedAt, baseUrl, timeoutMs, transport })`.
 * Never throws; the Promise rejects with an `OnrampError` (`code`, `field`).
 */
export function createSaasTracking(...args) {
  return call(wasmCreateSaasTracking, args.slice(0, 4));
}

/** Sets defaults (`baseUrl`, `partnerKey`, `timeoutMs`, `transport`) for later calls. */
export function configure(options) {
  return call(wasmConfigure, [options]);
}

/** Sends every tracking waiting in the queue now, backoff or not; resolves `{ sent, waiting }`. */
export function flush() {
  return call(wasmFlush, []);
}
