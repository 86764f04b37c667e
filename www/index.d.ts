/** How the tracking leaves the page. */
export type Transport = 'auto' | 'fetch' | 'beacon';

/** `purchasedAt`: ISO 8601 / RFC 3339 text, `YYYY-MM-DD`, a Date or epoch milliseconds. */
export type PurchasedAt = string | Date | number;

/** Defaults for every later call. */
export interface ConfigureOptions {
  /** The collector's base URL: `https://…` (plain `http://` only for loopback). */
  baseUrl?: string;
  /** The partner key issued to the provider at onboarding (public, not a secret). */
  partnerKey?: string;
  /** Timeout of each request in milliseconds (1 to 600000; default 60000). */
  timeoutMs?: number;
  /** `"auto"` (default), `"fetch"` or `"beacon"`. */
  transport?: Transport;
}

/** One tracking and, optionally, options for this call only. */
export interface TrackingOptions extends ConfigureOptions {
  serviceName: string;
  customerId: string;
  /** When the account was purchased; the time of the call when omitted. */
  purchasedAt?: PurchasedAt;
}

/** The body that was sent, normalised. */
export interface Tracking {
  partnerKey: string;
  serviceName: string;
  customerId: string;
  /** RFC 3339 UTC with milliseconds, e.g. `2026-11-26T18:43:01.000Z`. */
  purchasedAt: string;
}

/** What a call resolves to once the request was sent. */
export interface TrackingResult {
  /** The collector accepted it (2xx), or the browser took the beacon. */
  ok: boolean;
  /** The collector's HTTP status; `null` for a beacon, whose answer is not visible. */
  status: number | null;
  /** The collector's answer, parsed when it is JSON; `null` for a beacon or an empty body. */
  body: unknown;
  /** The transport actually used. */
  transport: 'fetch' | 'beacon';
  /** What was sent. */
  tracking: Tracking;
}

/** Stable error codes; see the README. */
export type OnrampErrorCode =
  | 'missing_field'
  | 'invalid_type'
  | 'empty_field'
  | 'too_long'
  | 'invalid_characters'
  | 'invalid_date'
  | 'date_out_of_range'
  | 'invalid_base_url'
  | 'insecure_base_url'
  | 'invalid_option'
  | 'unknown_option'
  | 'transport_unavailable'
  | 'network_error'
  | 'timeout'
  | 'load_failed'
  | 'internal_error'
  | 'unknown_command';

/** The error a Promise rejects with. */
export interface OnrampError extends Error {
  name: 'OnrampError';
  code: OnrampErrorCode;
  /** The offending field or option name, or `null`. */
  field: string | null;
}

/** Loads the wasm module once (by default the `.wasm` beside the entry). */
export function init(
  source?: URL | string | Request | Response | BufferSource | WebAssembly.Module,
): Promise<void>;

export function createSaasTracking(options: TrackingOptions & { partnerKey?: string }): Promise<TrackingResult>;
export function createSaasTracking(
  partnerKey: string | undefined,
  serviceName: string,
  customerId: string,
  purchasedAt?: PurchasedAt,
): Promise<TrackingResult>;

export function configure(options: ConfigureOptions): Promise<void>;
