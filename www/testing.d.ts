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

/** The sandbox's error answer: `{ error: { code, field, message } }`. */
export interface Problem {
  code: string;
  field: string | null;
  message: string;
}

/** A refused submission (as `GET /_sandbox/rejected` lists it). */
export interface RejectedSubmission {
  error: Problem;
  receivedAt: string;
  /** 400 (not JSON) or 422 (a tracking the rules refuse). */
  status: number;
  /** The body as received (its first 2,000 characters). */
  body: string;
  origin: string | null;
}

/** One POST of a tracking and what it got (as `GET /_sandbox/attempts` lists it). */
export interface Attempt {
  at: string;
  /** The body's `customerId`, whatever it was (`null` when there was none). */
  customerId: unknown;
  /** The status answered; `null` when the connection was dropped. */
  status: number | null;
  outcome: 'handled' | 'fault' | 'dropped';
  origin: string | null;
}

/** A fault for the next POSTs, as `POST /_sandbox/faults` takes it: an error status (with Retry-After), a delay, or a dropped connection. */
export interface Fault {
  /** 100 to 599. */
  status?: number;
  /** Whole seconds or an HTTP date; only with `status`. */
  retryAfter?: number | string;
  /** Wait this long first (up to 600,000). */
  delayMs?: number;
  /** Close the connection without an answer (nothing is stored). */
  drop?: boolean;
  /** How many POSTs it applies to (default 1). */
  times?: number;
}

/** A fault as it is queued (every option filled in). */
export interface PendingFault {
  status: number | null;
  retryAfter: string | null;
  delayMs: number;
  drop: boolean;
  times: number;
}

type Match<T> = Partial<T> | ((record: T) => boolean);

export interface Collector {
  /** `http://127.0.0.1:PORT`: point the snippet's `data-base-url` (or `configure({ baseUrl })`) here. */
  readonly baseUrl: string;
  /** The trackings taken (those matching `match`), oldest first. */
  trackings(match?: Match<StoredTracking>): StoredTracking[];
  /** The refused submissions, oldest first. */
  rejected(match?: Match<RejectedSubmission>): RejectedSubmission[];
  /** Every POST of a tracking, oldest first. */
  attempts(match?: Match<Attempt>): Attempt[];
  /** The first tracking matching the fields given (or the predicate); rejects after `timeoutMs` (default 10 s). */
  waitForTracking(match: Match<StoredTracking>, options?: { timeoutMs?: number }): Promise<StoredTracking>;
  /** Resolves once no request has been in progress or arrived for `quietMs` (default 300): after the page is left, when a duplicate would have come. */
  settled(options?: { quietMs?: number }): Promise<void>;
  /** Queues faults for the next POSTs; throws a TypeError (`invalid_fault: ...`) for one the sandbox would refuse. */
  fault(fault: Fault | Fault[]): void;
  /** The faults still to apply. */
  faults(): PendingFault[];
  /** Forgets trackings, refusals, attempts and faults. */
  reset(): void;
  close(): Promise<void>;
}

/** Starts a local collector that speaks the OnRamp API as the sandbox does, with the same rules. */
export function startCollector(options?: { port?: number }): Promise<Collector>;
