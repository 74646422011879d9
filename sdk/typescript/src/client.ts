/**
 * The client: {@link Gatehouse} for the deployment-wide calls and
 * {@link OrgClient} (`gh.org("demo")`) for everything inside one org.
 *
 * Invariants:
 * - One client is reusable and may be shared: it holds no per-call state
 *   but the revision tracker, which only ever grows.
 * - Read-your-writes: every write's revision is recorded, and decisions
 *   (check, batch, explain, lookups, permissions) ask for an answer at
 *   least that fresh (`consistency.at_least`), so a decision never
 *   reflects data older than the caller's own last write.
 * - A decision is an allow only when the server said `allowed: true` in a
 *   2xx answer; everything else throws or is a deny.
 *
 * @module
 */

import { Transport, type CallOptions, type TransportOptions } from "./transport.js";
import { snake, toWire } from "./wire.js";
import { MalformedAnswerError } from "./errors.js";
import type {
  AcceptRequest,
  AcceptResponse,
  Agent,
  AgentPatch,
  AgentSpec,
  AgentToken,
  AgentTokenRequest,
  OrgLifecycle,
  Reach,
  APIKey,
  BatchCheckResponse,
  BatchItem,
  Binding,
  BindingSpec,
  CheckResponse,
  CreateOrgRequest,
  ExplainResponse,
  Health,
  Invitation,
  InvitationCreated,
  InviteRequest,
  KeyCreated,
  KeySpec,
  LookupResourcesResponse,
  LookupSubjectsResponse,
  Me,
  Member,
  Namespace,
  Org,
  Page,
  PermissionsResponse,
  Policy,
  PolicyApplied,
  Release,
  Resource,
  ResourcePatch,
  ResourceRef,
  ResourceSpec,
  ResourceVersion,
  Revision,
  Role,
  RoleBody,
  RoleSpec,
  RunGrant,
  RunRequest,
  Approval,
  CheckRequest,
  Run,
  RunFinishRequest,
  RunStartRequest,
  RunStartResponse,
  Secret,
  SecretCreate,
  Service,
  ServicePatch,
  ServiceSpec,
  SessionResponse,
  Team,
  TeamRequest,
  JsonObject,
  ValidateResponse,
  Written,
} from "./types.js";

/** How to reach the server; see {@link TransportOptions}. */
export interface GatehouseOptions extends TransportOptions {
  /**
   * Record the revision of this client's writes and make every decision at
   * least that fresh (default true).
   */
  trackRevisions?: boolean;
}

/** Options of a decision call. */
export interface DecisionOptions extends CallOptions {
  /** Decide at a revision at least this fresh (a revision some write returned). */
  atLeast?: number;
}

/**
 * A point in the past to ask about (check, explain, the lookups): the
 * answer as it would have been then, rebuilt from the changelog. At most
 * one of the two; a point in the future, before the org existed or outside
 * the retention window is an {@link InvalidRequestError} naming the field.
 */
export interface PointInTime {
  /** An instant: a `Date`, or an RFC 3339 string. */
  atTime?: string | Date;
  /** A revision (as a write answered it). */
  atRevision?: number;
}

/** A check: the question and its call options. */
export type CheckOptions = BatchItem & Pick<CheckRequest, "arguments" | "approvalId"> & PointInTime & DecisionOptions;

/** A share's lifetime: when it stops granting ({@link OrgClient.share}). */
export interface ShareOptions extends CallOptions {
  /** The instant it stops granting (a `Date` or RFC 3339, in the future). */
  expiresAt?: string | Date;
  /** How long it grants: a Go duration ("30m", "2h") from the server's clock. */
  expiresIn?: string;
}

/** Listing agents. */
export interface ListAgentsOptions extends ListOptions {
  /** Only agents in this status: "active", "suspended" (any reason), or one reason ("sponsor_gone", "inactive", "attestation_due", "expired"). */
  status?: string;
}

/** Reading one approval. */
export interface GetApprovalOptions extends CallOptions {
  /** Long-poll while it is pending: seconds (at most 60), or a Go duration ("30s"). */
  wait?: number | string;
}

/** Waiting for an approval. */
export interface WaitForApprovalOptions extends CallOptions {
  /** Give up after this many ms, answering the last state read (still pending); default: wait until ended by `signal`. */
  timeoutMs?: number;
}

/** Listing approvals. */
export interface ListApprovalsOptions extends ListOptions {
  /** Only approvals in this status ("pending"). */
  status?: string;
}

/** Listing runs. */
export interface ListRunsOptions extends ListOptions {
  /** Only runs of this resource ("chains/deploy"). */
  resource?: string;
  /** Only runs in this namespace. */
  namespace?: string;
  /** Only runs in this status ("running", "succeeded", "failed"). */
  status?: string;
}

