/**
 * The HTTP transport: one call = one or more attempts with global `fetch`.
 *
 * Invariants:
 * - Fail closed: only a 2xx answer whose body decodes is returned; every
 *   other outcome is thrown as a GatehouseError subclass.
 * - Retries are bounded (`maxAttempts`) and never past the call's
 *   deadline, and only where they cannot repeat a write: idempotent calls
 *   (reads, decisions, PUT, DELETE) are retried on 503 and on connection
 *   errors; a non-idempotent write (a POST that creates, a PATCH) only on
 *   503 not-caught-up, which the server answers before it writes, and on a
 *   refused connection, which never reached it.
 * - The credential is sent only in the Authorization header and never
 *   appears in an error.
 *
 * @module
 */
/** Bounds the retries of 503 answers and connection errors. */
export interface RetryPolicy {
    /** Total attempts, the first included (default 4; 1 disables retries). */
    maxAttempts?: number;
    /** Backoff before the second attempt in ms (default 100); it doubles, each wait drawn uniformly from [0, backoff]. */
    baseDelayMs?: number;
    /** Caps each wait in ms (default 2000); a longer Retry-After ends the retries. */
    maxDelayMs?: number;
}
/** The fetch function the client uses (global fetch by default). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;
/** How the transport talks to one server. */
export interface TransportOptions {
    /** The server's base URL ("http://127.0.0.1:8080"). */
    baseUrl: string;
    /** The bearer credential: an API key (gth_…) or a session token. */
    token?: string;
    /** Per-call timeout in ms, retries included (default 30000). */
    timeoutMs?: number;
    /** The retry policy. */
    retry?: RetryPolicy;
    /** The User-Agent header (default "gatehouse-ts-sdk"). */
    userAgent?: string;
    /** A fetch implementation (default: global fetch). */
    fetch?: FetchLike;
    /** Sent as X-Forwarded-For: the end user this host relays for. */
    forwardedFor?: string;
}
/** Options every call accepts. */
export interface CallOptions {
    /** Aborts the call. */
    signal?: AbortSignal;
    /** Overrides the client's timeout for this call (ms). */
    timeoutMs?: number;
}
/** Whether a call may be repeated: see the module's invariants. */
export type Idempotency = "safe" | "write";
/** One API call. */
export interface Call {
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
    /** The path, segments already escaped. */
    path: string;
    /** Query parameters; undefined and "" are left out. */
    query?: Record<string, string | number | boolean | undefined>;
    /** The body (camelCase; converted to snake_case). */
    body?: unknown;
    /** Default: "safe" for GET, PUT and DELETE, "write" otherwise. */
    idem?: Idempotency;
    /** Send no credential. */
    public?: boolean;
    /** Decode the 2xx body as it is (no name conversion). */
    raw?: boolean;
    /** The body already in wire form (snake_case): sent without conversion. */
    wireBody?: boolean;
}
/** Reads a Retry-After header (seconds or an HTTP date) in ms. */
export declare function parseRetryAfter(h: string | null): number | undefined;
