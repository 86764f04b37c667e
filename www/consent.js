// The consent options' checks, shared by the npm entry (index.js) and the
// loader, which answers consent() and configure() itself on a page that
// loads no pixel. The states are the core's (rules.js, generated from
// core/src/options.rs).
import { onrampError } from './errors.js';
import { CONSENT_STATES } from './rules.js';

/** The error of a consent value or a respectGpc that is not one; undefined when both are fine (or absent). */
export const consentError = (value, gpc) =>
  value !== undefined && !CONSENT_STATES.includes(value)
    ? onrampError('invalid_option', 'consent must be "pending", "granted" or "denied"', undefined, 'consent')
    : gpc !== undefined && typeof gpc != 'boolean'
      ? onrampError('invalid_type', 'respectGpc must be a boolean', undefined, 'respectGpc')
      : undefined;