/** Options of a list call. */
export interface ListOptions extends CallOptions {
  /** Items per request (1–1000; the server's default is 100). */
  pageSize?: number;
  /** Start at this cursor instead of the first page. */
  cursor?: string;
}

/** A resource lookup: which resources may `principal` do `action` on? */
export interface LookupResourcesOptions extends DecisionOptions, PointInTime {
  /** The principal; the caller when omitted. */
  principal?: string;
  /** The action ("chains:run"). */
  action: string;
  /** Limits the lookup to one namespace. */
  namespace?: string;
  /** Context conditions can read. */
  context?: JsonObject;
  /** The user an agent acts for. */
  onBehalfOf?: string;
  /** Items per request (default 100, at most 10,000). */
  pageSize?: number;
  /** Start at this cursor. */
  cursor?: string;
}

/** A subject lookup: who may do `action` on `resource`? */
export interface LookupSubjectsOptions extends DecisionOptions, PointInTime {
  /** The action. */
  action: string;
  /** "<type>/<id>"; the type in the namespace when omitted. */
  resource?: string;
  /** The namespace. */
  namespace?: string;
  /** Context conditions can read. */
  context?: JsonObject;
}

/** The most checks one batch request carries; longer lists are split. */
export const MAX_BATCH = 1000;

/** @internal The newest revision this client wrote (shared by its views). */
class RevisionTracker {
  value = 0;
  note(rev: number | undefined): void {
    if (typeof rev === "number" && rev > this.value) this.value = rev;
  }
}

const seg = encodeURIComponent;

/** The members of CheckOptions that checkBody maps itself. */
const checkMembers = new Set([
  "principal", "action", "resource", "namespace", "context", "onBehalfOf", "arguments", "approvalId", "atTime", "atRevision", "atLeast", "signal", "timeoutMs",
]);

/** The wire form of an instant: a Date as RFC 3339, a string as it is. */
function instant(v: string | Date | undefined): string | undefined {
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new TypeError("gatehouse: an invalid Date");
    return v.toISOString();
  }
  return v === "" ? undefined : v;
}

/**
 * A Gatehouse client. Create one per server and reuse it; it is safe to
 * share between concurrent requests.
 *
 * ```ts
 * const gh = new Gatehouse({ baseUrl: "http://127.0.0.1:8080", token: process.env.GATEHOUSE_TOKEN });
 * const { allowed } = await gh.org("demo").check({ action: "chains:run", resource: "chains/escalation-triage", namespace: "prod" });
 * ```
 */
export class Gatehouse {
  /** @internal */
  readonly t: Transport;
  /** @internal */
  readonly revs: RevisionTracker;
  /** @internal */
  readonly track: boolean;

  /** @param options - the server, the credential, timeouts and retries. */
  constructor(options: GatehouseOptions);
  /** @internal */
  constructor(options: GatehouseOptions, t: Transport, revs: RevisionTracker);
  constructor(options: GatehouseOptions, t?: Transport, revs?: RevisionTracker) {
    this.t = t ?? new Transport(options);
    this.revs = revs ?? new RevisionTracker();
    this.track = options.trackRevisions ?? true;
  }

  /** The server's base URL. */
  get baseUrl(): string {
    return this.t.baseUrl;
  }

  /** The newest revision this client's writes returned (0 before any). */
  get revision(): number {
    return this.revs.value;
  }

  /** Records a revision learnt elsewhere (another process's write) so that decisions reflect it. */
  observeRevision(rev: number): void {
    this.revs.note(rev);
  }

  /** A copy of the client that sends another credential, sharing the connection pool and the revision tracker. */
  withToken(token: string | undefined): Gatehouse {
    return new Gatehouse({ baseUrl: this.t.baseUrl, trackRevisions: this.track }, this.t.with({ token }), this.revs);
  }

  /** @internal A copy that relays for an end user's address (X-Forwarded-For). */
  forwardingFor(addr: string | undefined): Gatehouse {
    return new Gatehouse({ baseUrl: this.t.baseUrl, trackRevisions: this.track }, this.t.with({ forwardedFor: addr }), this.revs);
  }

  /** The calls inside one org. */
  org(id: string): OrgClient {
    return new OrgClient(this, id);
  }

  /** @internal A write: performs it and records its revision. */
  async write<T extends { revision?: number } | undefined>(p: Promise<T>): Promise<T> {
    const v = await p;
    if (v && typeof v === "object") this.revs.note(v.revision);
    return v;
  }

  /** @internal The at_least a decision asks for. */
  atLeast(explicit: number | undefined): { atLeast: number } | undefined {
    const n = Math.max(explicit ?? 0, this.track ? this.revs.value : 0);
    return n > 0 ? { atLeast: n } : undefined;
  }

