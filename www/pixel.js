/* onramp-pixel's sender: what the loader (loader.js) fetches beside itself
   once a page has work for the pixel (a call, or a tracking waiting in the
   queue), with the .wasm. Replaces the loader's window.onramp and replays
   the calls queued before it loaded, in order. The build bundles it with
   the npm entry and the wasm glue into one classic script. */
import { onrampError } from './errors.js';
import { configure, consent, createSaasTracking, flush, init } from './index.js';

((w) => {
  // The loader's onramp: its queue, the stub's leave-time sender, the
  // promises it handed out for queued calls, the loader tag's settings and
  // where the files are, its debug lines.
  const loader = w.onramp;
  if (!loader || loader.loaded) return; // loaded twice, or without the loader
  const { q: queued, f: leave, w: waiting, c: data, b: base, d: debug } = loader;
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
    // Debug mode's lines, from what each call came to (debug.js words them).
    promise.then(
      (result) => debug(command, result, list[0]),
      (error) => debug('error', error),
    );
    if (callback) promise.then((result) => callback(null, result), callback);
    else promise.catch(warn);
    promise.catch(noop); // never an unhandled rejection on the host page
    return promise;
  }

  function onramp(...args) {
    // The loader's own commands (a referral from the server) stay its own.
    if (loader.own(args)) return Promise.resolve();
    if (ready) return run(args);
    queued.push(args);
    if (leave) w.addEventListener('beforeunload', leave);
    if (failure) return run(args);
    const promise = new Promise((resolve, reject) => waiting.set(args, [resolve, reject]));
    promise.catch(noop);
    return promise;
  }
  onramp.l = onramp.loaded = true;
  onramp.q = queued;
  onramp.r = loader.r; // the visitor's kept referral, for the gate (index.js)
  w.onramp = onramp;

  // In order; a call the stub already sent as the page was left is gone
  // from the queue. When the module could not load, each call is answered
  // with why, and stays queued (the calls made after it too) for the stub's
  // send as the page is left: a failure to load drops none that could still
  // be sent.
  function replay() {
    for (const args of failure ? [...queued] : queued.splice(0)) {
      const promise = run(args);
      const settle = waiting.get(args);
      if (settle) promise.then(...settle);
    }
    waiting.clear();
    if (leave && !failure) w.removeEventListener('beforeunload', leave);
  }

  // Consent before the module can start (index.js): data-consent and
  // data-respect-gpc (a switch: on when present, unless "false").
  const early = {};
  for (const name of ['consent', 'respectGpc']) {
    if (data[name] != null) early[name] = name == 'consent' ? data[name] : data[name] != 'false';
  }
  configure(early).catch(warn);

  // The build writes the wasm's SHA-256 here: a .wasm that does not match it
  // is refused (Subresource Integrity), as the page's integrity attribute
  // does for the loader, and the loader for this file.
  init(fetch(new URL('onramp_pixel_bg.wasm', base).href, { integrity: WASM_INTEGRITY }))
    .then(() => {
      ready = true;
      // The defaults of the script tag's data-* attributes.
      const defaults = {};
      for (const name of ['baseUrl', 'partnerKey', 'transport', 'timeoutMs', 'requireReferral']) {
        const value = data[name];
        if (value != null && (value || name == 'requireReferral')) {
          defaults[name] = name == 'timeoutMs' ? Number(value) : name == 'requireReferral' ? value != 'false' : value;
        }
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
})(window);
