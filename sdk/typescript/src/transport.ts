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

import {
  AbortedError,
  ConnectionError,
  GatehouseError,
  MalformedAnswerError,
  NotCaughtUpError,
  problemError,
  RequestTimeoutError,
} from "./errors.js";
import type { Problem } from "./types.js";
import { fromWire, parseWire, toWire } from "./wire.js";

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

const retryDefaults = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 2000 };

/** Codes of connection errors that prove the request never reached the server. */
const NEVER_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/** @internal The transport shared by a client and its scoped views. */
export class Transport {
  readonly baseUrl: string;
  readonly token: string | undefined;
  readonly timeoutMs: number;
  readonly retry: Required<RetryPolicy>;
  readonly userAgent: string;
  readonly forwardedFor: string | undefined;
  readonly fetch: FetchLike;
  /** Replaced in tests. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void> = sleep;

  constructor(o: TransportOptions) {
    let u: URL;
    try {
      u = new URL(o.baseUrl);
    } catch {
      throw new GatehouseError(`gatehouse: the server URL must be http:// or https:// with a host (got ${JSON.stringify(o.baseUrl)})`);
    }
    if ((u.protocol !== "http:" && u.protocol !== "https:") || !u.host) {
      throw new GatehouseError(`gatehouse: the server URL must be http:// or https:// with a host (got ${JSON.stringify(o.baseUrl)})`);
    }
    this.baseUrl = (u.origin + u.pathname).replace(/\/+$/, "");
    this.token = o.token;
    this.timeoutMs = o.timeoutMs ?? 30000;
    this.retry = {
      maxAttempts: o.retry?.maxAttempts && o.retry.maxAttempts > 0 ? o.retry.maxAttempts : retryDefaults.maxAttempts,
      baseDelayMs: o.retry?.baseDelayMs && o.retry.baseDelayMs > 0 ? o.retry.baseDelayMs : retryDefaults.baseDelayMs,
      maxDelayMs: o.retry?.maxDelayMs && o.retry.maxDelayMs > 0 ? o.retry.maxDelayMs : retryDefaults.maxDelayMs,
    };
    this.userAgent = o.userAgent ?? "gatehouse-ts-sdk";
    this.forwardedFor = o.forwardedFor;
    const f = o.fetch ?? (globalThis.fetch as FetchLike | undefined);
    if (!f) throw new GatehouseError("gatehouse: no global fetch (Node 18 or later is required), and no fetch option given");
    this.fetch = f;
  }

  /** A copy with other settings, sharing nothing mutable. */
  with(o: Partial<TransportOptions>): Transport {
    const t = new Transport({
      baseUrl: this.baseUrl,
      token: this.token,
      timeoutMs: this.timeoutMs,
      retry: this.retry,
      userAgent: this.userAgent,
      forwardedFor: this.forwardedFor,
      fetch: this.fetch,
      ...o,
    });
    t.sleep = this.sleep;
    return t;
  }

  /** Performs the call and returns its decoded (camelCase) answer. */
  async do<T>(c: Call, opts?: CallOptions): Promise<T> {
    const what = `${c.method} ${c.path}`;
    let url = this.baseUrl + c.path;
    if (c.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(c.query)) {
        if (v !== undefined && v !== "") q.set(k, String(v));
      }
      const s = q.toString();
      if (s) url += "?" + s;
    }
    const headers: Record<string, string> = {
      Accept: "application/json, application/problem+json",
      "User-Agent": this.userAgent,
    };
    let payload: string | undefined;
    if (c.body !== undefined) {
      payload = JSON.stringify(c.wireBody ? c.body : toWire(c.body));
      headers["Content-Type"] = "application/json";
    }
    if (this.token && !c.public) headers.Authorization = "Bearer " + this.token;
    if (this.forwardedFor) headers["X-Forwarded-For"] = this.forwardedFor;
    const idem: Idempotency = c.idem ?? (c.method === "POST" || c.method === "PATCH" ? "write" : "safe");