  /** @internal A list, read page by page. */
  pages<T>(path: string, query: Record<string, string | number | undefined>, o?: ListOptions): Paginated<T> {
    return new Paginated<T>((cursor) =>
      this.t.do<Page<T>>({ method: "GET", path, query: { ...query, page_size: o?.pageSize, cursor } }, o), o?.cursor ?? "");
  }

  /** Who the credential is, and what it may do in each of its orgs (in `namespace`, default "default"). */
  me(options?: CallOptions & { namespace?: string }): Promise<Me> {
    return this.t.do({ method: "GET", path: "/v1/me", query: { namespace: options?.namespace } }, options);
  }

  /** The orgs the caller belongs to. */
  listOrgs(options?: ListOptions): Paginated<Org> {
    return this.pages("/v1/orgs", {}, options);
  }

  /** Creates an org from a template; the caller (a user) becomes its owner. */
  createOrg(req: CreateOrgRequest, options?: CallOptions): Promise<Written<Org>> {
    return this.write(this.t.do({ method: "POST", path: "/v1/orgs", body: req }, options));
  }

  /** Creates a session token for the caller. */
  createSession(options?: CallOptions): Promise<SessionResponse> {
    return this.t.do({ method: "POST", path: "/v1/sessions" }, options);
  }

  /** Redeems an invitation (anonymously, if the client has no token: then it may answer a session). */
  acceptInvitation(req: AcceptRequest, options?: CallOptions): Promise<AcceptResponse> {
    return this.write(this.t.do({ method: "POST", path: "/v1/invitations/accept", body: req }, options));
  }

  /** Creates a personal API key (the caller's own). */
  createKey(spec: KeySpec, options?: CallOptions): Promise<KeyCreated> {
    return this.write(this.t.do({ method: "POST", path: "/v1/apikeys", body: spec }, options));
  }

  /** The caller's personal API keys. */
  listKeys(options?: ListOptions): Paginated<APIKey> {
    return this.pages("/v1/apikeys", {}, options);
  }

  /** Revokes one of the caller's personal keys. */
  revokeKey(id: string, options?: CallOptions): Promise<Revision> {
    return this.write(this.t.do({ method: "DELETE", path: "/v1/apikeys/" + seg(id) }, options));
  }

  /** Liveness. */
  healthz(options?: CallOptions): Promise<Health> {
    return this.t.do({ method: "GET", path: "/healthz", public: true }, options);
  }

  /** Readiness (an UnavailableError when not ready, after retries). */
  readyz(options?: CallOptions): Promise<Health> {
    return this.t.do({ method: "GET", path: "/readyz", public: true }, options);
  }

  /** The server's OpenAPI document, as it is. */
  openapi(options?: CallOptions): Promise<Record<string, unknown>> {
    return this.t.do({ method: "GET", path: "/v1/openapi.json", public: true, raw: true }, options);
  }
}

/** The calls inside one org; from {@link Gatehouse.org}. */
export class OrgClient {
  /** The client it belongs to. */
  readonly client: Gatehouse;
  /** The org's id. */
  readonly id: string;
  private readonly base: string;

  /** @param client - the client. @param id - the org. */
  constructor(client: Gatehouse, id: string) {
    this.client = client;
    this.id = id;
    this.base = "/v1/orgs/" + seg(id);
  }

  private get t(): Transport {
    return this.client.t;
  }

  private w<T extends { revision?: number } | undefined>(p: Promise<T>): Promise<T> {
    return this.client.write(p);
  }

  private resPath(ref: ResourceRef): string {
    return `${this.base}/namespaces/${seg(ref.namespace)}/resources/${seg(ref.type)}/${seg(ref.id)}`;
  }

  // Decisions.

  /** May the principal (default: the caller) do the action on the resource? */
  async check(q: CheckOptions): Promise<CheckResponse> {
    return decision(
      await this.t.do<CheckResponse>(
        { method: "POST", path: this.base + "/check", body: this.checkBody(q), idem: "safe", wireBody: true },
        q.signal || q.timeoutMs !== undefined ? { signal: q.signal, timeoutMs: q.timeoutMs } : undefined,
      ),
      "check",
    );
  }

  /** The wire body of a check or an explain, built directly (the hot path skips the generic name conversion). */
  private checkBody(q: CheckOptions): Record<string, unknown> {
    const c = this.client.atLeast(q.atLeast);
    const body: Record<string, unknown> = {
      principal: q.principal,
      action: q.action,
      resource: q.resource,
      namespace: q.namespace,
      context: q.context,
      on_behalf_of: q.onBehalfOf,
      arguments: q.arguments,
      approval_id: q.approvalId,
      at_time: instant(q.atTime),
      at_revision: q.atRevision || undefined,
      consistency: c ? { at_least: c.atLeast } : undefined,
    };
    // Members this SDK does not know yet (an approval's presentation) cross in wire form.
    for (const k in q) {
      if (!checkMembers.has(k)) body[snake(k)] = toWire((q as unknown as Record<string, unknown>)[k]);
    }
    return body;
  }

