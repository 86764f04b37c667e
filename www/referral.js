// The referral rules of onramp-core (core/src/referral.rs) in JS, for the
// loader's capture on every page: its constants come from the table the
// build generates from Rust (rules.js), and tests/e2e/referral.test.mjs
// holds each function to the core's answers over one table of cases
// (`cargo run -p onramp-core --example js-rules cases`). A kept referral
// is `{ s, at, until, v }`: the source's index in SOURCES, its times
// (epoch ms) and its value, if any.
import { DAY_MS, DAYS, KEY, LETTERS, MAX_DAYS, NEVER, PARAM, VALUE } from './rules.js';

/** A referral value: 1 to 128 characters of A–Z a–z 0–9 . _ ~ - */
export const valid = (value) => VALUE.test(value);

const list = (attribute) =>
  (attribute || '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name);

/** The parameter names of data-referral-param, never `token`. */
export const names = (attribute, found = list(attribute)) =>
  (found.length ? found : [PARAM]).filter((name) => name.toLowerCase() != NEVER);

/** The window of data-referral-days in days; null when it is not one. */
export const days = (attribute) =>
  attribute == null ? DAYS : /^[1-9]\d{0,2}$/.test(attribute) && attribute <= MAX_DAYS ? +attribute : null;

/** Whether the referrer's host is one of data-referrer-hosts or under one. */
export const fromHosts = (host, attribute) =>
  list(attribute).some((h) => ((host = host.toLowerCase()), (h = h.toLowerCase()), host == h || host.endsWith('.' + h)));

/** Whether first touch counts (data-attribution is not "last"). */
export const touch = (attribution) => attribution != 'last';

/** Reads a kept referral, `source:at:until[:value]`; null when it is not one. */
export function decode(text) {
  const parts = String(text).split(':');
  const [letter, at, until, v] = parts;
  const ms = /^\d{1,15}$/;
  const s = LETTERS.indexOf(letter);
  return parts.length < 5 &&
    letter.length == 1 &&
    s >= 0 &&
    ms.test(at) &&
    ms.test(until) &&
    +at < +until &&
    until - at <= MAX_DAYS * DAY_MS &&
    (v == null || valid(v))
    ? { s, at: +at, until: +until, v }
    : null;
}

/** The kept form of a referral. */
export const encode = (r) => LETTERS[r.s] + ':' + r.at + ':' + r.until + (r.v ? ':' + r.v : '');

/** A referral seen now, kept for `window` days. */
export const seen = (s, v, now, window) => ({ s, at: now, until: now + window * DAY_MS, v });

const active = (r, now) => r && now < r.until;

/** Whether a new referral replaces the kept one. */
export const replaces = (kept, now, first) => !first || !active(kept, now);

/** Of the one in localStorage and the one in the cookie, the one that counts. */
export function pick(a, b, now, first) {
  a = active(a, now) ? a : null;
  b = active(b, now) ? b : null;
  return a && b ? ((b.at < a.at) == first ? b : a) : a || b;
}

/**
 * What a landing page shows: the first named parameter with a valid value
 * (`get`, URLSearchParams' get: only the named parameters are read), else a
 * referrer host; with the named parameters whose value was ignored.
 */
export function sight(get, host, paramAttribute, hostsAttribute) {
  const found = { s: null, p: null, v: null, i: [] };
  for (const name of names(paramAttribute)) {
    const value = get(name);
    if (value != null) {
      if (valid(value)) return { ...found, s: 0, p: name, v: value };
      found.i.push(name);
    }
  }
  if (host && fromHosts(host, hostsAttribute)) found.s = 1;
  return found;
}

/**
 * The visitor's kept referral that counts now: localStorage's, or the
 * cookie's where `cookies` (reading document.cookie costs the page a trip to
 * the browser: the loader reads it only where the page names a cookie domain).
 */
export function readKept(first, cookies, now = Date.now()) {
  let a, b;
  try {
    a = decode(localStorage.getItem(KEY));
  } catch (e) {}
  try {
    b = cookies && decode(document.cookie.split('; ').find((c) => c.startsWith(KEY + '='))?.slice(KEY.length + 1));
  } catch (e) {}
  return pick(a, b, now, first);
}
