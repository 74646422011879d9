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
import {
  GatehouseError,
  InvalidRequestError,
  NotFoundError,
  PROBLEM_BASE,
  ForbiddenError,
  UnauthenticatedError,
} from "./errors.js";
import { approvalOf } from "./guard.js";
import type { CheckResponse, JsonObject } from "./types.js";
import { toWire } from "./wire.js";

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

const decisions = new WeakMap<object, CheckResponse>();

/** The allow that let the request through (obligations and advice of agents). */
export function decisionOf(req: IncomingMessage): CheckResponse | undefined {
  return decisions.get(req);
}

async function get<Req, T>(v: FromRequest<Req, T> | undefined, req: Req): Promise<T | undefined> {
  return typeof v === "function" ? await (v as (r: Req) => T | Promise<T>)(req) : v;
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(h);
  return m ? m[1] : undefined;
}

/**
 * A loose shape check of a Gatehouse credential (an API key `gth_…` or a
 * session token `a.b.c`), as the Go middleware makes: anything else is
 * answered 401 here and never reaches the server, so junk tokens do not
 * count against the host's failed-authentication rate limit.
 */
export function plausibleToken(tok: string): boolean {
  if (tok.length > 8192 || !/^[A-Za-z0-9_.-]+$/.test(tok)) return false;
  return tok.startsWith("gth_") || tok.split(".").length === 3;
}

function forwardedFor(req: IncomingMessage): string | undefined {
  const chain = req.headers["x-forwarded-for"];
  const prev = Array.isArray(chain) ? chain.join(", ") : chain;
  const peer = req.socket?.remoteAddress;
  return [prev, peer].filter((x): x is string => !!x && x.trim() !== "").join(", ") || undefined;
}

/** Writes a problem+json answer. */
export function sendProblem(res: ServerResponse, status: number, kind: string, title: string, detail: string, extra?: Record<string, unknown>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ type: PROBLEM_BASE + kind, title, status, detail, ...extra });
  const headers: Record<string, string> = {
    "Content-Type": "application/problem+json",
    "Content-Length": String(Buffer.byteLength(body)),
    "Cache-Control": "no-store",
  };
  if (status === 401) headers["WWW-Authenticate"] = 'Bearer realm="gatehouse"';
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
export function requireHttp<Req extends IncomingMessage = IncomingMessage>(options: MiddlewareOptions<Req>): Middleware<Req> {
  const denied = options.deniedStatus ?? 403;
  const timeoutMs = options.timeoutMs ?? 5000;
  const deny = (res: ServerResponse, detail: string, extra?: Record<string, unknown>) =>
    sendProblem(res, denied, denied === 401 ? "unauthenticated" : "forbidden", denied === 401 ? "Unauthorized" : "Forbidden", detail, extra);
  const unauth = (res: ServerResponse) => sendProblem(res, 401, "unauthenticated", "Unauthorized", "a valid Gatehouse credential is required");
  const unavailable = (res: ServerResponse) => sendProblem(res, 503, "unavailable", "Service Unavailable", "the access decision could not be made");

  return (req, res, next) => {
    void (async () => {
      let tokenMode = false;
      let decision: CheckResponse;
      try {
        const org = await get(options.org, req);
        if (!org) throw new GatehouseError("gatehouse middleware: no org for the request");
        let client = options.client;
        let principal: string | undefined;
        if (options.principal) {
          principal = await options.principal(req);
          if (!principal) return unauth(res);
        } else {
          tokenMode = true;
          const token = bearer(req);
          if (!token || !plausibleToken(token)) return unauth(res);
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
      } catch (err) {
        if (err instanceof UnauthenticatedError) {
          // In principal mode the guard's own credential was refused: a misconfiguration.
          if (tokenMode) return unauth(res);
        } else if (err instanceof InvalidRequestError) {
          return deny(res, "the request names a resource Gatehouse cannot decide on", { field: err.field });
        } else if (tokenMode && (err instanceof NotFoundError || err instanceof ForbiddenError)) {
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
    })().catch((err: unknown) => {
      options.onError?.(err, req);
      try {
        unavailable(res);
      } catch {
        res.destroy();
      }
    });
  };
}