  /** `check(q).allowed`: true only on an explicit allow. */
  async allowed(q: CheckOptions): Promise<boolean> {
    return (await this.check(q)).allowed === true;
  }

  /**
   * Many checks, answered independently and in order; sent as one request
   * per {@link MAX_BATCH} checks. `revision` is the largest of the answers'.
   */
  async checkBatch(checks: BatchItem[], options?: DecisionOptions): Promise<BatchCheckResponse> {
    const consistency = this.client.atLeast(options?.atLeast);
    const chunks: BatchItem[][] = [];
    for (let i = 0; i < checks.length; i += MAX_BATCH) chunks.push(checks.slice(i, i + MAX_BATCH));
    if (chunks.length === 0) chunks.push([]);
    const answers = await Promise.all(
      chunks.map((c) =>
        this.t.do<BatchCheckResponse>({ method: "POST", path: this.base + "/checks", body: { checks: c, consistency }, idem: "safe" }, options),
      ),
    );
    return { results: answers.flatMap((a) => a.results ?? []), revision: Math.max(0, ...answers.map((a) => a.revision)) };
  }

  /** A decision with its reasons: the grants that allow, or what came closest. */
  async explain(q: CheckOptions): Promise<ExplainResponse> {
    return decision(
      await this.t.do<ExplainResponse>(
        { method: "POST", path: this.base + "/explain", body: this.checkBody(q), idem: "safe", wireBody: true },
        { signal: q.signal, timeoutMs: q.timeoutMs },
      ),
      "explain",
    );
  }

  /** One page of a resource lookup. */
  lookupResourcesPage(q: LookupResourcesOptions): Promise<LookupResourcesResponse> {
    const { signal, timeoutMs, atLeast, atTime, atRevision, ...body } = q;
    const point = { atTime: instant(atTime), atRevision: atRevision || undefined };
    return this.t.do(
      { method: "POST", path: this.base + "/lookup/resources", body: { ...body, ...point, consistency: this.client.atLeast(atLeast) }, idem: "safe" },
      { signal, timeoutMs },
    );
  }

  /**
   * Every resource the principal may do the action on, page by page, in
   * (namespace, type, id) order; all pages are read at the revision of the
   * first (or later).
   */
  async *lookupResources(q: LookupResourcesOptions): AsyncGenerator<ResourceRef, void, undefined> {
    let cursor = q.cursor ?? "";
    let atLeast = q.atLeast;
    for (;;) {
      const page = await this.lookupResourcesPage({ ...q, cursor, atLeast });
      for (const r of page.items ?? []) yield r;
      if (!page.nextCursor) return;
      cursor = page.nextCursor;
      atLeast = Math.max(atLeast ?? 0, page.revision);
    }
  }

  /** Who may do the action on the resource (teams expanded). */
  lookupSubjects(q: LookupSubjectsOptions): Promise<LookupSubjectsResponse> {
    const { signal, timeoutMs, atLeast, atTime, atRevision, ...body } = q;
    const point = { atTime: instant(atTime), atRevision: atRevision || undefined };
    return this.t.do(
      { method: "POST", path: this.base + "/lookup/subjects", body: { ...body, ...point, consistency: this.client.atLeast(atLeast) }, idem: "safe" },
      { signal, timeoutMs },
    );
  }

  /** What a principal holds in a namespace. */
  permissions(principal: string, options?: DecisionOptions & { namespace?: string }): Promise<PermissionsResponse> {
    const c = this.client.atLeast(options?.atLeast);
    return this.t.do(
      {
        method: "GET",
        path: `${this.base}/principals/${seg(principal)}/permissions`,
        query: { namespace: options?.namespace, at_least: c?.atLeast },
      },
      options,
    );
  }

  // The org.

  /** The org. */
  get(options?: CallOptions): Promise<Org> {
    return this.t.do({ method: "GET", path: this.base }, options);
  }

