/**
 * The Gatehouse TypeScript SDK: a client of the Gatehouse HTTP API
 * (decisions, administration, runs), guards for agent tool calls, and
 * HTTP middleware. No runtime dependencies: global fetch, Node 18 or later.
 *
 * Invariants: fail closed (only an explicit `allowed: true` in a 2xx answer
 * is an allow; every error throws, and the guards and middleware turn
 * errors into refusals); read-your-writes (decisions are made at least as
 * fresh as the client's own last write); the credential never appears in
 * an error.
 *
 * @packageDocumentation
 */

export * from "./types.js";
export * from "./errors.js";
export { Gatehouse, OrgClient, Paginated, collect, MAX_BATCH } from "./client.js";
export type { GatehouseOptions, DecisionOptions, CheckOptions, ListOptions, LookupResourcesOptions, LookupSubjectsOptions, GetApprovalOptions, WaitForApprovalOptions, ListApprovalsOptions, ListRunsOptions, PointInTime, ShareOptions, ListAgentsOptions } from "./client.js";
export type { CallOptions, RetryPolicy, FetchLike, TransportOptions } from "./transport.js";
export { requirePermission, guardTool, authorizeToolCall, approvalOf, ApprovalRequiredError } from "./guard.js";
export type { ApprovalOutcome, ApprovalWaitOptions, ToolGuardOptions, FromArgs, FromRuntime, ToolLike } from "./guard.js";
export { requireHttp, decisionOf, sendProblem, plausibleToken } from "./middleware.js";
export type { MiddlewareOptions, Middleware, RequestTarget, FromRequest } from "./middleware.js";
