/** A tracking the collector took, as the sandbox stores it. */
export interface StoredTracking {
  id: number;
  partnerKey: string;
  serviceName: string;
  customerId: string;
  /** RFC 3339 UTC with milliseconds. */
  purchasedAt: string;
  receivedAt: string;
  /** How many times it was POSTed (1 the first time; a repeat answers 200). */
  deliveries: number;
  /** The POST's `Origin`, or `null`. */
  origin: string | null;
}

/** A refused submission: the error answer's fields, its status, when it came and (the start of) its body. */
export interface RejectedSubmission {
  code: string;
  field: string | null;
  message: string;
  status: number;
  receivedAt: string;
  body: string;
}

/** A fault for the next POSTs: an error status (with Retry-After) and/or a delay. */
export interface Fault {
  status?: number;
  retryAfter?: number | string;
  delayMs?: number;
  /** How many POSTs it applies to (default 1). */
  times?: number;
}

export interface Collector {
  /** Point the snippet's `data-base-url` (or `configure({ baseUrl })`) here. */
  readonly baseUrl: string;
  trackings(): StoredTracking[];
  rejected(): RejectedSubmission[];
  /** The first tracking matching the fields given (or the predicate); rejects after `timeoutMs` (default 10 s). */
  waitForTracking(match: Partial<StoredTracking> | ((tracking: StoredTracking) => boolean), options?: { timeoutMs?: number }): Promise<StoredTracking>;
  fault(fault: Fault): void;
  reset(): void;
  close(): Promise<void>;
}

/** Starts a local collector that speaks the OnRamp API as the sandbox does, with the same rules. */
export function startCollector(options?: { port?: number }): Promise<Collector>;
