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
import { type CallOptions, type TransportOptions } from "./transport.js";
import type { AcceptRequest, AcceptResponse, Agent, AgentPatch, AgentSpec, AgentToken, AgentTokenRequest, OrgLifecycle, Reach, APIKey, BatchCheckResponse, BatchItem, Binding, BindingSpec, CheckResponse, CreateOrgRequest, ExplainResponse, Health, Invitation, InvitationCreated, InviteRequest, KeyCreated, KeySpec, LookupResourcesResponse, LookupSubjectsResponse, Me, Member, Namespace, Org, Page, PermissionsResponse, Policy, PolicyApplied, Release, Resource, ResourcePatch, ResourceRef, ResourceSpec, ResourceVersion, Revision, Role, RoleBody, RoleSpec, RunGrant, RunRequest, Approval, CheckRequest, Run, RunFinishRequest, RunStartRequest, RunStartResponse, Secret, SecretCreate, Service, ServicePatch, ServiceSpec, SessionResponse, Team, TeamRequest, JsonObject, ValidateResponse, Written } from "./types.js";
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
export declare const MAX_BATCH = 1000;
/**
 * A Gatehouse client. Create one per server and reuse it; it is safe to
 * share between concurrent requests.
 *
 * ```ts
 * const gh = new Gatehouse({ baseUrl: "http://127.0.0.1:8080", token: process.env.GATEHOUSE_TOKEN });
 * const { allowed } = await gh.org("demo").check({ action: "chains:run", resource: "chains/escalation-triage", namespace: "prod" });
 * ```
 */
