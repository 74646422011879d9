/**
 * Guards for agent tool calls: {@link requirePermission} wraps a tool
 * function of the shape the Vercel AI SDK (`execute(args, options)`) and
 * LangChain.js (`func(input, runManager, config)`) use, and
 * {@link guardTool} wraps such a tool object in place of its function.
 * The SDK imports neither framework.
 *
 * Invariants:
 * - The tool runs only after an explicit allow of `action` (default
 *   "tools:call") on its resource; a deny throws
 *   {@link PermissionDeniedError} (with the explanation, by default), an
 *   error of the decision call propagates, and the tool does not run.
 * - The call's arguments are sent as `context.input`, so policy conditions
 *   can read them; `onBehalfOf` makes the decision the intersection of the
 *   agent's and the user's.
 * - Who is asking is never taken from the model: `principal` and
 *   `onBehalfOf` are constants or functions of the call's runtime
 *   arguments (the Vercel AI SDK's `options`, LangChain's `config`), never
 *   of the tool arguments the model writes.
 * - Approvals (DESIGN §1.1 item 8): a decision whose `result` is
 *   "approval_required" is not an allow: it throws
 *   {@link ApprovalRequiredError} carrying the approval, unless the caller
 *   opted in to waiting and the approval was granted, in which case the
 *   same question is asked again and only its allow runs the tool.
 *
 * @module
 */
import type { OrgClient } from "./client.js";
import { PermissionDeniedError } from "./errors.js";
import type { Approval, CheckResponse, JsonObject } from "./types.js";
/** An approval record (the server's `Approval`). */
export type { Approval };
/** What an approval wait ended with. */
export interface ApprovalOutcome {
    /** "granted" lets the guard ask again; anything else refuses. */
    status: "granted" | "denied" | "expired" | "pending" | (string & {});
    /** Members to add to the repeated check's body so that it presents the approval (as the server's approvals API defines). */
    presentation?: JsonObject;
}
/** Opt-in waiting for approvals. */
export interface ApprovalWaitOptions {
    /**
     * Waits until the approval is decided. Default: the org client's
     * {@link OrgClient.waitForApproval} (long-polls the server's approvals
     * API) and, once granted, the repeated check presents the approval.
     */
    wait?: (approval: Approval, options: {
        signal: AbortSignal;
    }) => Promise<ApprovalOutcome>;
    /** Gives up (ApprovalRequiredError) after this many ms (default 5 minutes). */
    timeoutMs?: number;
}
/**
 * A guarded call needs a person's approval first. It is a refusal (a
 * {@link PermissionDeniedError}) carrying the approval record.
 */
export declare class ApprovalRequiredError extends PermissionDeniedError {
    /** The approval to wait for or show. */
    readonly approval: Approval;
    /** How a wait ended, if the guard waited. */
    readonly outcome: ApprovalOutcome | undefined;
    /** @param init - the question, the decision, its approval and how a wait ended. */
    constructor(init: {
        action: string;
        resource?: string;
        decision: CheckResponse;
        approval: Approval;
        outcome?: ApprovalOutcome;
    });
}
/** The approval of a decision that needs one; undefined otherwise. */
export declare function approvalOf(decision: CheckResponse): Approval | undefined;
/** A value, or a function of the call's arguments giving it. */
export type FromArgs<A, T> = T | ((args: A) => T);
/** A value, or a function of the call's runtime arguments (everything after the model's arguments) giving it. */
export type FromRuntime<Rest extends unknown[], T> = T | ((...runtime: Rest) => T);
/** What a tool guard asks. */
export interface ToolGuardOptions<A, Rest extends unknown[] = unknown[]> {
    /** The org client that decides (`gh.org("demo")`). */
    org: OrgClient;
    /** The permission (default "tools:call"). */
    action?: string;
    /** The resource, "<type>/<id>" ("tools/search"). */
    resource?: FromArgs<A, string | undefined>;
    /** The namespace ("default" when omitted). */
    namespace?: FromArgs<A, string | undefined>;
    /** The principal (the agent, "agent:Triage"); the client's own when omitted. Never from the model's arguments. */
    principal?: FromRuntime<Rest, string | undefined>;
    /** The user the agent acts for. */
    onBehalfOf?: FromRuntime<Rest, string | undefined>;
    /** More context; the arguments are added as `input`. */
    context?: FromArgs<A, JsonObject | undefined>;
    /** On a deny, fetch the explanation for the error (default true). */
    explain?: boolean;
    /** Opt-in waiting for approvals. */
    approval?: ApprovalWaitOptions;
}
/**
 * Decides whether the tool may run with these arguments; resolves with the
 * allow (its obligations and advice), throws otherwise.
 */
export declare function authorizeToolCall<A, Rest extends unknown[] = unknown[]>(o: ToolGuardOptions<A, Rest>, args: A, ...runtime: Rest): Promise<CheckResponse>;
/**
 * Wraps a tool function so that it runs only when Gatehouse allows it:
 *
 * ```ts
 * const search = requirePermission({ org: demo, resource: "tools/search", principal: "agent:Triage" },
 *   async ({ query }: { query: string }) => doSearch(query));
 * ```
 */
export declare function requirePermission<A, R, Rest extends unknown[]>(options: ToolGuardOptions<A, Rest>, fn: (args: A, ...rest: Rest) => R | Promise<R>): (args: A, ...rest: Rest) => Promise<R>;
/** A tool object as the Vercel AI SDK (`execute`) or LangChain.js (`func`) define it. */
export type ToolLike = {
    execute?: (...a: never[]) => unknown;
} | {
    func?: (...a: never[]) => unknown;
};
/**
 * Returns a copy of a tool object whose `execute` (Vercel AI SDK) or
 * `func` (LangChain.js DynamicTool / DynamicStructuredTool) is guarded;
 * the resource defaults to "tools/<name>" when the tool has a `name`.
 */
export declare function guardTool<T extends object>(tool: T, options: Omit<ToolGuardOptions<unknown>, "resource"> & {
    resource?: ToolGuardOptions<unknown>["resource"];
}): T;
