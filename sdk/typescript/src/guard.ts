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
import { GatehouseError, PermissionDeniedError } from "./errors.js";
import type { Approval, CheckResponse, ExplainResponse, JsonObject } from "./types.js";

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
  wait?: (approval: Approval, options: { signal: AbortSignal }) => Promise<ApprovalOutcome>;
  /** Gives up (ApprovalRequiredError) after this many ms (default 5 minutes). */
  timeoutMs?: number;
}

/**
 * A guarded call needs a person's approval first. It is a refusal (a
 * {@link PermissionDeniedError}) carrying the approval record.
 */
export class ApprovalRequiredError extends PermissionDeniedError {
  /** The approval to wait for or show. */
  readonly approval: Approval;
  /** How a wait ended, if the guard waited. */
  readonly outcome: ApprovalOutcome | undefined;

  /** @param init - the question, the decision, its approval and how a wait ended. */
  constructor(init: { action: string; resource?: string; decision: CheckResponse; approval: Approval; outcome?: ApprovalOutcome }) {
    super(init);
    this.message = `gatehouse: ${init.action}${init.resource ? " on " + init.resource : ""} needs approval` +
      (init.approval.id ? ` (approval ${init.approval.id}${init.outcome ? ", " + init.outcome.status : ""})` : "");
    this.approval = init.approval;
    this.outcome = init.outcome;
  }
}

/** The default wait: long-polls the server until the approval is decided; a granted one is presented by the repeated check. */
async function serverWait(org: OrgClient, approval: Approval, signal: AbortSignal): Promise<ApprovalOutcome> {
  if (!approval.id) return { status: "pending" };
  const a = await org.waitForApproval(approval.id, { signal });
  if (signal.aborted && a.status === "pending") throw new GatehouseError("gatehouse: gave up waiting for approval " + approval.id);
  return { status: a.status, presentation: a.status === "granted" ? { approvalId: a.id } : undefined };
}

/** The approval of a decision that needs one; undefined otherwise. */
export function approvalOf(decision: CheckResponse): Approval | undefined {
  const d = decision as CheckResponse & { result?: unknown; approval?: unknown };
  if (d.result !== "approval_required" && d.reason !== "approval_required") return undefined;
  const a = d.approval;
  if (a && typeof a === "object" && typeof (a as { id?: unknown }).id === "string") return a as Approval;
  return { id: "" } as Approval;
}

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

function val<A, T>(v: FromArgs<A, T> | undefined, args: A): T | undefined {
  return typeof v === "function" ? (v as (a: A) => T)(args) : v;
}

function rt<Rest extends unknown[], T>(v: FromRuntime<Rest, T> | undefined, runtime: Rest): T | undefined {
  return typeof v === "function" ? (v as (...r: Rest) => T)(...runtime) : v;
}

/**
 * Decides whether the tool may run with these arguments; resolves with the
 * allow (its obligations and advice), throws otherwise.
 */
export async function authorizeToolCall<A, Rest extends unknown[] = unknown[]>(
  o: ToolGuardOptions<A, Rest>,
  args: A,
  ...runtime: Rest
): Promise<CheckResponse> {
  const action = o.action ?? "tools:call";
  const resource = val(o.resource, args);
  const q = {
    principal: rt(o.principal, runtime),
    action,
    resource,
    namespace: val(o.namespace, args),
    onBehalfOf: rt(o.onBehalfOf, runtime),
    context: { ...(val(o.context, args) ?? {}), input: args as unknown },
    // An approval is bound to exactly these arguments: another call's
    // arguments are another question (docs/approvals.md).
    arguments: args as unknown,
  };
  let decision = await o.org.check(q);
  const approval = approvalOf(decision);
  if (approval) {
    const refuse = (d: CheckResponse, a: Approval, outcome?: ApprovalOutcome) =>
      new ApprovalRequiredError({ action, resource, decision: d, approval: a, outcome });
    if (!o.approval) throw refuse(decision, approval);
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), o.approval.timeoutMs ?? 300_000);
    let outcome: ApprovalOutcome;
    try {
      outcome = o.approval.wait
        ? await o.approval.wait(approval, { signal: ctl.signal })
        : await serverWait(o.org, approval, ctl.signal);
    } catch (err) {
      throw Object.assign(refuse(decision, approval, { status: "pending" }), { cause: err });
    } finally {
      clearTimeout(timer);
    }
    if (outcome.status !== "granted") throw refuse(decision, approval, outcome);
    decision = await o.org.check({ ...q, ...(outcome.presentation ?? {}) });
    const again = approvalOf(decision);
    if (again) throw refuse(decision, again, outcome);
  }
  if (decision.allowed === true) return decision;
  let explanation: ExplainResponse | undefined;
  if (o.explain ?? true) {
    try {
      explanation = await o.org.explain(q);
    } catch {
      // The deny stands without its explanation.
    }
  }
  throw new PermissionDeniedError({ action, resource, decision, explanation });
}

/**
 * Wraps a tool function so that it runs only when Gatehouse allows it:
 *
 * ```ts
 * const search = requirePermission({ org: demo, resource: "tools/search", principal: "agent:Triage" },
 *   async ({ query }: { query: string }) => doSearch(query));
 * ```
 */
export function requirePermission<A, R, Rest extends unknown[]>(
  options: ToolGuardOptions<A, Rest>,
  fn: (args: A, ...rest: Rest) => R | Promise<R>,
): (args: A, ...rest: Rest) => Promise<R> {
  return async function guarded(this: unknown, args: A, ...rest: Rest): Promise<R> {
    await authorizeToolCall(options, args, ...rest);
    return fn.call(this, args, ...rest);
  };
}

/** A tool object as the Vercel AI SDK (`execute`) or LangChain.js (`func`) define it. */
export type ToolLike = { execute?: (...a: never[]) => unknown } | { func?: (...a: never[]) => unknown };

/**
 * Returns a copy of a tool object whose `execute` (Vercel AI SDK) or
 * `func` (LangChain.js DynamicTool / DynamicStructuredTool) is guarded;
 * the resource defaults to "tools/<name>" when the tool has a `name`.
 */
export function guardTool<T extends object>(tool: T, options: Omit<ToolGuardOptions<unknown>, "resource"> & { resource?: ToolGuardOptions<unknown>["resource"] }): T {
  const t = tool as Record<string, unknown>;
  const key = typeof t.execute === "function" ? "execute" : typeof t.func === "function" ? "func" : undefined;
  if (!key) throw new GatehouseError("gatehouse: guardTool needs a tool with an execute (Vercel AI SDK) or func (LangChain.js) function");
  const resource = options.resource ?? (typeof t.name === "string" ? "tools/" + t.name : undefined);
  const fn = t[key] as (args: unknown, ...rest: unknown[]) => unknown;
  const copy = Object.create(Object.getPrototypeOf(tool) as object | null) as Record<string, unknown>;
  Object.assign(copy, tool);
  copy[key] = requirePermission({ ...options, resource }, fn.bind(tool));
  return copy as T;
}