export declare class Gatehouse {
    /** @param options - the server, the credential, timeouts and retries. */
    constructor(options: GatehouseOptions);
    /** The server's base URL. */
    get baseUrl(): string;
    /** The newest revision this client's writes returned (0 before any). */
    get revision(): number;
    /** Records a revision learnt elsewhere (another process's write) so that decisions reflect it. */
    observeRevision(rev: number): void;
    /** A copy of the client that sends another credential, sharing the connection pool and the revision tracker. */
    withToken(token: string | undefined): Gatehouse;
    /** The calls inside one org. */
    org(id: string): OrgClient;
    /** Who the credential is, and what it may do in each of its orgs (in `namespace`, default "default"). */
    me(options?: CallOptions & {
        namespace?: string;
    }): Promise<Me>;
    /** The orgs the caller belongs to. */
    listOrgs(options?: ListOptions): Paginated<Org>;
    /** Creates an org from a template; the caller (a user) becomes its owner. */
    createOrg(req: CreateOrgRequest, options?: CallOptions): Promise<Written<Org>>;
    /** Creates a session token for the caller. */
    createSession(options?: CallOptions): Promise<SessionResponse>;
    /** Redeems an invitation (anonymously, if the client has no token: then it may answer a session). */
    acceptInvitation(req: AcceptRequest, options?: CallOptions): Promise<AcceptResponse>;
    /** Creates a personal API key (the caller's own). */
    createKey(spec: KeySpec, options?: CallOptions): Promise<KeyCreated>;
    /** The caller's personal API keys. */
    listKeys(options?: ListOptions): Paginated<APIKey>;
    /** Revokes one of the caller's personal keys. */
    revokeKey(id: string, options?: CallOptions): Promise<Revision>;
    /** Liveness. */
    healthz(options?: CallOptions): Promise<Health>;
    /** Readiness (an UnavailableError when not ready, after retries). */
    readyz(options?: CallOptions): Promise<Health>;
    /** The server's OpenAPI document, as it is. */
    openapi(options?: CallOptions): Promise<Record<string, unknown>>;
}
/** The calls inside one org; from {@link Gatehouse.org}. */
export declare class OrgClient {
    /** The client it belongs to. */
    readonly client: Gatehouse;
    /** The org's id. */
    readonly id: string;
    private readonly base;
    /** @param client - the client. @param id - the org. */
    constructor(client: Gatehouse, id: string);
    private get t();
    private w;
    private resPath;
    /** May the principal (default: the caller) do the action on the resource? */
    check(q: CheckOptions): Promise<CheckResponse>;
    /** The wire body of a check or an explain, built directly (the hot path skips the generic name conversion). */
    private checkBody;
    /** `check(q).allowed`: true only on an explicit allow. */
    allowed(q: CheckOptions): Promise<boolean>;
    /**
     * Many checks, answered independently and in order; sent as one request
     * per {@link MAX_BATCH} checks. `revision` is the largest of the answers'.
     */
    checkBatch(checks: BatchItem[], options?: DecisionOptions): Promise<BatchCheckResponse>;
    /** A decision with its reasons: the grants that allow, or what came closest. */
    explain(q: CheckOptions): Promise<ExplainResponse>;
    /** One page of a resource lookup. */
    lookupResourcesPage(q: LookupResourcesOptions): Promise<LookupResourcesResponse>;
    /**
     * Every resource the principal may do the action on, page by page, in
     * (namespace, type, id) order; all pages are read at the revision of the
     * first (or later).
     */
    lookupResources(q: LookupResourcesOptions): AsyncGenerator<ResourceRef, void, undefined>;
    /** Who may do the action on the resource (teams expanded). */
    lookupSubjects(q: LookupSubjectsOptions): Promise<LookupSubjectsResponse>;
    /** What a principal holds in a namespace. */
    permissions(principal: string, options?: DecisionOptions & {
        namespace?: string;
    }): Promise<PermissionsResponse>;
    /** The org. */
    get(options?: CallOptions): Promise<Org>;
    /** Renames the org. */
    rename(name: string, options?: CallOptions): Promise<Revision>;
    /** Deletes the org and everything in it. */
    delete(options?: CallOptions): Promise<Revision>;
    /** Creates a namespace. */
    createNamespace(name: string, options?: CallOptions): Promise<Written<Namespace>>;
    /** The org's namespaces. */
    listNamespaces(options?: ListOptions): Paginated<Namespace>;
    /** One namespace. */
    getNamespace(name: string, options?: CallOptions): Promise<Namespace>;
    /** Deletes a namespace; `cascade` deletes what is in it too. */
    deleteNamespace(name: string, options?: CallOptions & {
        cascade?: boolean;
    }): Promise<Revision>;
    /** Adds an existing user with an org-scope role. */
    addMember(userId: string, role: string, options?: CallOptions): Promise<Written<Member>>;
    /** The org's members. */
    listMembers(options?: ListOptions): Paginated<Member>;
    /** One member. */
    getMember(userId: string, options?: CallOptions): Promise<Member>;
    /** Changes a member's org-scope role. */
    setMemberRole(userId: string, role: string, options?: CallOptions): Promise<Written<Binding>>;
    /** Removes a member (and their bindings). */
    removeMember(userId: string, options?: CallOptions): Promise<Revision>;
    /** Invites an email address with a role; the token is shown this once. */
    invite(req: InviteRequest, options?: CallOptions): Promise<InvitationCreated>;
    /** The org's invitations. */
    listInvitations(options?: ListOptions): Paginated<Invitation>;
    /** Revokes an invitation. */
    revokeInvitation(id: string, options?: CallOptions): Promise<Revision>;
    /** Creates a team. */
    createTeam(req: TeamRequest, options?: CallOptions): Promise<Written<Team>>;
    /** The org's teams. */
    listTeams(options?: ListOptions): Paginated<Team>;
    /** One team, with its members. */
    getTeam(slug: string, options?: CallOptions): Promise<Team>;
    /** Renames a team. */
    renameTeam(slug: string, name: string, options?: CallOptions): Promise<Revision>;
    /** Deletes a team. */
    deleteTeam(slug: string, options?: CallOptions): Promise<Revision>;
    /** Adds a principal to a team. */
    addTeamMember(slug: string, principal: string, options?: CallOptions): Promise<Revision>;
    /** Removes a principal from a team. */
    removeTeamMember(slug: string, principal: string, options?: CallOptions): Promise<Revision>;
    /** The org's roles. */
    listRoles(options?: ListOptions): Paginated<Role>;
    /** One role. */
    getRole(name: string, options?: CallOptions): Promise<Role>;
    /** Defines a custom role. */
    createRole(spec: RoleSpec, options?: CallOptions): Promise<Written<Role>>;
    /** Redefines a custom role. */
    putRole(name: string, body: RoleBody, options?: CallOptions): Promise<Revision>;
    /** Deletes a custom role. */
    deleteRole(name: string, options?: CallOptions): Promise<Revision>;
    /** Grants a role to a principal at a scope. */
    createBinding(spec: BindingSpec, options?: CallOptions): Promise<Written<Binding>>;
    /** The org's bindings, optionally filtered. */
    listBindings(options?: ListOptions & {
        principal?: string;
        role?: string;
        namespace?: string;
    }): Paginated<Binding>;
    /** One binding. */
    getBinding(id: string, options?: CallOptions): Promise<Binding>;
    /** Deletes a binding. */
    deleteBinding(id: string, options?: CallOptions): Promise<Revision>;
    /**
     * Shares one resource with a principal, or with every holder of a role
     * ("role:operator"), for actions; with `expiresAt` or `expiresIn` only
     * until then ("run on chains/x for the next 30 minutes": `{ expiresIn: "30m" }`).
     */
    share(ref: ResourceRef, principal: string, actions: string[], options?: ShareOptions): Promise<Written<Binding>>;
    /** Creates an agent bound to its role. */
    createAgent(spec: AgentSpec, options?: CallOptions): Promise<Written<Agent>>;
    /** The org's agents, optionally only those in one status. */
    listAgents(options?: ListAgentsOptions): Paginated<Agent>;
    /** One agent. */
    getAgent(name: string, options?: CallOptions): Promise<Agent>;
    /** Changes an agent. */
    updateAgent(name: string, patch: AgentPatch, options?: CallOptions): Promise<Written<Agent>>;
    /** Deletes an agent. */
    deleteAgent(name: string, options?: CallOptions): Promise<Revision>;
    /**
     * Vouches for an agent now, as one of its sponsors (a sponsoring user or
     * a member of a sponsoring team; anyone else gets a ForbiddenError):
     * lifts `attestation_due` and `inactive`.
     */
    attestAgent(name: string, options?: CallOptions): Promise<Written<Agent>>;
    /**
     * Mints a short-lived token for an agent, accepted only at `audience`
     * and refused by every API route; shown this once.
     */
    mintAgentToken(name: string, req: AgentTokenRequest, options?: CallOptions): Promise<AgentToken>;
    /** The org's suspension rules for agents (`{}`: none). */
    getLifecycle(options?: CallOptions): Promise<OrgLifecycle>;
    /** Replaces the org's suspension rules for agents (0 or absent: off; needs org:update). */
    setLifecycle(rules: OrgLifecycle, options?: CallOptions): Promise<Written<Org>>;
    /**
     * A principal's blast radius ("agent:Triage", "user:bob", "service:ci"):
     * everything it could do if hijacked (yourself, or bindings:read).
     */
    reach(principal: string, options?: CallOptions): Promise<Reach>;
    /** Creates a service account. */
    createService(spec: ServiceSpec, options?: CallOptions): Promise<Written<Service>>;
    /** The org's services; `status` keeps those in one status ("active", "suspended" for any reason, "sponsor_gone", "inactive", "attestation_due"). */
    listServices(options?: ListOptions & {
        status?: string;
    }): Paginated<Service>;
    /** Changes a service's attributes, sponsors or lifecycle opt-in. */
    updateService(name: string, patch: ServicePatch, options?: CallOptions): Promise<Written<Service>>;
    /** Vouches, as a sponsor, for a service under the org's rules (lifts attestation_due and inactive). */
    attestService(name: string, options?: CallOptions): Promise<Written<Service>>;
    /** One service. */
    getService(name: string, options?: CallOptions): Promise<Service>;
    /** Deletes a service. */
    deleteService(name: string, options?: CallOptions): Promise<Revision>;
    /** Creates an API key for a service of this org (or the caller, confined to the org). */
    createKey(spec: KeySpec, options?: CallOptions): Promise<KeyCreated>;
    /** Creates a resource at version 1. */
    createResource(spec: ResourceSpec, options?: CallOptions): Promise<Written<Resource>>;
    /** The org's resources, optionally of one namespace and type. */
    listResources(options?: ListOptions & {
        namespace?: string;
        type?: string;
    }): Paginated<Resource>;
    /** One resource with its current spec. */
    getResource(ref: ResourceRef, options?: CallOptions): Promise<Resource>;
    /** Changes a resource, recording a new version. */
    updateResource(ref: ResourceRef, patch: ResourcePatch, options?: CallOptions): Promise<Written<Resource>>;
    /** Deletes a resource. */
    deleteResource(ref: ResourceRef, options?: CallOptions): Promise<Revision>;
    /** A resource's recorded versions. */
    listResourceVersions(ref: ResourceRef, options?: ListOptions): Paginated<ResourceVersion>;
    /** The org's current policy text. */
    getPolicy(options?: CallOptions): Promise<Policy>;
    /** Compiles and lints a policy text without storing it. */
    validatePolicy(text: string, options?: CallOptions): Promise<ValidateResponse>;
    /**
     * Replaces the org's policy text (an InvalidPolicyError carries the
     * diagnostics). The answer's `writeWarnings` name the API keys the new
     * policy stopped; its `warnings` are the policy's member-aware diagnostics.
     */
    putPolicy(text: string, options?: CallOptions & {
        force?: boolean;
    }): Promise<PolicyApplied>;
    /** Creates a secret in a namespace. */
    createSecret(namespace: string, spec: SecretCreate, options?: CallOptions): Promise<Written<Secret>>;
    /** The secrets of a namespace (metadata only). */
    listSecrets(namespace: string, options?: ListOptions): Paginated<Secret>;
    /** Issues a run token for a resource: single-use, short-lived, releasing the secrets its spec references. */
    createRunToken(ref: ResourceRef, req?: RunRequest, options?: CallOptions): Promise<RunGrant>;
    /** Redeems a run token for its secrets (the runtime's call; at most once). */
    exchangeRunToken(token: string, options?: CallOptions): Promise<Release>;
    /**
     * Starts a run: authorizes `<type>:run`, records it and, with
     * `issueToken`, issues its run token. When a person must approve first,
     * `result` is "approval_required" with the approval and nothing is
     * recorded: start again with `approvalId` once granted. Not retried
     * after an ambiguous failure (a retry could record the run twice).
     */
    startRun(req: RunStartRequest, options?: CallOptions): Promise<RunStartResponse>;
    /** Reports how a run ended (the caller that started it or its runtime, once); secret values are redacted from what is kept. */
    finishRun(id: string, req: RunFinishRequest, options?: CallOptions): Promise<Run>;
    /** Reads a run (results:read in its namespace, or the caller's own). */
    getRun(id: string, options?: CallOptions): Promise<Run>;
    /** The runs the caller may read, newest first. */
    listRuns(options?: ListRunsOptions): Paginated<Run>;
    /** The approvals the caller may see (as requester or approver), newest first. */
    listApprovals(options?: ListApprovalsOptions): Paginated<Approval>;
    /** Reads an approval; with `wait`, long-polls while it is pending. Lists who may approve now. */
    getApproval(id: string, options?: GetApprovalOptions): Promise<Approval>;
    /** Approves a pending approval (an approver, once). */
    approve(id: string, options?: CallOptions & {
        comment?: string;
    }): Promise<Approval>;
    /** Denies a pending approval (one deny ends it). */
    deny(id: string, options?: CallOptions & {
        comment?: string;
    }): Promise<Approval>;
    /**
     * Long-polls an approval until it is no longer pending (granted, denied,
     * expired or consumed) and answers it; after `timeoutMs`, or when
     * `signal` aborts, answers the last state read (still pending).
     */
    waitForApproval(id: string, options?: WaitForApprovalOptions): Promise<Approval>;
}
/**
 * A list: iterate it (`for await (const m of org.listMembers())`) for every
 * item across pages, or read one page with {@link Paginated.page}.
 */
export declare class Paginated<T> implements AsyncIterable<T> {
    private readonly fetchPage;
    private readonly cursor;
    /** One page: the first, or the one at `cursor` (default: the list's starting cursor). */
    page(cursor?: string): Promise<Page<T>>;
    /** Every page, in order. */
    pages(): AsyncGenerator<Page<T>, void, undefined>;
    /** Every item, across pages. */
    [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined>;
}
/** Collects an async iterable (a list, a lookup) into an array. */
export declare function collect<T>(it: AsyncIterable<T>): Promise<T[]>;
