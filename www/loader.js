/* onramp-pixel loader, on every page with the snippet:
   <script async src=".../loader.js" data-base-url="…" data-partner-key="…">.

   It captures the marketplace's referral as the visitor arrives (a query
   parameter, a referrer host, or the provider's server through
   onramp('referral', value)) and keeps it for its window, in localStorage
   and, with data-cookie-domain, a first-party cookie; the rules are the
   core's (www/referral.js, held to core/src/referral.rs). Nothing is
   written while consent is pending or denied.

   It fetches the pixel (pixel.js and the .wasm beside this file) only when
   the page has work for it: a call, or a tracking waiting in the queue. A
   page without either runs no WebAssembly. Calls wait in the stub's queue
   meanwhile, so that the stub can still send them if the page is left
   first. Debug mode (data-debug, ?onramp_debug=1, configure({ debug:
   true })) fetches debug.js, which words each decision on the console. */
import { consentError, consentNow } from './consent.js';
import { onrampError } from './errors.js';
import { CONSENT_STATES, DAYS, DEBUG, KEY, QUEUE } from './rules.js';
import { days, decode, encode, readKept, replaces, seen, sight, touch, valid } from './referral.js';

((w, d, l) => {
  const stub = w.onramp;
  if (stub?.l) return; // included twice (or once more after the pixel came): the first one serves
  // Its own tag: the snippet's, recognised by its data-base-url, whether it
  // runs as document.currentScript or without it (a type="module" tag, a
  // tag manager or bundler that evaluates it); else the tag running it. Its
  // files are beside it: without a tag, it loads none.
  const current = d.currentScript;
  const script = current?.dataset.baseUrl ? current : d.querySelector('script[data-base-url]') || current;
  const base = script?.src;
  const data = script?.dataset || {};
  const on = (name) => data[name] != null && data[name] != 'false';
  const queued = stub?.q || [];
  const waiting = new Map();
  const leave = stub?.f;
  const first = touch(data.attribution);
  // The visitor's kept referral that counts: the cookie is read only where
  // the page names a cookie domain (document.cookie is a trip to the browser).
  const readNow = (now) => readKept(first, data.cookieDomain, now);
  const noop = () => {};
  // As pixel.js says a rejection without a callback.
  const warn = (error) =>
    console.warn('[onramp] ' + error.code + (error.field ? ' (' + error.field + ')' : '') + ': ' + error.message);
  let consent = data.consent;
  let gpc = on('respectGpc');
  const params = new URLSearchParams(l.search);
  let debug = on('debug') || params.get(DEBUG) == '1';
  let held = null; // a referral seen while consent does not allow keeping it
  let loading = false;
  const events = [];

  // Debug mode: each decision as an event that debug.js words, fetched the
  // first time there is one.
  function say(...event) {
    if (!debug) return;
    events.push(event);
    // debug.js finds the events on its own tag, and prints them (events.p).
    events.p ? events.p() : events.t || ((events.t = add('debug.js', DEBUG_INTEGRITY)).e = events);
  }

  // Pages that enforce Trusted Types take the script's URL through a policy
  // of the pixel's (named onramp-pixel: docs/security.md).
  let policy;
  function add(file, integrity) {
    const tag = d.createElement('script');
    const url = new URL(file, base);
    try {
      policy ??= w.trustedTypes?.createPolicy('onramp-pixel', { createScriptURL: (u) => u });
    } catch (e) {}
    tag.src = policy ? policy.createScriptURL(url) : url;
    tag.integrity = integrity;
    tag.crossOrigin = 'anonymous';
    d.head.append(tag);
    return tag;
  }

  // Consent as index.js reads it (consent.js).
  const consentHolds = () => consentNow(consent, consent == 'granted', gpc, navigator.globalPrivacyControl);

  // Keeps what was seen once consent allows; the parameter leaves the
  // address bar then (unless data-keep-referral-param).
  function keep() {
    if (!held) return;
    // Not allowed: consent is pending, or denied (by the page or GPC).
    if (consentHolds() != 'granted') return say(consentHolds());
    const text = encode(held);
    try {
      localStorage.setItem(KEY, text);
    } catch (e) {}
    if (data.cookieDomain) {
      d.cookie =
        KEY + '=' + text + '; Domain=' + data.cookieDomain + '; Path=/; Max-Age=' + (held.until - held.at) / 1e3 +
        '; SameSite=Lax' + (l.protocol == 'https:' ? '; Secure' : '');
    }
    say('captured', held);
    clean(held.p);
    held = null;
  }

  // Drops the parameter `name` from the address bar, every other part kept.
  function clean(name) {
    if (!name || on('keepReferralParam')) return;
    const rest = l.search
      .slice(1)
      .split('&')
      .filter((pair) => {
        try {
          return decodeURIComponent(pair.split('=')[0].replace(/\+/g, ' ')) != name;
        } catch (e) {
          return true;
        }
      })
      .join('&');
    try {
      history.replaceState(history.state, '', l.pathname + (rest ? '?' + rest : '') + l.hash);
    } catch (e) {}
  }

  // A referral seen now: kept unless an earlier one still counts (first
  // touch), with the window of data-referral-days.
  const span = days(data.referralDays) ?? (say('days', data.referralDays), DAYS);
  function take(source, value, param) {
    if (value != null && !valid(value)) return say('ignored', param, value);
    const now = Date.now();
    const kept = readNow(now);
    if (!replaces(kept, now, first)) return say('stays', kept), consentHolds() == 'granted' && clean(param);
    held = seen(source, value, now, span);
    held.p = param;
    keep();
  }

  // The loader's own commands, and what it must know of the others: a
  // referral from the server is taken here; consent and debug mode are
  // read on their way to the pixel.
  function own([command, options]) {
    if (command == 'referral') return take(2, options), true;
    if (command == 'configure' && options && typeof options == 'object') {
      if ('debug' in options) debug = !!options.debug;
      if (typeof options.respectGpc == 'boolean') gpc = options.respectGpc;
      options = options.consent;
    } else if (command != 'consent') return false;
    if (CONSENT_STATES.includes(options)) consent = options;
    keep();
    return false;
  }

  // A tracking waiting in the queue, from an earlier page.
  function waits() {
    try {
      return Object.keys(localStorage).some((key) => key.startsWith(QUEUE) && JSON.parse(localStorage[key]).acceptedMs == null);
    } catch (e) {}
  }

  // The pixel, once there is work for it. If it cannot come, the calls
  // waiting are answered with why and stay queued: for the stub's send as
  // the page is left, or for the pixel if a later call loads it.
  function load() {
    if (loading || !(waits() || queued.some(([command]) => command != 'configure' && command != 'consent'))) return;
    loading = true;
    say('load');
    base ? (add('pixel.js', PIXEL_INTEGRITY).onerror = fail) : fail();
  }
  function fail() {
    const failure = onrampError('load_failed', base ? 'pixel.js could not be loaded' : "the loader's tag needs data-base-url");
    warn(failure);
    loading = false;
    // Answered once: a pixel that a later call loads sends the call, and
    // calls no callback again.
    for (const [args, [, reject, callback]] of waiting) reject(failure), callback && args.pop()(failure);
    waiting.clear();
  }

  // consent() and configure() on a page that loads no pixel: answered
  // here (their consent options checked as index.js checks them; the rest
  // is checked if a pixel comes); otherwise by the pixel.
  function onramp(...args) {
    const [command, options] = args;
    if (own(args)) return Promise.resolve();
    const settings = command == 'consent' || command == 'configure';
    const callback = typeof args[args.length - 1] == 'function' && args[args.length - 1];
    if (settings && !loading) {
      // Answered here: its callback now, and the pixel, if one comes later,
      // takes the settings without it.
      const error = command == 'consent' ? consentError(options ?? null) : options && consentError(options.consent, options.respectGpc);
      callback ? callback(error || null) : error && warn(error);
      if (!error) queued.push(callback ? args.slice(0, -1) : args);
      const answer = error ? Promise.reject(error) : Promise.resolve();
      answer.catch(noop); // never an unhandled rejection on the host page
      return answer;
    }
    queued.push(args);
    if (leave) w.addEventListener('beforeunload', leave);
    // (pixel.js settles it with the first two; the loader's failure calls the callback too)
    const promise = new Promise((resolve, reject) => waiting.set(args, [resolve, reject, callback]));
    promise.catch(noop);
    load();
    return promise;
  }

  // What pixel.js takes over: the queue, the stub's sender, the promises
  // handed out, the tag's settings, where the files are, the debug lines,
  // the loader's own commands and the kept referral.
  Object.assign(onramp, { l: 1, q: queued, f: leave, w: waiting, c: data, b: base, d: say, own, r: () => readNow() });
  // The stub's send as the page is left honours requireReferral by this.
  if (stub) stub.g = () => !!readNow();
  w.onramp = onramp;

  // What the stub queued before this ran: referrals from the server taken,
  // consent read.
  for (const args of queued.splice(0)) if (!own(args)) queued.push(args);

  // A kept referral whose window is over (or that is not one) goes.
  try {
    const text = localStorage.getItem(KEY);
    if (text && !(decode(text)?.until > Date.now())) localStorage.removeItem(KEY);
  } catch (e) {}

  // The visitor arrives: the first named parameter with a valid value, else
  // a referrer host. Only the named parameters are read: never `token`.
  // The referrer is read only where the page names referrer hosts.
  let host = '';
  try {
    if (data.referrerHosts) host = new URL(d.referrer).hostname;
  } catch (e) {}
  const found = sight((name) => params.get(name), host, data.referralParam, data.referrerHosts);
  for (const name of found.i) say('ignored', name);
  if (found.s != null) take(found.s, found.v, found.p);
  load();
})(window, document, location);
