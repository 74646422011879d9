/**
 * Error classes. Every failure of a call is a {@link GatehouseError}: an
 * answer of the server that is not 2xx is a {@link ProblemError} subclass
 * chosen by the problem document's `type` (never by its title or detail),
 * carrying the whole document; a transport failure is a
 * {@link ConnectionError}; a call that ran out of time is a
 * {@link RequestTimeoutError}. Guards add {@link PermissionDeniedError}
 * and {@link ApprovalRequiredError}. No error message ever contains the
 * credential.
 *
 * @module
 */
/** The prefix of the server's problem type URIs. */
export const PROBLEM_BASE = "https://gatehouse.dev/problems/";
/** The base class of every error the SDK throws. */
export class GatehouseError extends Error {
    /** @param message - what went wrong. @param options - the underlying cause. */
    constructor(message, options) {
        super(message, options);
        this.name = new.target.name;
    }
}
/** The server answered with an RFC 9457 problem document (any non-2xx answer). */
export class ProblemError extends GatehouseError {
    /** The problem document, in camelCase (`missingPermission`, `requestId`, …). */
    problem;
    /** The HTTP status. */
    status;
    /** The problem kind: the `type` URI without its prefix ("forbidden", "not-found", …). */
    kind;
    /** The method and path of the call. */
    request;
    /** @param problem - the document. @param request - "METHOD /path". */
    constructor(problem, request) {
        super(describe(problem, request));
        this.problem = problem;
        this.status = problem.status;
        this.kind = kindOf(problem.type);
        this.request = request;
    }
    /** The server's explanation. */
    get detail() {
        return this.problem.detail;
    }
    /** The permission the caller lacks (403). */
    get missingPermission() {
        return this.problem.missingPermission;
    }
    /** The offending request field (400). */
    get field() {
        return this.problem.field;
    }
    /** The request id, to find the call in the server's logs. */
    get requestId() {
        return this.problem.requestId;
    }
}
/** 400 invalid-request: the request is malformed; `field` names the culprit. */
export class InvalidRequestError extends ProblemError {
}
/** 401 unauthenticated: no, or a bad, credential. */
export class UnauthenticatedError extends ProblemError {
}
/** 403 forbidden: the caller lacks `missingPermission`. */
export class ForbiddenError extends ProblemError {
}
/** 403 escalation: the write would hand out more than the caller holds (see `problem.reason`, `problem.missingPermissions`). */
export class EscalationError extends ForbiddenError {
}
/** 404 not-found (also what another org's things look like). */
export class NotFoundError extends ProblemError {
}
/** 405 method-not-allowed. */
export class MethodNotAllowedError extends ProblemError {
}
/** 409 conflict (exists already, version mismatch, still in use). */
export class ConflictError extends ProblemError {
}
/** 409 last-owner: the write would leave the org without an owner. */
export class LastOwnerError extends ConflictError {
}
/** 410 gone (a used or expired token). */
export class GoneError extends ProblemError {
}
/** 413 payload-too-large. */
export class PayloadTooLargeError extends ProblemError {
}
/** 415 unsupported-media-type. */
export class UnsupportedMediaTypeError extends ProblemError {
}
/** 422 invalid-policy: `problem.errors` holds the positioned diagnostics. */
export class InvalidPolicyError extends ProblemError {
}
/** 429 rate-limited (`problem.retryAfter` seconds). */
export class RateLimitedError extends ProblemError {
}
/** 500 internal. */
export class InternalServerError extends ProblemError {
}
/** 503 unavailable: the store is unreachable or timed out (retried for idempotent calls). */
export class UnavailableError extends ProblemError {
}
/** 503 not-caught-up: the server could not reach the `atLeast` revision in time; never an answer from older data. */
export class NotCaughtUpError extends UnavailableError {
}
const kinds = {
    "invalid-request": InvalidRequestError,
    unauthenticated: UnauthenticatedError,
    forbidden: ForbiddenError,
    escalation: EscalationError,
    "not-found": NotFoundError,
    "method-not-allowed": MethodNotAllowedError,
    conflict: ConflictError,
    "last-owner": LastOwnerError,
    gone: GoneError,
    "payload-too-large": PayloadTooLargeError,
    "unsupported-media-type": UnsupportedMediaTypeError,
    "invalid-policy": InvalidPolicyError,
    "rate-limited": RateLimitedError,
    internal: InternalServerError,
    unavailable: UnavailableError,
    "not-caught-up": NotCaughtUpError,
};
const byStatus = {
    400: InvalidRequestError,
    401: UnauthenticatedError,
    403: ForbiddenError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    410: GoneError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: InvalidPolicyError,
    429: RateLimitedError,
    500: InternalServerError,
    503: UnavailableError,
};
/** The kind of a problem type URI: "forbidden" for ".../problems/forbidden"; "" for none. */
export function kindOf(type) {
    if (!type)
        return "";
    return type.startsWith(PROBLEM_BASE) ? type.slice(PROBLEM_BASE.length) : type;
}
/**
 * The error class of a problem: by its type, else (an unknown type, or an
 * answer that was not a problem document) by its status.
 */
export function problemError(problem, request) {
    const cls = kinds[kindOf(problem.type)] ?? byStatus[problem.status] ?? ProblemError;
    return new cls(problem, request);
}
function describe(p, request) {
    let s = `gatehouse: ${request}: ${p.status} ${kindOf(p.type) || p.title || "error"}`;
    if (p.detail)
        s += `: ${p.detail}`;
    if (p.field)
        s += ` (field ${p.field})`;
    if (p.missingPermission)
        s += ` (missing ${p.missingPermission}${p.scope ? " at " + p.scope : ""})`;
    return s;
}
/** The server could not be reached, or the connection broke (retried for idempotent calls). */
export class ConnectionError extends GatehouseError {
}
/** The call did not finish within its timeout (`timeoutMs`), retries included. */
export class RequestTimeoutError extends GatehouseError {
}
/** The call was aborted by the caller's `signal`. */
export class AbortedError extends GatehouseError {
}
/** The server's answer could not be decoded; never read as an allow. */
export class MalformedAnswerError extends GatehouseError {
}
/**
 * A guard refused: Gatehouse denied the call. `decision` is the answer
 * (its `reason`), `explanation` the explain answer when the guard asked
 * for it, so an agent can be told why.
 */
export class PermissionDeniedError extends GatehouseError {
    /** The action that was denied ("tools:call"). */
    action;
    /** The resource it was denied on ("tools/search"), if any. */
    resource;
    /** The decision. */
    decision;
    /** The explanation, when the guard asked for one. */
    explanation;
    /** @param init - what was denied and why. */
    constructor(init) {
        const why = init.explanation?.summary || init.decision.reason || "denied";
        super(`gatehouse: ${init.action}${init.resource ? " on " + init.resource : ""} denied: ${why}`);
        this.action = init.action;
        this.resource = init.resource;
        this.decision = init.decision;
        this.explanation = init.explanation;
    }
}
