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
import type { CheckResponse, ExplainResponse, Problem } from "./types.js";
/** The prefix of the server's problem type URIs. */
export declare const PROBLEM_BASE = "https://gatehouse.dev/problems/";
/** The base class of every error the SDK throws. */
export declare class GatehouseError extends Error {
    /** @param message - what went wrong. @param options - the underlying cause. */
    constructor(message: string, options?: {
        cause?: unknown;
    });
}
/** The server answered with an RFC 9457 problem document (any non-2xx answer). */
export declare class ProblemError extends GatehouseError {
    /** The problem document, in camelCase (`missingPermission`, `requestId`, …). */
    readonly problem: Problem;
    /** The HTTP status. */
    readonly status: number;
    /** The problem kind: the `type` URI without its prefix ("forbidden", "not-found", …). */
    readonly kind: string;
    /** The method and path of the call. */
    readonly request: string;
    /** @param problem - the document. @param request - "METHOD /path". */
    constructor(problem: Problem, request: string);
    /** The server's explanation. */
    get detail(): string | undefined;
    /** The permission the caller lacks (403). */
    get missingPermission(): string | undefined;
    /** The offending request field (400). */
    get field(): string | undefined;
    /** The request id, to find the call in the server's logs. */
    get requestId(): string | undefined;
}
/** 400 invalid-request: the request is malformed; `field` names the culprit. */
export declare class InvalidRequestError extends ProblemError {
}
/** 401 unauthenticated: no, or a bad, credential. */
export declare class UnauthenticatedError extends ProblemError {
}
/** 403 forbidden: the caller lacks `missingPermission`. */
export declare class ForbiddenError extends ProblemError {
}
/** 403 escalation: the write would hand out more than the caller holds (see `problem.reason`, `problem.missingPermissions`). */
export declare class EscalationError extends ForbiddenError {
}
/** 404 not-found (also what another org's things look like). */
export declare class NotFoundError extends ProblemError {
}
/** 405 method-not-allowed. */
export declare class MethodNotAllowedError extends ProblemError {
}
/** 409 conflict (exists already, version mismatch, still in use). */
export declare class ConflictError extends ProblemError {
}
/** 409 last-owner: the write would leave the org without an owner. */
export declare class LastOwnerError extends ConflictError {
}
/** 410 gone (a used or expired token). */
export declare class GoneError extends ProblemError {
}
/** 413 payload-too-large. */
export declare class PayloadTooLargeError extends ProblemError {
}
/** 415 unsupported-media-type. */
export declare class UnsupportedMediaTypeError extends ProblemError {
}
/** 422 invalid-policy: `problem.errors` holds the positioned diagnostics. */
export declare class InvalidPolicyError extends ProblemError {
}
/** 429 rate-limited (`problem.retryAfter` seconds). */
export declare class RateLimitedError extends ProblemError {
}
/** 500 internal. */
export declare class InternalServerError extends ProblemError {
}
/** 503 unavailable: the store is unreachable or timed out (retried for idempotent calls). */
export declare class UnavailableError extends ProblemError {
}
/** 503 not-caught-up: the server could not reach the `atLeast` revision in time; never an answer from older data. */
export declare class NotCaughtUpError extends UnavailableError {
}
/** The kind of a problem type URI: "forbidden" for ".../problems/forbidden"; "" for none. */
export declare function kindOf(type: string | undefined): string;
/**
 * The error class of a problem: by its type, else (an unknown type, or an
 * answer that was not a problem document) by its status.
 */
export declare function problemError(problem: Problem, request: string): ProblemError;
/** The server could not be reached, or the connection broke (retried for idempotent calls). */
export declare class ConnectionError extends GatehouseError {
}
/** The call did not finish within its timeout (`timeoutMs`), retries included. */
export declare class RequestTimeoutError extends GatehouseError {
}
/** The call was aborted by the caller's `signal`. */
export declare class AbortedError extends GatehouseError {
}
/** The server's answer could not be decoded; never read as an allow. */
export declare class MalformedAnswerError extends GatehouseError {
}
/**
 * A guard refused: Gatehouse denied the call. `decision` is the answer
 * (its `reason`), `explanation` the explain answer when the guard asked
 * for it, so an agent can be told why.
 */
export declare class PermissionDeniedError extends GatehouseError {
    /** The action that was denied ("tools:call"). */
    readonly action: string;
    /** The resource it was denied on ("tools/search"), if any. */
    readonly resource: string | undefined;
    /** The decision. */
    readonly decision: CheckResponse;
    /** The explanation, when the guard asked for one. */
    readonly explanation: ExplainResponse | undefined;
    /** @param init - what was denied and why. */
    constructor(init: {
        action: string;
        resource?: string;
        decision: CheckResponse;
        explanation?: ExplainResponse;
    });
}
