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
import { GatehouseError, InvalidRequestError, NotFoundError, PROBLEM_BASE, ForbiddenError, UnauthenticatedError, } from "./errors.js";
import { approvalOf } from "./guard.js";
import { toWire } from "./wire.js";
const decisions = new WeakMap();
/** The allow that let the request through (obligations and advice of agents). */
export function decisionOf(req) {
    return decisions.get(req);
}
async function get(v, req) {
    return typeof v === "function" ? await v(req) : v;
}
function bearer(req) {
    const h = req.headers.authorization;
    if (!h)
        return undefined;
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(h);
    return m ? m[1] : undefined;
}
/**
 * A loose shape check of a Gatehouse credential (an API key `gth_…` or a
 * session token `a.b.c`), as the Go middleware makes: anything else is
 * answered 401 here and never reaches the server, so junk tokens do not
 * count against the host's failed-authentication rate limit.
 */
export function plausibleToken(tok) {
    if (tok.length > 8192 || !/^[A-Za-z0-9_.-]+$/.test(tok))
        return false;
    return tok.startsWith("gth_") || tok.split(".").length === 3;
}
function forwardedFor(req) {
    const chain = req.headers["x-forwarded-for"];
    const prev = Array.isArray(chain) ? chain.join(", ") : chain;
    const peer = req.socket?.remoteAddress;
    return [prev, peer].filter((x) => !!x && x.trim() !== "").join(", ") || undefined;
}
/** Writes a problem+json answer. */
export function sendProblem(res, status, kind, title, detail, extra) {
    if (res.headersSent) {
        res.destroy();
        return;
    }
    const body = JSON.stringify({ type: PROBLEM_BASE + kind, title, status, detail, ...extra });
    const headers = {
        "Content-Type": "application/problem+json",
        "Content-Length": String(Buffer.byteLength(body)),
        "Cache-Control": "no-store",
    };
    if (status === 401)
        headers["WWW-Authenticate"] = 'Bearer realm="gatehouse"';
    res.writeHead(status, headers);
    res.end(body);
}
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
export function requireHttp(options) {
    const denied = options.deniedStatus ?? 403;
    const timeoutMs = options.timeoutMs ?? 5000;
    const deny = (res, detail, extra) => sendProblem(res, denied, denied === 401 ? "unauthenticated" : "forbidden", denied === 401 ? "Unauthorized" : "Forbidden", detail, extra);
    const unauth = (res) => sendProblem(res, 401, "unauthenticated", "Unauthorized", "a valid Gatehouse credential is required");
    const unavailable = (res) => sendProblem(res, 503, "unavailable", "Service Unavailable", "the access decision could not be made");
    return (req, res, next) => {
        void (async () => {
            let tokenMode = false;
            let decision;
            try {
                const org = await get(options.org, req);
                if (!org)
                    throw new GatehouseError("gatehouse middleware: no org for the request");
                let client = options.client;
                let principal;
                if (options.principal) {
                    principal = await options.principal(req);
                    if (!principal)
                        return unauth(res);
                }
                else {
                    tokenMode = true;
                    const token = bearer(req);
                    if (!token || !plausibleToken(token))
                        return unauth(res);
                    client = client.withToken(token).forwardingFor(forwardedFor(req));
                }
                const target = (await get(options.resource, req)) ?? {};
                decision = await client.org(org).check({
                    principal,
                    action: options.action,
                    resource: target.resource,
                    namespace: target.namespace,
                    context: await get(options.context, req),
                    onBehalfOf: await get(options.onBehalfOf, req),
                    timeoutMs,
                });
            }
            catch (err) {
                if (err instanceof UnauthenticatedError) {
                    // In principal mode the guard's own credential was refused: a misconfiguration.
                    if (tokenMode)
                        return unauth(res);
                }
                else if (err instanceof InvalidRequestError) {
                    return deny(res, "the request names a resource Gatehouse cannot decide on", { field: err.field });
                }
                else if (tokenMode && (err instanceof NotFoundError || err instanceof ForbiddenError)) {
                    return deny(res, "the caller may not do this here");
                }
                options.onError?.(err, req);
                return unavailable(res);
            }
            const approval = approvalOf(decision);
            if (approval) {
                return sendProblem(res, denied, "approval-required", "Approval Required", `${options.action} needs a person's approval first`, {
                    missing_permission: options.action,
                    reason: "approval_required",
                    approval: toWire(approval),
                });
            }
            if (decision.allowed !== true) {
                return deny(res, "Gatehouse denied " + options.action, { missing_permission: options.action, reason: decision.reason });
            }
            decisions.set(req, decision);
            next();
        })().catch((err) => {
            options.onError?.(err, req);
            try {
                unavailable(res);
            }
            catch {
                res.destroy();
            }
        });
    };
}