  /** Renames the org. */
  rename(name: string, options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "PATCH", path: this.base, body: { name } }, options));
  }

  /** Deletes the org and everything in it. */
  delete(options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "DELETE", path: this.base }, options));
  }

  // Namespaces.

  /** Creates a namespace. */
  createNamespace(name: string, options?: CallOptions): Promise<Written<Namespace>> {
    return this.w(this.t.do({ method: "POST", path: this.base + "/namespaces", body: { name } }, options));
  }

  /** The org's namespaces. */
  listNamespaces(options?: ListOptions): Paginated<Namespace> {
    return this.client.pages(this.base + "/namespaces", {}, options);
  }

  /** One namespace. */
  getNamespace(name: string, options?: CallOptions): Promise<Namespace> {
    return this.t.do({ method: "GET", path: `${this.base}/namespaces/${seg(name)}` }, options);
  }

  /** Deletes a namespace; `cascade` deletes what is in it too. */
  deleteNamespace(name: string, options?: CallOptions & { cascade?: boolean }): Promise<Revision> {
    return this.w(
      this.t.do({ method: "DELETE", path: `${this.base}/namespaces/${seg(name)}`, query: { cascade: options?.cascade ? "true" : undefined } }, options),
    );
  }

  // Members and invitations.

  /** Adds an existing user with an org-scope role. */
  addMember(userId: string, role: string, options?: CallOptions): Promise<Written<Member>> {
    return this.w(this.t.do({ method: "POST", path: this.base + "/members", body: { userId, role } }, options));
  }

  /** The org's members. */
  listMembers(options?: ListOptions): Paginated<Member> {
    return this.client.pages(this.base + "/members", {}, options);
  }

  /** One member. */
  getMember(userId: string, options?: CallOptions): Promise<Member> {
    return this.t.do({ method: "GET", path: `${this.base}/members/${seg(userId)}` }, options);
  }

  /** Changes a member's org-scope role. */
  setMemberRole(userId: string, role: string, options?: CallOptions): Promise<Written<Binding>> {
    return this.w(this.t.do({ method: "PATCH", path: `${this.base}/members/${seg(userId)}`, body: { role } }, options));
  }

  /** Removes a member (and their bindings). */
  removeMember(userId: string, options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "DELETE", path: `${this.base}/members/${seg(userId)}` }, options));
  }

  /** Invites an email address with a role; the token is shown this once. */
  invite(req: InviteRequest, options?: CallOptions): Promise<InvitationCreated> {
    return this.w(this.t.do({ method: "POST", path: this.base + "/invitations", body: req }, options));
  }

  /** The org's invitations. */
  listInvitations(options?: ListOptions): Paginated<Invitation> {
    return this.client.pages(this.base + "/invitations", {}, options);
  }

  /** Revokes an invitation. */
  revokeInvitation(id: string, options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "DELETE", path: `${this.base}/invitations/${seg(id)}` }, options));
  }

  // Teams.

  /** Creates a team. */
  createTeam(req: TeamRequest, options?: CallOptions): Promise<Written<Team>> {
    return this.w(this.t.do({ method: "POST", path: this.base + "/teams", body: req }, options));
  }

  /** The org's teams. */
  listTeams(options?: ListOptions): Paginated<Team> {
    return this.client.pages(this.base + "/teams", {}, options);
  }

  /** One team, with its members. */
  getTeam(slug: string, options?: CallOptions): Promise<Team> {
    return this.t.do({ method: "GET", path: `${this.base}/teams/${seg(slug)}` }, options);
  }

  /** Renames a team. */
  renameTeam(slug: string, name: string, options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "PATCH", path: `${this.base}/teams/${seg(slug)}`, body: { name } }, options));
  }

  /** Deletes a team. */
  deleteTeam(slug: string, options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "DELETE", path: `${this.base}/teams/${seg(slug)}` }, options));
  }

  /** Adds a principal to a team. */
  addTeamMember(slug: string, principal: string, options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "POST", path: `${this.base}/teams/${seg(slug)}/members`, body: { principal } }, options));
  }

  /** Removes a principal from a team. */
  removeTeamMember(slug: string, principal: string, options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "DELETE", path: `${this.base}/teams/${seg(slug)}/members/${seg(principal)}` }, options));
  }

  // Roles.

  /** The org's roles. */
  listRoles(options?: ListOptions): Paginated<Role> {
    return this.client.pages(this.base + "/roles", {}, options);
  }

  /** One role. */
  getRole(name: string, options?: CallOptions): Promise<Role> {
    return this.t.do({ method: "GET", path: `${this.base}/roles/${seg(name)}` }, options);
  }

  /** Defines a custom role. */
  createRole(spec: RoleSpec, options?: CallOptions): Promise<Written<Role>> {
    return this.w(this.t.do({ method: "POST", path: this.base + "/roles", body: spec }, options));
  }

  /** Redefines a custom role. */
  putRole(name: string, body: RoleBody, options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "PUT", path: `${this.base}/roles/${seg(name)}`, body }, options));
  }

  /** Deletes a custom role. */
  deleteRole(name: string, options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "DELETE", path: `${this.base}/roles/${seg(name)}` }, options));
  }

  // Bindings and sharing.

  /** Grants a role to a principal at a scope. */
  createBinding(spec: BindingSpec, options?: CallOptions): Promise<Written<Binding>> {
    return this.w(this.t.do({ method: "POST", path: this.base + "/bindings", body: spec }, options));
  }

  /** The org's bindings, optionally filtered. */
  listBindings(options?: ListOptions & { principal?: string; role?: string; namespace?: string }): Paginated<Binding> {
    return this.client.pages(this.base + "/bindings", { principal: options?.principal, role: options?.role, namespace: options?.namespace }, options);
  }

  /** One binding. */
  getBinding(id: string, options?: CallOptions): Promise<Binding> {
    return this.t.do({ method: "GET", path: `${this.base}/bindings/${seg(id)}` }, options);
  }

  /** Deletes a binding. */
  deleteBinding(id: string, options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "DELETE", path: `${this.base}/bindings/${seg(id)}` }, options));
  }

  /**
   * Shares one resource with a principal, or with every holder of a role
   * ("role:operator"), for actions; with `expiresAt` or `expiresIn` only
   * until then ("run on chains/x for the next 30 minutes": `{ expiresIn: "30m" }`).
   */
  share(ref: ResourceRef, principal: string, actions: string[], options?: ShareOptions): Promise<Written<Binding>> {
    const body = { principal, actions, expiresAt: instant(options?.expiresAt), expiresIn: options?.expiresIn || undefined };
    return this.w(this.t.do({ method: "POST", path: this.resPath(ref) + "/shares", body }, options));
  }

  // Agents and services.

  /** Creates an agent bound to its role. */
  createAgent(spec: AgentSpec, options?: CallOptions): Promise<Written<Agent>> {
    return this.w(this.t.do({ method: "POST", path: this.base + "/agents", body: spec }, options));
  }

  /** The org's agents, optionally only those in one status. */
  listAgents(options?: ListAgentsOptions): Paginated<Agent> {
    return this.client.pages(this.base + "/agents", { status: options?.status }, options);
  }

  /** One agent. */
  getAgent(name: string, options?: CallOptions): Promise<Agent> {
    return this.t.do({ method: "GET", path: `${this.base}/agents/${seg(name)}` }, options);
  }

  /** Changes an agent. */
  updateAgent(name: string, patch: AgentPatch, options?: CallOptions): Promise<Written<Agent>> {
    return this.w(this.t.do({ method: "PATCH", path: `${this.base}/agents/${seg(name)}`, body: patch }, options));
  }

  /** Deletes an agent. */
  deleteAgent(name: string, options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "DELETE", path: `${this.base}/agents/${seg(name)}` }, options));
  }

  /**
   * Vouches for an agent now, as one of its sponsors (a sponsoring user or
   * a member of a sponsoring team; anyone else gets a ForbiddenError):
   * lifts `attestation_due` and `inactive`.
   */
  attestAgent(name: string, options?: CallOptions): Promise<Written<Agent>> {
    return this.w(this.t.do({ method: "POST", path: `${this.base}/agents/${seg(name)}/attest` }, options));
  }

  /**
   * Mints a short-lived token for an agent, accepted only at `audience`
   * and refused by every API route; shown this once.
   */
  mintAgentToken(name: string, req: AgentTokenRequest, options?: CallOptions): Promise<AgentToken> {
    return this.w(this.t.do({ method: "POST", path: `${this.base}/agents/${seg(name)}/tokens`, body: req }, options));
  }

  /** The org's suspension rules for agents (`{}`: none). */
  async getLifecycle(options?: CallOptions): Promise<OrgLifecycle> {
    return (await this.get(options)).lifecycle ?? {};
  }

  /** Replaces the org's suspension rules for agents (0 or absent: off; needs org:update). */
  setLifecycle(rules: OrgLifecycle, options?: CallOptions): Promise<Written<Org>> {
    return this.w(this.t.do({ method: "PUT", path: this.base + "/lifecycle", body: rules }, options));
  }

  /**
   * A principal's blast radius ("agent:Triage", "user:bob", "service:ci"):
   * everything it could do if hijacked (yourself, or bindings:read).
   */
  reach(principal: string, options?: CallOptions): Promise<Reach> {
    return this.t.do({ method: "GET", path: `${this.base}/principals/${seg(principal)}/reach` }, options);
  }

  /** Creates a service account. */
  createService(spec: ServiceSpec, options?: CallOptions): Promise<Written<Service>> {
    return this.w(this.t.do({ method: "POST", path: this.base + "/services", body: spec }, options));
  }

  /** The org's services; `status` keeps those in one status ("active", "suspended" for any reason, "sponsor_gone", "inactive", "attestation_due"). */
  listServices(options?: ListOptions & { status?: string }): Paginated<Service> {
    return this.client.pages(this.base + "/services", options?.status ? { status: options.status } : {}, options);
  }

  /** Changes a service's attributes, sponsors or lifecycle opt-in. */
  updateService(name: string, patch: ServicePatch, options?: CallOptions): Promise<Written<Service>> {
    return this.w(this.t.do({ method: "PATCH", path: `${this.base}/services/${seg(name)}`, body: patch }, options));
  }

  /** Vouches, as a sponsor, for a service under the org's rules (lifts attestation_due and inactive). */
  attestService(name: string, options?: CallOptions): Promise<Written<Service>> {
    return this.w(this.t.do({ method: "POST", path: `${this.base}/services/${seg(name)}/attest` }, options));
  }

  /** One service. */
  getService(name: string, options?: CallOptions): Promise<Service> {
    return this.t.do({ method: "GET", path: `${this.base}/services/${seg(name)}` }, options);
  }

  /** Deletes a service. */
  deleteService(name: string, options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "DELETE", path: `${this.base}/services/${seg(name)}` }, options));
  }

  /** Creates an API key for a service of this org (or the caller, confined to the org). */
  createKey(spec: KeySpec, options?: CallOptions): Promise<KeyCreated> {
    return this.w(this.t.do({ method: "POST", path: this.base + "/apikeys", body: spec }, options));
  }

  // Resources.

  /** Creates a resource at version 1. */
  createResource(spec: ResourceSpec, options?: CallOptions): Promise<Written<Resource>> {
    return this.w(this.t.do({ method: "POST", path: this.base + "/resources", body: spec }, options));
  }

  /** The org's resources, optionally of one namespace and type. */
  listResources(options?: ListOptions & { namespace?: string; type?: string }): Paginated<Resource> {
    return this.client.pages(this.base + "/resources", { namespace: options?.namespace, type: options?.type }, options);
  }

  /** One resource with its current spec. */
  getResource(ref: ResourceRef, options?: CallOptions): Promise<Resource> {
    return this.t.do({ method: "GET", path: this.resPath(ref) }, options);
  }

  /** Changes a resource, recording a new version. */
  updateResource(ref: ResourceRef, patch: ResourcePatch, options?: CallOptions): Promise<Written<Resource>> {
    return this.w(this.t.do({ method: "PATCH", path: this.resPath(ref), body: patch }, options));
  }

  /** Deletes a resource. */
  deleteResource(ref: ResourceRef, options?: CallOptions): Promise<Revision> {
    return this.w(this.t.do({ method: "DELETE", path: this.resPath(ref) }, options));
  }

  /** A resource's recorded versions. */
  listResourceVersions(ref: ResourceRef, options?: ListOptions): Paginated<ResourceVersion> {
    return this.client.pages(this.resPath(ref) + "/versions", {}, options);
  }

  // Policy.

  /** The org's current policy text. */
  getPolicy(options?: CallOptions): Promise<Policy> {
    return this.t.do({ method: "GET", path: this.base + "/policy" }, options);
  }

  /** Compiles and lints a policy text without storing it. */
  validatePolicy(text: string, options?: CallOptions): Promise<ValidateResponse> {
    return this.t.do({ method: "POST", path: this.base + "/policy/validate", body: { text }, idem: "safe" }, options);
  }

  /**
   * Replaces the org's policy text (an InvalidPolicyError carries the
   * diagnostics). The answer's `writeWarnings` name the API keys the new
   * policy stopped; its `warnings` are the policy's member-aware diagnostics.
   */
  putPolicy(text: string, options?: CallOptions & { force?: boolean }): Promise<PolicyApplied> {
    return this.w(this.t.do({ method: "PUT", path: this.base + "/policy", body: { text, force: options?.force || undefined } }, options));
  }

  // Secrets and runs.

  /** Creates a secret in a namespace. */
  createSecret(namespace: string, spec: SecretCreate, options?: CallOptions): Promise<Written<Secret>> {
    return this.w(this.t.do({ method: "POST", path: `${this.base}/namespaces/${seg(namespace)}/secrets`, body: spec }, options));
  }

  /** The secrets of a namespace (metadata only). */
  listSecrets(namespace: string, options?: ListOptions): Paginated<Secret> {
    return this.client.pages(`${this.base}/namespaces/${seg(namespace)}/secrets`, {}, options);
  }

  /** Issues a run token for a resource: single-use, short-lived, releasing the secrets its spec references. */
  createRunToken(ref: ResourceRef, req?: RunRequest, options?: CallOptions): Promise<RunGrant> {
    return this.t.do({ method: "POST", path: this.resPath(ref) + "/runs", body: req ?? {} }, options);
  }

  /** Redeems a run token for its secrets (the runtime's call; at most once). */
  exchangeRunToken(token: string, options?: CallOptions): Promise<Release> {
    return this.t.do({ method: "POST", path: this.base + "/runs/exchange", body: { token } }, options);
  }

  /**
   * Starts a run: authorizes `<type>:run`, records it and, with
   * `issueToken`, issues its run token. When a person must approve first,
   * `result` is "approval_required" with the approval and nothing is
   * recorded: start again with `approvalId` once granted. Not retried
   * after an ambiguous failure (a retry could record the run twice).
   */
  startRun(req: RunStartRequest, options?: CallOptions): Promise<RunStartResponse> {
    return this.t.do({ method: "POST", path: this.base + "/runs", body: req, idem: "write" }, options);
  }

  /** Reports how a run ended (the caller that started it or its runtime, once); secret values are redacted from what is kept. */
  finishRun(id: string, req: RunFinishRequest, options?: CallOptions): Promise<Run> {
    return this.t.do({ method: "POST", path: `${this.base}/runs/${seg(id)}/finish`, body: req, idem: "write" }, options);
  }

  /** Reads a run (results:read in its namespace, or the caller's own). */
  getRun(id: string, options?: CallOptions): Promise<Run> {
    return this.t.do({ method: "GET", path: `${this.base}/runs/${seg(id)}` }, options);
  }

  /** The runs the caller may read, newest first. */
  listRuns(options?: ListRunsOptions): Paginated<Run> {
    return this.client.pages(this.base + "/runs", { resource: options?.resource, namespace: options?.namespace, status: options?.status }, options);
  }

  // Approvals.

  /** The approvals the caller may see (as requester or approver), newest first. */
  listApprovals(options?: ListApprovalsOptions): Paginated<Approval> {
    return this.client.pages(this.base + "/approvals", { status: options?.status }, options);
  }

  /** Reads an approval; with `wait`, long-polls while it is pending. Lists who may approve now. */
  getApproval(id: string, options?: GetApprovalOptions): Promise<Approval> {
    const wait = options?.wait;
    const secs = typeof wait === "number" ? wait : typeof wait === "string" ? parseFloat(wait) : 0;
    // The request may last the long-poll plus the usual time.
    const o = wait !== undefined && options?.timeoutMs === undefined ? { ...options, timeoutMs: this.t.timeoutMs + secs * 1000 } : options;
    return this.t.do({ method: "GET", path: `${this.base}/approvals/${seg(id)}`, query: { wait: wait === undefined ? undefined : String(wait) } }, o);
  }

  /** Approves a pending approval (an approver, once). */
  approve(id: string, options?: CallOptions & { comment?: string }): Promise<Approval> {
    return this.t.do({ method: "POST", path: `${this.base}/approvals/${seg(id)}/approve`, body: { comment: options?.comment } }, options);
  }

  /** Denies a pending approval (one deny ends it). */
  deny(id: string, options?: CallOptions & { comment?: string }): Promise<Approval> {
    return this.t.do({ method: "POST", path: `${this.base}/approvals/${seg(id)}/deny`, body: { comment: options?.comment } }, options);
  }

  /**
   * Long-polls an approval until it is no longer pending (granted, denied,
   * expired or consumed) and answers it; after `timeoutMs`, or when
   * `signal` aborts, answers the last state read (still pending).
   */
  async waitForApproval(id: string, options?: WaitForApprovalOptions): Promise<Approval> {
    const deadline = options?.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    const signal = options?.signal;
    let last: Approval | undefined;
    for (;;) {
      const left = deadline - Date.now();
      const wait = Math.max(0, Math.min(20, Math.floor((left - 1000) / 1000)));
      try {
        last = await this.getApproval(id, { wait, signal });
      } catch (err) {
        if (last && (signal?.aborted || Date.now() >= deadline)) return last;
        throw err;
      }
      if (last.status !== "pending" || signal?.aborted || Date.now() >= deadline) return last;
      // Under a second left the server cannot long-poll: poll a few times a second.
      await new Promise((r) => setTimeout(r, wait === 0 ? Math.min(250, Math.max(0, deadline - Date.now())) : 10));
    }
  }
}

