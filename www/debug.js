/* onramp-pixel's debug mode: the words for the loader's and the pixel's
   decisions, one console line each, prefixed [onramp]. The loader fetches
   this file only when debug mode is on (data-debug, ?onramp_debug=1,
   configure({ debug: true })): production pages never download it. */
import { SOURCES } from './rules.js';

((events) => {
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  const from = { param: 'the address', referrer: 'the referrer', server: "the provider's server" };
  const referral = (r) =>
    from[SOURCES[r.s]] + (r.p ? ' (' + r.p + '=' + r.v + ')' : r.v ? ' (' + r.v + ')' : '') + ', kept until ' + day(r.until);
  const lines = {
    captured: (r) => 'referral captured from ' + referral(r),
    stays: (r) => 'referral seen, but an earlier one counts until ' + day(r.until) + ' (first touch)',
    ignored: (name) => 'referral parameter ' + name + ' ignored: its value is not 1 to 128 characters of A-Z a-z 0-9 . _ ~ -',
    days: (value) => 'data-referral-days="' + value + '" ignored: a whole number of days from 1 to 365 is expected; 30 counts',
    pending: () => "referral held in this page's memory until consent is granted",
    denied: () => 'referral not kept: no consent',
    load: () => 'a call or a waiting tracking: loading the pixel',
    error: (e) => 'call refused: ' + e.code + (e.field ? ' (' + e.field + ')' : '') + ': ' + e.message,
    flush: (r) => 'flush: ' + r.sent + ' sent, ' + r.waiting + ' waiting',
    createSaasTracking: (r) =>
      r.skipped == 'not_referred'
        ? 'tracking skipped: the marketplace did not refer this visitor (requireReferral)'
        : r.skipped
          ? 'tracking skipped: no consent'
          : r.alreadySent
            ? 'tracking sent before from this browser: not sent again'
            : r.ok
              ? 'tracking sent (' + r.transport + (r.status ? ', HTTP ' + r.status : '') + ')' +
                (r.referral ? ', referred by ' + r.referral.source + ' on ' + r.referral.at.slice(0, 10) : '')
              : 'tracking queued' + (r.error ? ' (' + r.error.code + ')' : r.status ? ' (HTTP ' + r.status + ')' : '') +
                (r.retryAt ? ', retry at ' + r.retryAt : ''),
  };
  events.p = () => {
    for (let event; (event = events.shift()); ) {
      const line = lines[event[0]];
      if (line) console.info('[onramp] ' + line(...event.slice(1)));
    }
  };
  events.p();
})(document.currentScript.e);
