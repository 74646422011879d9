/**
 * HTTP middleware for Node's `http` and Express-style `(req, res, next)`
 * stacks: the next handler runs only when Gatehouse allows the caller the
 * permission on the request's resource.
 *
 * The caller is, by default, the request's own bearer token (a Gatehouse
 * API key or session): the check is made with that token about itself,
 * so the host needs no credential of its own. With `principal` the host
 * resolves the caller itself and the check is made with the configured
 * client's credential (which then needs bindings:read).
 *
 * Answers, fail closed (all problem+json):
 * - 401 with `WWW-Authenticate` when there is no caller (no or a bad token,
 *   one not even shaped like a Gatehouse credential answered without
 *   asking; `principal` resolved none);
 * - `deniedStatus` (default 403; seed 000's stack uses 401) when Gatehouse
 *   denies, when the caller is not in the org, when the request names a
 *   malformed resource, or when the decision needs an approval;
 * - 503 when no decision could be made (unreachable, slow, rate limited,
 *   misconfigured). Never a pass-through.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Gatehouse } from "./client.js";
import type { CheckResponse, JsonObject } from "./types.js";
/** A value, or a function of the request giving it (maybe asynchronously). */
export type FromRequest<Req, T> = T | ((req: Req) => T | Promise<T>);
/** The resource a request acts on. */
export interface RequestTarget {
    /** The namespace ("default" when omitted). */
    namespace?: string;
    /** "<type>/<id>", or omitted for the type in the namespace. */
    resource?: string;
}
/** Configures {@link requireHttp}. */
export interface MiddlewareOptions<Req extends IncomingMessage = IncomingMessage> {
    /** The client that reaches Gatehouse (its token is used only with `principal`). */
    client: Gatehouse;
    /** The org every check is about. */
    org: FromRequest<Req, string>;
    /** The permission ("chains:run"). */
    action: string;
    /** The resource the request acts on. */
    resource?: FromRequest<Req, RequestTarget | undefined>;
    /** Resolves the caller ("user:alice") yourself; undefined or "" answers 401. */
    principal?: (req: Req) => string | undefined | Promise<string | undefined>;
    /** Context conditions can read. */
    context?: FromRequest<Req, JsonObject | undefined>;
    /** The user an agent acts for. */
    onBehalfOf?: FromRequest<Req, string | undefined>;
    /** The status of a deny (default 403). */
    deniedStatus?: number;
    /** The decision's time budget in ms (default 5000); past it, 503. */
    timeoutMs?: number;
    /** Told about every failure that became a 503 (logging). */
    onError?: (err: unknown, req: Req) => void;
}
/** Express-style middleware; also callable from a plain `http` handler. */
export type Middleware<Req extends IncomingMessage = IncomingMessage> = (req: Req, res: ServerResponse, next: (err?: unknown) => void) => void;
/** The allow that let the request through (obligations and advice of agents). */
export declare function decisionOf(req: IncomingMessage): CheckResponse | undefined;
/**
 * A loose shape check of a Gatehouse credential (an API key `gth_…` or a
 * session token `a.b.c`), as the Go middleware makes: anything else is
 * answered 401 here and never reaches the server, so junk tokens do not
 * count against the host's failed-authentication rate limit.
 */
export declare function plausibleToken(tok: string): boolean;
/** Writes a problem+json answer. */
export declare function sendProblem(res: ServerResponse, status: number, kind: string, title: string, detail: string, extra?: Record<string, unknown>): void;
/**
 * Returns middleware that lets a request through only when Gatehouse
 * allows its caller `action` on its resource:
 *
 * ```ts
 * const guard = requireHttp({ client: gh, org: "demo", action: "chains:run",
 *   resource: (req) => ({ namespace: "prod", resource: "chains/" + idOf(req) }) });
 * http.createServer((req, res) => guard(req, res, () => handler(req, res)));
 * ```
 */
export declare function requireHttp<Req extends IncomingMessage = IncomingMessage>(options: MiddlewareOptions<Req>): Middleware<Req>;