/**
 * A list: iterate it (`for await (const m of org.listMembers())`) for every
 * item across pages, or read one page with {@link Paginated.page}.
 */
export class Paginated<T> implements AsyncIterable<T> {
  private readonly fetchPage: (cursor: string) => Promise<Page<T>>;
  private readonly cursor: string;

  /** @internal */
  constructor(fetchPage: (cursor: string) => Promise<Page<T>>, cursor: string) {
    this.fetchPage = fetchPage;
    this.cursor = cursor;
  }

  /** One page: the first, or the one at `cursor` (default: the list's starting cursor). */
  page(cursor?: string): Promise<Page<T>> {
    return this.fetchPage(cursor ?? this.cursor);
  }

  /** Every page, in order. */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    let cursor = this.cursor;
    for (;;) {
      const p = await this.fetchPage(cursor);
      yield p;
      if (!p.nextCursor) return;
      cursor = p.nextCursor;
    }
  }

  /** Every item, across pages. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const p of this.pages()) yield* p.items ?? [];
  }
}

/** Checks that a decision answer says allowed or not in a boolean; anything else is malformed, never an allow. */
function decision<T extends { allowed: unknown }>(d: T, what: string): T {
  if (typeof d.allowed !== "boolean") throw new MalformedAnswerError(`gatehouse: ${what}: the answer has no boolean "allowed"`);
  return d;
}

/** Collects an async iterable (a list, a lookup) into an array. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
