/* onramp-pixel loader: include with <script async src=".../loader.js" data-base-url="…" data-partner-key="…">.
   Replaces the queue stub window.onramp, replays the calls queued before it loaded, in order.
   The build bundles it with the npm entry and the wasm glue into one classic script, so the
   page makes two requests: this file and the .wasm beside it. */
import { onrampError } from './errors.js';
import { configure, consent, createSaasTracking, flush, init } from './index.js';

((w, d) => {
  const stub = w.onramp;
  if (stub && stub.loaded) return; // included twice: the first one serves
  const script = d.currentScript;
  const base = (script && script.src) || d.baseURI;
  const data = (script && script.dataset) || {};
  // Calls wait in the stub's own queue until the wasm is ready, so that the
  // stub can still send them if the page is left before that.
  const queued = (stub && stub.q) || [];
  const waiting = new Map();
  // The stub's sender, listening to beforeunload while calls wait.
  const leave = stub && stub.f;
  let ready = false;
  let failure = null;
  const noop = () => {};
  const warn = (error) =>
    w.console?.warn('[onramp] ' + error.code + (error.field ? ' (' + error.field + ')' : '') + ': ' + error.message);
  // No prototype: a command is one of these names, nothing inherited.
  const api = { __proto__: null, configure, consent, createSaasTracking, flush };

  function run(args) {
    const [command, ...list] = args;
    const callback = typeof list[list.length - 1] === 'function' ? list.pop() : null;
    const promise = failure
      ? Promise.reject(failure)
      : api[command]
        ? api[command](...list)
        : Promise.reject(onrampError('unknown_command', 'unknown onramp command: ' + String(command)));
    if (callback) promise.then((result) => callback(null, result), callback);
    else promise.catch(warn);
    promise.catch(noop); // never an unhandled rejection on the host page
    return promise;
  }

  function onramp(...args) {
    if (ready || failure) return run(args);
    queued.push(args);
    if (leave) w.addEventListener('beforeunload', leave);
    const promise = new Promise((resolve, reject) => waiting.set(args, [resolve, reject]));
    promise.catch(noop);
    return promise;
  }
  onramp.loaded = true;
  w.onramp = onramp;

  // In order; a call the stub already sent as the page was left is gone
  // from the queue.
  function replay() {
    for (const args of queued.splice(0)) {
      const promise = run(args);
      const settle = waiting.get(args);
      if (settle) promise.then(...settle);
    }
    waiting.clear();
    if (leave) w.removeEventListener('beforeunload', leave);
  }

  // Consent before the module can start (index.js): data-consent and
  // data-respect-gpc (a switch: on when present, unless "false").
  const early = {};
  for (const name of ['consent', 'respectGpc']) {
    if (data[name] != null) early[name] = name == 'consent' ? data[name] : data[name] != 'false';
  }
  configure(early).catch(warn);

  // The build writes the wasm's SHA-384 here: a .wasm that does not match it
  // is refused (Subresource Integrity), as the page's integrity attribute
  // does for this file.
  init(fetch(new URL('onramp_pixel_bg.wasm', base).href, { integrity: WASM_INTEGRITY }))
    .then(() => {
      ready = true;
      // The defaults of the script tag's data-* attributes.
      const defaults = {};
      for (const name of ['baseUrl', 'partnerKey', 'transport', 'timeoutMs']) {
        if (data[name]) defaults[name] = name === 'timeoutMs' ? Number(data[name]) : data[name];
      }
      // Not awaited: while consent is pending it waits (index.js), and the
      // calls queued after it wait behind it.
      run(['configure', defaults]).catch(noop);
    })
    .catch((cause) => {
      failure = cause && cause.code ? cause : onrampError('load_failed', 'the onramp-pixel module could not be loaded', cause);
      warn(failure);
    })
    .then(replay);
})(window, document);
