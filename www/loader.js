/* onramp-pixel loader: include with <script async src=".../loader.js" data-base-url="…" data-partner-key="…">.
   Replaces the queue stub window.onramp, replays the calls queued before it loaded, in order.
   The build bundles it with the npm entry and the wasm glue into one classic script, so the
   page makes two requests: this file and the .wasm beside it. */
import { configure, createSaasTracking, flush, init } from './index.js';

(function (w, d) {
  'use strict';
  var stub = w.onramp;
  if (stub && stub.loaded) return; // included twice: the first one serves
  var script = d.currentScript;
  var base = (script && script.src) || d.baseURI;
  var data = (script && script.dataset) || {};
  var queued = (stub && stub.q) || [];
  var waiting = [];
  var api = null;
  var failure = null;
  var noop = function () {};

  function fail(code, message) {
    var e = new Error(message);
    e.name = 'OnrampError';
    e.code = code;
    e.field = null;
    return e;
  }

  function run(args) {
    var list = Array.prototype.slice.call(args);
    var command = list.shift();
    var callback = typeof list[list.length - 1] === 'function' ? list.pop() : null;
    var promise;
    if (failure) promise = Promise.reject(failure);
    else if (command === 'createSaasTracking' || command === 'configure' || command === 'flush') promise = api[command].apply(null, list);
    else promise = Promise.reject(fail('unknown_command', 'unknown onramp command: ' + String(command)));
    if (callback) {
      promise.then(function (result) { callback(null, result); }, function (error) { callback(error); });
    } else {
      promise.catch(function (error) {
        if (w.console) w.console.warn('[onramp] ' + error.code + (error.field ? ' (' + error.field + ')' : '') + ': ' + error.message);
      });
    }
    promise.catch(noop); // never an unhandled rejection on the host page
    return promise;
  }

  function onramp() {
    if (api || failure) return run(arguments);
    var args = arguments;
    var promise = new Promise(function (resolve, reject) { waiting.push([args, resolve, reject]); });
    promise.catch(noop);
    return promise;
  }
  onramp.loaded = true;
  w.onramp = onramp;

  function ready(module) {
    api = module;
    var defaults = {};
    if (data.baseUrl) defaults.baseUrl = data.baseUrl;
    if (data.partnerKey) defaults.partnerKey = data.partnerKey;
    if (data.transport) defaults.transport = data.transport;
    if (data.timeoutMs) defaults.timeoutMs = Number(data.timeoutMs);
    return run(['configure', defaults]).catch(noop);
  }

  function replay() {
    var i;
    for (i = 0; i < queued.length; i++) run(queued[i]);
    for (i = 0; i < waiting.length; i++) run(waiting[i][0]).then(waiting[i][1], waiting[i][2]);
    queued = waiting = [];
  }

  // The build writes the wasm's SHA-384 here: a .wasm that does not match it
  // is refused (Subresource Integrity), as the page's integrity attribute
  // does for this file.
  init(fetch(new URL('onramp_pixel_bg.wasm', base).href, { integrity: WASM_INTEGRITY }))
    .then(function () { return ready({ configure: configure, createSaasTracking: createSaasTracking, flush: flush }); })
    .catch(function (cause) {
      failure = cause && cause.code ? cause : fail('load_failed', 'the onramp-pixel module could not be loaded');
      if (w.console) w.console.warn('[onramp] ' + failure.code + ': ' + failure.message);
    })
    .then(replay);
})(window, document);
