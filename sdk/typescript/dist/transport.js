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
import { AbortedError, ConnectionError, GatehouseError, MalformedAnswerError, NotCaughtUpError, problemError, RequestTimeoutError, } from "./errors.js";
import { fromWire, parseWire, toWire } from "./wire.js";
const retryDefaults = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 2000 };
/** Codes of connection errors that prove the request never reached the server. */
const NEVER_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
/** @internal The transport shared by a client and its scoped views. */
export class Transport {
    baseUrl;
    token;
    timeoutMs;
    retry;
    userAgent;
    forwardedFor;
    fetch;
    /** Replaced in tests. */
    sleep = sleep;
    constructor(o) {
        let u;
        try {
            u = new URL(o.baseUrl);
        }
        catch {
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
        const f = o.fetch ?? globalThis.fetch;
        if (!f)
            throw new GatehouseError("gatehouse: no global fetch (Node 18 or later is required), and no fetch option given");
        this.fetch = f;
    }
    /** A copy with other settings, sharing nothing mutable. */
    with(o) {
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
    async do(c, opts) {
        const what = `${c.method} ${c.path}`;
        let url = this.baseUrl + c.path;
        if (c.query) {
            const q = new URLSearchParams();
            for (const [k, v] of Object.entries(c.query)) {
                if (v !== undefined && v !== "")
                    q.set(k, String(v));
            }
            const s = q.toString();
            if (s)
                url += "?" + s;
        }
        const headers = {
            Accept: "application/json, application/problem+json",
            "User-Agent": this.userAgent,
        };
        let payload;
        if (c.body !== undefined) {
            payload = JSON.stringify(c.wireBody ? c.body : toWire(c.body));
            headers["Content-Type"] = "application/json";
        }
        if (this.token && !c.public)
            headers.Authorization = "Bearer " + this.token;
        if (this.forwardedFor)
            headers["X-Forwarded-For"] = this.forwardedFor;
        const idem = c.idem ?? (c.method === "POST" || c.method === "PATCH" ? "write" : "safe");
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
            if (outer.aborted)
                ctl.abort();
            else
                outer.addEventListener("abort", onAbort, { once: true });
        }
        try {
            for (let attempt = 1;; attempt++) {
                let res;
                let text;
                try {
                    // No redirects: the API never answers one, and following it could carry the credential elsewhere.
                    res = await this.fetch(url, { method: c.method, headers, body: payload, signal: ctl.signal, redirect: "manual" });
                    text = await res.text();
                }
                catch (err) {
                    if (ctl.signal.aborted)
                        throw stopped(what, () => timedOut, timeoutMs, err);
                    const code = errorCode(err);
                    const e = new ConnectionError(`gatehouse: ${what}: ${code || err?.message || "connection failed"}`, { cause: err });
                    if (attempt >= this.retry.maxAttempts || !(idem === "safe" || NEVER_SENT.has(code)))
                        throw e;
                    const wait = this.backoff(attempt, null);
                    if (wait === undefined || Date.now() + wait >= deadline)
                        throw e;
                    await this.pause(wait, ctl.signal, what, () => timedOut, timeoutMs);
                    continue;
                }
                if (res.status >= 200 && res.status <= 299) {
                    // Every answer of the API is a JSON object; anything else is never read as a result.
                    let v;
                    try {
                        v = c.raw ? JSON.parse(text) : parseWire(text);
                    }
                    catch (err) {
                        throw new MalformedAnswerError(`gatehouse: ${what}: the answer is not JSON`, { cause: err });
                    }
                    if (v === null || typeof v !== "object" || Array.isArray(v)) {
                        throw new MalformedAnswerError(`gatehouse: ${what}: the answer is not a JSON object`);
                    }
                    return v;
                }
                const perr = problemError(problemOf(res, text), what);
                if (res.status !== 503 || attempt >= this.retry.maxAttempts)
                    throw perr;
                if (idem !== "safe" && !(perr instanceof NotCaughtUpError))
                    throw perr;
                const wait = this.backoff(attempt, res.headers.get("retry-after"));
                if (wait === undefined || Date.now() + wait >= deadline)
                    throw perr;
                await this.pause(wait, ctl.signal, what, () => timedOut, timeoutMs);
            }
        }
        finally {
            clearTimeout(timer);
            outer?.removeEventListener("abort", onAbort);
        }
    }
    async pause(ms, signal, what, timedOut, timeoutMs) {
        try {
            await this.sleep(ms, signal);
        }
        catch (err) {
            throw stopped(what, timedOut, timeoutMs, err);
        }
    }
    /**
     * The wait in ms before attempt+1: full jitter over the exponential
     * backoff, but at least Retry-After; undefined when Retry-After asks for
     * more than maxDelayMs.
     */
    backoff(attempt, retryAfter) {
        const ceil = Math.min(this.retry.baseDelayMs * 2 ** Math.min(attempt - 1, 30), this.retry.maxDelayMs);
        let wait = Math.random() * ceil;
        const ra = parseRetryAfter(retryAfter);
        if (ra !== undefined) {
            if (ra > this.retry.maxDelayMs)
                return undefined;
            wait = Math.max(wait, ra);
        }
        return wait;
    }
}
/** Reads a Retry-After header (seconds or an HTTP date) in ms. */
export function parseRetryAfter(h) {
    if (!h)
        return undefined;
    const t = h.trim();
    if (/^\d+$/.test(t))
        return Number(t) * 1000;
    const d = Date.parse(t);
    return Number.isNaN(d) ? undefined : Math.max(0, d - Date.now());
}
function stopped(what, timedOut, timeoutMs, cause) {
    return timedOut()
        ? new RequestTimeoutError(`gatehouse: ${what}: no answer within ${timeoutMs} ms`, { cause })
        : new AbortedError(`gatehouse: ${what}: aborted`, { cause });
}
/** The problem document of a non-2xx answer, or one made up from its status. */
function problemOf(res, text) {
    try {
        const v = JSON.parse(text);
        if (v && typeof v === "object" && typeof v.status === "number") {
            const p = fromWire(v);
            if (typeof p.type !== "string")
                p.type = "about:blank";
            p.status = res.status; // the status line is the truth
            return p;
        }
    }
    catch {
        // not a problem document
    }
    const snippet = text.length > 200 ? text.slice(0, 200) + "…" : text;
    return { type: "about:blank", title: res.statusText || "error", status: res.status, detail: snippet || undefined };
}
function errorCode(err) {
    let e = err;
    for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
        const code = e.code;
        if (typeof code === "string")
            return code;
        e = e.cause;
    }
    return "";
}
function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
        if (signal.aborted)
            return reject(signal.reason);
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