    // One deadline for the whole call, retries included.
    const timeoutMs = opts?.timeoutMs ?? this.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const ctl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, timeoutMs);
    const outer = opts?.signal;
    const onAbort = () => ctl.abort();
    if (outer) {
      if (outer.aborted) ctl.abort();
      else outer.addEventListener("abort", onAbort, { once: true });
    }
    try {
      for (let attempt = 1; ; attempt++) {
        let res: Response;
        let text: string;
        try {
          // No redirects: the API never answers one, and following it could carry the credential elsewhere.
          res = await this.fetch(url, { method: c.method, headers, body: payload, signal: ctl.signal, redirect: "manual" });
          text = await res.text();
        } catch (err) {
          if (ctl.signal.aborted) throw stopped(what, () => timedOut, timeoutMs, err);
          const code = errorCode(err);
          const e = new ConnectionError(`gatehouse: ${what}: ${code || (err as Error)?.message || "connection failed"}`, { cause: err });
          if (attempt >= this.retry.maxAttempts || !(idem === "safe" || NEVER_SENT.has(code))) throw e;
          const wait = this.backoff(attempt, null);
          if (wait === undefined || Date.now() + wait >= deadline) throw e;
          await this.pause(wait, ctl.signal, what, () => timedOut, timeoutMs);
          continue;
        }
        if (res.status >= 200 && res.status <= 299) {
          // Every answer of the API is a JSON object; anything else is never read as a result.
          let v: unknown;
          try {
            v = c.raw ? JSON.parse(text) : parseWire(text);
          } catch (err) {
            throw new MalformedAnswerError(`gatehouse: ${what}: the answer is not JSON`, { cause: err });
          }
          if (v === null || typeof v !== "object" || Array.isArray(v)) {
            throw new MalformedAnswerError(`gatehouse: ${what}: the answer is not a JSON object`);
          }
          return v as T;
        }
        const perr = problemError(problemOf(res, text), what);
        if (res.status !== 503 || attempt >= this.retry.maxAttempts) throw perr;
        if (idem !== "safe" && !(perr instanceof NotCaughtUpError)) throw perr;
        const wait = this.backoff(attempt, res.headers.get("retry-after"));
        if (wait === undefined || Date.now() + wait >= deadline) throw perr;
        await this.pause(wait, ctl.signal, what, () => timedOut, timeoutMs);
      }
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    }
  }

  private async pause(ms: number, signal: AbortSignal, what: string, timedOut: () => boolean, timeoutMs: number): Promise<void> {
    try {
      await this.sleep(ms, signal);
    } catch (err) {
      throw stopped(what, timedOut, timeoutMs, err);
    }
  }

  /**
   * The wait in ms before attempt+1: full jitter over the exponential
   * backoff, but at least Retry-After; undefined when Retry-After asks for
   * more than maxDelayMs.
   */
  backoff(attempt: number, retryAfter: string | null): number | undefined {
    const ceil = Math.min(this.retry.baseDelayMs * 2 ** Math.min(attempt - 1, 30), this.retry.maxDelayMs);
    let wait = Math.random() * ceil;
    const ra = parseRetryAfter(retryAfter);
    if (ra !== undefined) {
      if (ra > this.retry.maxDelayMs) return undefined;
      wait = Math.max(wait, ra);
    }
    return wait;
  }
}

/** Reads a Retry-After header (seconds or an HTTP date) in ms. */
export function parseRetryAfter(h: string | null): number | undefined {
  if (!h) return undefined;
  const t = h.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const d = Date.parse(t);
  return Number.isNaN(d) ? undefined : Math.max(0, d - Date.now());
}

function stopped(what: string, timedOut: () => boolean, timeoutMs: number, cause: unknown): GatehouseError {
  return timedOut()
    ? new RequestTimeoutError(`gatehouse: ${what}: no answer within ${timeoutMs} ms`, { cause })
    : new AbortedError(`gatehouse: ${what}: aborted`, { cause });
}

/** The problem document of a non-2xx answer, or one made up from its status. */
function problemOf(res: Response, text: string): Problem {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === "object" && typeof (v as { status?: unknown }).status === "number") {
      const p = fromWire<Problem>(v);
      if (typeof p.type !== "string") p.type = "about:blank";
      p.status = res.status; // the status line is the truth
      return p;
    }
  } catch {
    // not a problem document
  }
  const snippet = text.length > 200 ? text.slice(0, 200) + "…" : text;
  return { type: "about:blank", title: res.statusText || "error", status: res.status, detail: snippet || undefined };
}

function errorCode(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return "";
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
