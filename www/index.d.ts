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
  /**
   * Send only for a visitor the marketplace referred (a referral kept and
   * within its window); another ends `skipped: "not_referred"`. Default `false`.
   */
  requireReferral?: boolean;
}

/** The page's own switches: debug mode words each decision on the console. */
export interface PageOptions {
  debug?: boolean;
}

/** Consent, from the provider's consent tool (`configure()`, `data-consent`, `data-respect-gpc`). */
export interface ConsentOptions {
  /** `"granted"` (default), `"pending"` (calls wait; nothing stored or sent) or `"denied"` (calls end skipped). */
  consent?: 'granted' | 'pending' | 'denied';
  /** Treat a browser sending Global Privacy Control as `"denied"` unless consent was granted explicitly. */
  respectGpc?: boolean;
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

/** What a call resolves to. */
export interface TrackingResult {
  /** The collector accepted it (2xx), the browser took the beacon, or it was accepted before (`alreadySent`). */
  ok: boolean;
  /** `true` when it waits in the queue for a retry (network error, timeout, 408, 425, 429, 5xx). */
  queued: boolean;
  /** `true` when this browser had already delivered this tracking: nothing was sent again. */
  alreadySent?: true;
  /**
   * Why nothing was stored or sent: consent was denied (its `tracking` holds
   * the fields as given, unchecked), or `requireReferral` and the marketplace
   * did not refer the visitor.
   */
  skipped?: 'consent_denied' | 'not_referred';
  /** The visitor's marketplace referral that counted: how it came and when (RFC 3339). */
  referral?: { source: 'param' | 'referrer' | 'server'; at: string };
  /** The collector's HTTP status; `null` for a beacon, an already-sent tracking or no answer. */
  status: number | null;
  /** The collector's answer, parsed when it is JSON; `null` when there is none. */
  body: unknown;
  /** The transport used; `null` when nothing was sent now. */
  transport: 'fetch' | 'beacon' | null;
  /** Why the attempt failed when there was no answer (`network_error` or `timeout`). */
  error?: OnrampError;
  /** When the next attempt is due (RFC 3339), for a queued tracking. */
  retryAt?: string;
  /** What was sent. */
  tracking: Tracking;
  /**
   * `false` when the queue could not store the tracking (storage full or
   * disabled): while it waits for a retry it lives only in this page, and
   * is lost when the page closes. Absent when it was stored.
   */
  persisted?: false;
}

/** What `flush()` resolves to. */
export interface FlushResult {
  /** Trackings the collector accepted during this flush. */
  sent: number;
  /** Trackings still waiting in the queue. */
  waiting: number;
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
  | 'rejected'
  | 'load_failed'
  | 'wasm_blocked'
  | 'internal_error'
  | 'unknown_command';

/** The error a Promise rejects with. */
export interface OnrampError extends Error {
  name: 'OnrampError';
  code: OnrampErrorCode;
  /** The offending field or option name, or `null`. */
  field: string | null;
  /** For `rejected`: the collector's status and answer. */
  status?: number;
  body?: unknown;
}

/**
 * Whether `error` is an `OnrampError` (what every rejection of the pixel
 * is), so that `catch (e) { if (isOnrampError(e)) e.code }` type-checks.
 */
export function isOnrampError(error: unknown): error is OnrampError;

/**
 * A compiled `WebAssembly.Module`, where the project's types know one (the
 * DOM library, or Node's); nothing otherwise. These types name no DOM type,
 * so that they compile in a Node project without the DOM library.
 */
type WasmModule = typeof globalThis extends { WebAssembly: { Module: abstract new (...args: never) => infer M } } ? M : never;

/** What `init()` loads the wasm from. */
export type InitSource =
  /** A URL, as text or a `URL`. */
  | string
  | { readonly href: string }
  /** A `Request`. */
  | { readonly url: string; readonly method: string }
  /** A `Response` (or a Promise of one), as `fetch` answers. */
  | { readonly ok: boolean; arrayBuffer(): Promise<ArrayBuffer> }
  | PromiseLike<{ readonly ok: boolean; arrayBuffer(): Promise<ArrayBuffer> }>
  /** The module's bytes. */
  | ArrayBuffer
  | ArrayBufferView
  | WasmModule;

/**
 * Loads the wasm module once (by default the `.wasm` beside the entry).
 * Called after a load has started (a call loads it lazily), it returns
 * that load; its `source` is used only when the first load failed.
 */
export function init(source?: InitSource): Promise<void>;

/**
 * The options of one call, exactly: a name that is not an option is a type
 * error, for object literals and for objects built beforehand alike.
 */
export type Exact<T, Shape> = T & Shape & Record<Exclude<keyof T, keyof Shape>, never>;

export function createSaasTracking<T extends object>(options: Exact<T, TrackingOptions>): Promise<TrackingResult>;
export function createSaasTracking(
  partnerKey: string | undefined,
  serviceName: string,
  customerId: string,
  purchasedAt?: PurchasedAt,
): Promise<TrackingResult>;

export function configure<T extends object>(options: Exact<T, ConfigureOptions & ConsentOptions & PageOptions>): Promise<void>;

/**
 * Consent from the page's consent tool: `"granted"` sends what waited and
 * what comes, `"denied"` ends what waited as skipped (the pixel does not
 * remember it: say it on every page).
 */
export function consent(value: 'granted' | 'pending' | 'denied'): Promise<void>;

/** Sends every tracking waiting in the queue now, backoff or not. */
export function flush(): Promise<FlushResult>;

/** A Node-style callback of the snippet's commands. */
export type OnrampCallback<R> = (error: OnrampError | null, result?: R) => void;

/**
 * The snippet's global `onramp` (the stub, then the loader): declare it with
 *
 * ```ts
 * import type { Onramp } from 'onramp-pixel';
 * declare global {
 *   var onramp: Onramp;
 * }
 * ```
 */
export interface Onramp {
  (command: 'createSaasTracking', options: TrackingOptions, callback?: OnrampCallback<TrackingResult>): Promise<TrackingResult> | undefined;
  (
    command: 'createSaasTracking',
    partnerKey: string | undefined,
    serviceName: string,
    customerId: string,
    purchasedAt?: PurchasedAt,
    callback?: OnrampCallback<TrackingResult>,
  ): Promise<TrackingResult> | undefined;
  (command: 'configure', options: ConfigureOptions & ConsentOptions & PageOptions, callback?: OnrampCallback<void>): Promise<void> | undefined;
  /** The provider's server referred this visitor (it resolved the marketplace's token); `value`: 1 to 128 of `A–Z a–z 0–9 . _ ~ -`. */
  (command: 'referral', value?: string): Promise<void> | undefined;
  (command: 'consent', value: 'granted' | 'denied', callback?: OnrampCallback<void>): Promise<void> | undefined;
  (command: 'flush', callback?: OnrampCallback<FlushResult>): Promise<FlushResult> | undefined;
  /** Calls the stub keeps until the loader has run. */
  readonly q?: ArrayLike<unknown>[];
  /** `true` once the pixel (pixel.js, fetched by the loader for a page with a call) has taken the queue. */
  readonly loaded?: true;
}
