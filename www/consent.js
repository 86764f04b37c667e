// The consent rule and the consent options' checks, shared by the npm
// entry (index.js) and the loader, which answers consent() and configure() itself on a page that
// loads no pixel. The states are the core's (rules.js, generated from
// core/src/options.rs).
import { onrampError } from './errors.js';
import { CONSENT_STATES } from './rules.js';

/**
 * The consent that holds: "denied" when the page denied it, or when the
 * page respects Global Privacy Control, the browser sends it and the page
 * never granted consent itself; else "pending" while the page says so;
 * else "granted" (core/src/options.rs, consent_now; held to it by the
 * generated cases in tests/e2e/referral.test.mjs).
 */
export const consentNow = (state, granted, respectGpc, gpc) =>
  state == 'denied' || (respectGpc && gpc && !granted) ? 'denied' : state == 'pending' ? 'pending' : 'granted';

/** The error of a consent value or a respectGpc that is not one; undefined when both are fine (or absent). */
export const consentError = (value, gpc) =>
  value !== undefined && !CONSENT_STATES.includes(value)
    ? onrampError('invalid_option', 'consent must be "pending", "granted" or "denied"', undefined, 'consent')
    : gpc !== undefined && typeof gpc != 'boolean'
      ? onrampError('invalid_type', 'respectGpc must be a boolean', undefined, 'respectGpc')
      : undefined;
