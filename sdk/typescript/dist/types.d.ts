/**
 * The Gatehouse wire types, in camelCase.
 *
 * Each interface tagged `@schema Name` mirrors the component schema `Name`
 * of the server's `/v1/openapi.json` member for member (the wire name is
 * the snake_case of the TypeScript name); a test fetches the document from
 * a running server and fails when a tagged interface names a member the
 * schema lacks, declares a member required that the server may omit, or
 * disagrees on its JSON type. Times are RFC 3339 strings as the server
 * sends them. Free-form maps (`attributes`, `labels`, `context`, `spec`)
 * are passed through untouched: their keys are yours, not converted.
 *
 * @module
 */
/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | {
    [key: string]: JsonValue;
};
/** A free-form JSON object (attributes, context). */
export type JsonObject = {
    [key: string]: unknown;
};
/** One page of a list: `nextCursor` is `""` on the last page. @schema List */
export interface Page<T> {
    /** The items of this page. */
    items: T[];
    /** The cursor of the next page; `""` on the last one. */
    nextCursor: string;
}
/** Asks for an answer at least as fresh as a revision. @schema Consistency */
export interface Consistency {
    /** The revision (a write's answer) the decision must reflect. */
    atLeast: number;
}
/** A tenant. @schema Org */
export interface Org {
    /** The org's id (a slug). */
    id: string;
    /** Its display name. */
    name: string;
    /** The template it was created from. */
    template?: string;
    /** When it was created. */
    createdAt: string;
    /** Its suspension rules for agents; absent: none. */
    lifecycle?: OrgLifecycle;
}
/**
 * An org's suspension rules for agents (docs/agents.md): agents unused for
 * `inactiveDays` are `inactive`, those no sponsor attested for
 * `attestationDays` are `attestation_due`; 0 or absent: the rule is off.
 * @schema OrgLifecycle
 */
export interface OrgLifecycle {
    /** Days without a use after which an agent is suspended (`inactive`). */
    inactiveDays?: number;
    /** Days without a sponsor's attestation after which an agent is suspended (`attestation_due`). */
    attestationDays?: number;
}
/** Creates an org from a template; the caller becomes its owner. @schema CreateOrgRequest */
export interface CreateOrgRequest {
    /** The org's id (a slug). */
    id: string;
    /** Its display name. */
    name?: string;
    /** The template ("agent-platform", "mentiko", …); the server's default when omitted. */
    template?: string;
}
/** A partition of an org. @schema Namespace */
export interface Namespace {
    /** The org. */
    org: string;
    /** The namespace's name. */
    name: string;
    /** When it was created. */
    createdAt: string;
}
/** A person, global to the deployment. @schema User */
export interface User {
    /** The user's id. */
    id: string;
    /** Their email address. */
    email?: string;
    /** Their display name. */
    displayName?: string;
    /** When the user was created. */
    createdAt: string;
}
/** A user's membership of an org (its role is a binding). @schema Member */
export interface Member {
    /** The org. */
    org: string;
    /** The member's user id. */
    userId: string;
    /** Attributes conditions can read. */
    attributes?: JsonObject;
    /** When they joined. */
    createdAt: string;
}
/** Adds an existing user to the org with a role at org scope. @schema MemberRequest */
export interface MemberRequest {
    /** The user to add. */
    userId: string;
    /** Their org-scope role. */
    role: string;
}
/** A set of principals of an org. @schema Team */
export interface Team {
    /** The org. */
    org: string;
    /** The team's slug (`team:<slug>`). */
    slug: string;
    /** Its display name. */
    name?: string;
    /** Its members' principal ids (filled by `getTeam` only). */
    members: string[] | null;
    /** When it was created. */
    createdAt: string;
}
/** Creates a team. @schema TeamRequest */
export interface TeamRequest {
    /** The team's slug. */
    slug: string;
    /** Its display name. */
    name?: string;
    /** Its first members (principal ids). */
    members?: string[];
}
/** One role of an org's policy. @schema Role */
export interface Role {
    /** The role's name. */
    name: string;
    /** Its level (escalation rules compare levels). */
    level: number;
    /** The roles it inherits from. */
    parents?: string[];
    /** Its permissions, flattened and sorted. */
    permissions: string[] | null;
    /** Whether it was defined through the API rather than the policy text. */
    custom: boolean;
}
/** Defines a custom role. @schema RoleSpec */
export interface RoleSpec {
    /** The role's name. */
    name: string;
    /** Its level. */
    level: number;
    /** Roles it inherits from. */
    parents?: string[];
    /** Its permissions ("chains:run", "tickets:*"). */
    permissions: string[];
}
/** Redefines a custom role (its name is in the path). @schema RoleBody */
export interface RoleBody {
    /** Its level. */
    level: number;
    /** Roles it inherits from. */
    parents?: string[];
    /** Its permissions. */
    permissions: string[];
}
/** One version of an org's policy text. @schema Policy */
export interface Policy {
    /** The org. */
    org: string;
    /** The policy version. */
    version: number;
    /** The policy text. */
    text: string;
    /** Who stored it. */
    author: string;
    /** When it was stored. */
    createdAt: string;
}
/** A position in a policy text. @schema Pos */
export interface Pos {
    /** The file name, if any. */
    file?: string;
    /** The byte offset. */
    offset: number;
    /** The line (1-based). */
    line: number;
    /** The column (1-based). */
    col: number;
}
/** One positioned policy finding. @schema Diagnostic */
export interface Diagnostic {
    /** Where. */
    pos: Pos;
    /** "error" or "warning". */
    severity: string;
    /** A stable code. */
    code: string;
    /** The message. */
    message: string;
    /** A one-line fix hint. */
    hint?: string;
}
/** The outcome of compiling and linting a policy text. @schema ValidateResponse */
export interface ValidateResponse {
    /** No errors (warnings allowed). */
    valid: boolean;
    /** The findings. */
    diagnostics: Diagnostic[] | null;
}
/** Where a binding applies: the whole org (empty), a namespace, or one resource. @schema Scope */
export interface Scope {
    /** The namespace; omitted for the whole org. */
    namespace?: string;
    /** The resource type (resource scope only). */
    type?: string;
    /** The resource id (resource scope only). */
    id?: string;
}
/** Names a resource: its namespace, type and id. @schema ResourceRef */
export interface ResourceRef {
    /** The namespace. */
    namespace: string;
    /** The resource type ("chains"). */
    type: string;
    /** The resource id. */
    id: string;
}
/** A binding as the engine sees it. @schema BindingCore */
export interface BindingCore {
    /** Unique within the org. */
    id: string;
    /** "user:alice", "team:support", "agent:Triage", "service:ci" or "role:operator". */
    principal: string;
    /** The role granted; empty iff `actions` is set. */
    role?: string;
    /** A share's actions on `scope.type`. */
    actions?: string[];
    /** Where it applies. */
    scope: Scope;
    /** A named condition that must hold. */
    condition?: string;
    /** When it stops granting anything (RFC 3339); absent: never. */
    expiresAt?: string;
}
/** A role (or, on one resource, an action list) granted to a principal at a scope. @schema Binding */
export interface Binding extends BindingCore {
    /** The org. */
    org: string;
    /** Who created it. */
    createdBy?: string;
    /** When it was created. */
    createdAt: string;
}
/** Creates a binding; an empty scope is the whole org. @schema BindingSpec */
export interface BindingSpec {
    /** The principal granted the role. */
    principal: string;
    /** The role. */
    role: string;
    /** Where it applies. */
    scope: Scope;
    /** A named condition that must hold. */
    condition?: string;
    /** When it stops granting (RFC 3339, in the future); at most one of this and `expiresIn`. */
    expiresAt?: string;
    /** How long it grants: a Go duration ("30m", "2h") from the server's clock. */
    expiresIn?: string;
}
/** Shares one resource with a principal (or every holder of a role) for actions. @schema ShareRequest */
export interface ShareRequest {
    /** "user:bob", "team:support" or "role:operator". */
    principal: string;
    /** The actions ("run", "read", "*"). */
    actions: string[];
    /** When the share stops granting (RFC 3339, in the future). */
    expiresAt?: string;
    /** How long it grants: a Go duration ("30m") from the server's clock. */
    expiresIn?: string;
}
/** An AI agent identity of an org. @schema Agent */
export interface Agent {
    /** The org. */
    org: string;
    /** The agent's name (`agent:<name>`). */
    name: string;
    /** Its role: its ceiling. */
    role: string;
    /** The accountable user. */
    sponsor?: string;
    /** When it expires. */
    expiresAt?: string;
    /** Attributes conditions can read. */
    attributes?: JsonObject;
    /** When it was created. */
    createdAt: string;
    /** The "user:<id>" members and "team:<slug>" teams answerable for it; when none is left it is suspended (`sponsor_gone`). */
    sponsors?: string[];
    /** Suspended by hand. */
    suspended?: boolean;
    /** When a sponsor last attested it. */
    attestedAt?: string;
    /** When it last acted (recorded at most hourly). */
    lastUsedAt?: string;
    /** "active", or why every decision for it is a deny now. */
    status?: AgentStatus;
}
/** An agent's status: active, or the first reason it can do nothing ({@link Agent.status}). */
export type AgentStatus = "active" | "expired" | "suspended" | "sponsor_gone" | "inactive" | "attestation_due";
/** Creates an agent bound to its role at a namespace (or the org). @schema AgentSpec */
export interface AgentSpec {
    /** The agent's name. */
    name: string;
    /** Its role. */
    role: string;
    /** Where the role applies; the whole org when omitted. */
    namespace?: string;
    /** The accountable user. */
    sponsor?: string;
    /** An RFC 3339 expiry. */
    expiresAt?: string;
    /** Attributes conditions can read. */
    attributes?: JsonObject;
    /** Its sponsors ("user:<id>", "team:<slug>", at most 16); default `sponsor`, else the creating user. */
    sponsors?: string[];
}
/** Changes an agent; omitted members keep their value. @schema AgentPatch */
export interface AgentPatch {
    /** A new role. */
    role?: string;
    /** A new sponsor. */
    sponsor?: string;
    /** An RFC 3339 time, or "" for never. */
    expiresAt?: string;
    /** New attributes (replacing the old). */
    attributes?: JsonObject;
    /** New sponsors, replacing the old (assigning one lifts `sponsor_gone`). */
    sponsors?: string[];
    /** Suspend it by hand (true) or lift that (false). */
    suspended?: boolean;
}
/** Asks for an agent token. @schema AgentTokenRequest */
export interface AgentTokenRequest {
    /** The absolute URL of the one endpoint that will accept it (an MCP gateway endpoint). */
    audience: string;
    /** A member user the agent acts for; a user may name only itself. */
    onBehalfOf?: string;
    /** Its lifetime, a Go duration ("10m"): default 5m, at most 1h. */
    ttl?: string;
}
/** A minted agent token, shown this once; every API route refuses it. @schema AgentToken */
export interface AgentToken {
    /** The revision of the audit entry. */
    revision: number;
    /** The token ("gha_…"): a credential, keep it secret. */
    token: string;
    /** "Bearer". */
    tokenType: string;
    /** Its id (in the audit log). */
    tokenId: string;
    /** "agent:<name>". */
    agent: string;
    /** The user it acts for. */
    onBehalfOf?: string;
    /** Where it is accepted. */
    audience: string;
    /** When it stops working. */
    expiresAt: string;
}
/** A minted agent token's metadata, as listed: never the token. @schema AgentTokenInfo */
export interface AgentTokenInfo {
    /** Its id: the `tokenId` minting answered. */
    id: string;
    /** "agent:<name>". */
    agent: string;
    /** The user it acts for. */
    onBehalfOf?: string;
    /** Where it is accepted. */
    audience: string;
    /** Who minted it. */
    createdBy: string;
    /** When it was minted. */
    createdAt: string;
    /** When it stops working. */
    expiresAt: string;
    /** When it was revoked, once revoked. */
    revokedAt?: string;
    /** Who revoked it, once revoked. */
    revokedBy?: string;
}
/** An `ask before` rule that applies to a principal. @schema ReachApproval */
export interface ReachApproval {
    /** The "<type>:<action>" that needs approval. */
    permission: string;
    /** The rule as written. */
    rule: string;
    /** Where it is written ("role operator"). */
    owner: string;
    /** The file and position ("policy:58:5"). */
    source?: string;
    /** How many distinct people must approve. */
    quorum: number;
    /** Roles of which an approver must hold one (absent: anyone with decisions:approve). */
    from?: string[];
    /** It applies only when all of these hold; absent: always. */
    conditions?: string[];
}
/** One permission pattern a principal holds: on every resource it covers, or on one `resource`. @schema ReachEntry */
export interface ReachEntry {
    /** The permission pattern ("chains:run", "chains:*"). */
    permission: string;
    /** The one resource of a grant on a single resource. */
    resource?: ResourceRef;
    /** How many existing resources it covers. */
    resources: number;
    /** It holds only when one of these does. */
    conditions?: string[];
    /** "all", "destructive", "change" or "read". */
    severity: "all" | "destructive" | "change" | "read";
    /** The approvals its actions need. */
    approvals?: ReachApproval[];
}
/** What a principal reaches in one namespace, most destructive first. @schema NamespaceReach */
export interface NamespaceReach {
    /** The namespace. */
    namespace: string;
    /** Its entries. */
    entries: ReachEntry[];
}
/** A secret the principal could cause to be injected. @schema SecretReach */
export interface SecretReach {
    /** The secret's namespace. */
    namespace: string;
    /** Its name. */
    name: string;
    /** Resources it may run whose specs reference it. */
    via: ResourceRef[];
    /** Those it may run only with a person's approval. */
    viaApproval?: ResourceRef[];
}
/** An MCP tool the principal may call. @schema ToolReach */
export interface ToolReach {
    /** The namespace. */
    namespace: string;
    /** "tools". */
    type: string;
    /** The tool's id. */
    id: string;
    /** Set when each call needs approval. */
    approvals?: ReachApproval[];
}
/** A principal's blast radius: everything it could do if hijacked. @schema Reach */
export interface Reach {
    /** The principal. */
    principal: string;
    /** The revision it was computed at. */
    revision: number;
    /** "active", or why it can do nothing now. */
    status: string;
    /** Per namespace, ranked most destructive first. */
    namespaces: NamespaceReach[];
    /** Secrets it could cause to be injected (where the caller may list secrets). */
    secrets?: SecretReach[];
    /** References to secrets the caller may not list. */
    hiddenSecrets?: number;
    /** MCP tools it may call. */
    tools?: ToolReach[];
    /** Only the first 2,000 resources in reach were scanned for secrets and tools. */
    truncated?: boolean;
    /** A few sentences for a person. */
    summary: string;
}
/** A runtime or CI account of an org. @schema Service */
export interface Service {
    /** The org. */
    org: string;
    /** The service's name (`service:<name>`). */
    name: string;
    /** Attributes conditions can read. */
    attributes?: JsonObject;
    /** When it was created. */
    createdAt: string;
    /** "active", or why every decision for it is denied now: "suspended", "sponsor_gone", "inactive", "attestation_due". */
    status?: string;
    /** Suspended by hand. */
    suspended?: boolean;
    /** Its sponsors ("user:<id>", "team:<slug>"); none by default. */
    sponsors?: string[];
    /** Opted in to the org's inactivity and attestation rules. */
    lifecycle?: boolean;
    /** The last attestation. */
    attestedAt?: string;
    /** The last recorded use. */
    lastUsedAt?: string;
}
/** Creates a service, optionally bound to a role. @schema ServiceSpec */
export interface ServiceSpec {
    /** The service's name. */
    name: string;
    /** Attributes conditions can read. */
    attributes?: JsonObject;
    /** A role to bind it to. */
    role?: string;
    /** Where the role applies; the whole org when omitted. */
    namespace?: string;
    /** Optional sponsors ("user:<id>", "team:<slug>"; at most 16). */
    sponsors?: string[];
    /** Opt in to the org's inactivity and attestation rules (needs sponsors). */
    lifecycle?: boolean;
}
/** Changes a service; omitted members keep their value. @schema ServicePatch */
export interface ServicePatch {
    /** New attributes (replacing the old). */
    attributes?: JsonObject;
    /** New sponsors (lifting sponsor_gone); [] for none. */
    sponsors?: string[];
    /** Opt in to (true) or out of (false) the org's inactivity and attestation rules. */
    lifecycle?: boolean;
}
/** A resource with its current spec. @schema Resource */
export interface Resource extends ResourceRef {
    /** The org. */
    org: string;
    /** Labels (keys and values are strings). */
    labels?: Record<string, string>;
    /** Attributes conditions can read. */
    attributes?: JsonObject;
    /** The spec (any JSON). */
    spec?: unknown;
    /** The current version (1 at creation). */
    version: number;
    /** Who made the current version. */
    updatedBy: string;
    /** When it was created. */
    createdAt: string;
    /** When the current version was made. */
    updatedAt: string;
}
/** Creates a resource at version 1. @schema ResourceSpec */
export interface ResourceSpec extends ResourceRef {
    /** Labels. */
    labels?: Record<string, string>;
    /** Attributes conditions can read. */
    attributes?: JsonObject;
    /** The spec (any JSON). */
    spec?: unknown;
}
/** Changes a resource and records a new version; omitted members keep their value, `spec: null` clears it. @schema ResourcePatch */
export interface ResourcePatch {
    /** New labels (replacing the old). */
    labels?: Record<string, string>;
    /** New attributes (replacing the old). */
    attributes?: JsonObject;
    /** A new spec; `null` clears it. */
    spec?: unknown;
    /** Fail with a ConflictError unless the current version is this one. */
    ifVersion?: number;
}
/** One recorded version of a resource. @schema ResourceVersion */
export interface ResourceVersion {
    /** The org. */
    org: string;
    /** The resource. */
    ref: ResourceRef;
    /** The version. */
    version: number;
    /** Its spec. */
    spec?: unknown;
    /** Its labels. */
    labels?: Record<string, string>;
    /** Its attributes. */
    attributes?: JsonObject;
    /** Who made it. */
    author: string;
    /** When. */
    createdAt: string;
}
/** An API key's metadata (never its secret). @schema APIKey */
export interface APIKey {
    /** The key's public id. */
    id: string;
    /** The org it is confined to; omitted for a personal key. */
    org?: string;
    /** Who it acts as. */
    principal: string;
    /** Its name. */
    name?: string;
    /** Who created it. */
    createdBy: string;
    /** When. */
    createdAt: string;
    /** When it expires. */
    expiresAt?: string;
    /** When it was revoked. */
    revokedAt?: string;
    /** When it was last used. */
    lastUsedAt?: string;
}
/** Creates an API key. @schema KeySpec */
export interface KeySpec {
    /** "user:<id>" or "service:<name>"; the caller when omitted. */
    principal?: string;
    /** A name. */
    name?: string;
    /** An RFC 3339 expiry. */
    expiresAt?: string;
}
/** A new API key with its token, shown this once. @schema KeyCreated */
export interface KeyCreated {
    /** The revision of the write. */
    revision: number;
    /** The key's metadata. */
    item: APIKey;
    /** The token (`gth_…`): store it now. */
    token: string;
}
/** An invitation of an email address to an org with a role. @schema Invitation */
export interface Invitation {
    /** The invitation's id. */
    id: string;
    /** The org. */
    org: string;
    /** The invited address. */
    email: string;
    /** The role it grants. */
    role: string;
    /** Who invited. */
    invitedBy: string;
    /** When. */
    createdAt: string;
    /** When it expires. */
    expiresAt: string;
    /** When it was accepted. */
    acceptedAt?: string;
    /** Who accepted it. */
    acceptedBy?: string;
    /** When it was revoked. */
    revokedAt?: string;
}
/** Invites an email address with a role. @schema InviteRequest */
export interface InviteRequest {
    /** The address. */
    email: string;
    /** The role. */
    role: string;
}
/** A new invitation with its token, shown this once. @schema InvitationCreated */
export interface InvitationCreated {
    /** The revision of the write. */
    revision: number;
    /** The invitation. */
    item: Invitation;
    /** The token the invitee redeems. */
    token: string;
}
/** Redeems an invitation token. @schema AcceptRequest */
export interface AcceptRequest {
    /** The invitation token. */
    token: string;
    /** The new user's id (default derived from the email). */
    userId?: string;
    /** The new user's display name. */
    displayName?: string;
}
/** A short-lived session token. @schema SessionResponse */
export interface SessionResponse {
    /** The token. */
    token: string;
    /** "Bearer". */
    tokenType: string;
    /** When it expires. */
    expiresAt: string;
    /** Who it acts as. */
    principal: string;
    /** The org it is confined to, if any. */
    org?: string;
}
/** The outcome of accepting an invitation. @schema AcceptResponse */
export interface AcceptResponse {
    /** The revision of the write. */
    revision: number;
    /** The user. */
    user: User;
    /** The org joined. */
    org: string;
    /** The role granted. */
    role: string;
    /** A session, for an anonymous acceptance that created the user. */
    session?: SessionResponse;
}
/** The answer of `/healthz` and `/readyz`. @schema Health */
export interface Health {
    /** "ok" or "unavailable". */
    status: string;
    /** The server's version. */
    version?: string;
    /** The revision the engine has reached. */
    engineRevision: number;
    /** The store's revision. */
    storeRevision?: number;
    /** Why it is unavailable. */
    detail?: string;
    /** The largest lag seen. */
    revisionLagMax?: number;
    /** Whether the change follower is healthy. */
    followerHealthy: boolean;
}
/** One effective permission pattern. @schema GrantOut */
export interface GrantOut {
    /** The pattern ("chains:*"). */
    permission: string;
    /** Any one must hold; none: unconditional. */
    conditions?: string[];
}
/** An org of the caller with what it may do there. @schema MeOrg */
export interface MeOrg {
    /** The org's id. */
    id: string;
    /** Its name. */
    name: string;
    /** The namespace the permissions are about. */
    namespace: string;
    /** The caller's permissions there. */
    permissions: GrantOut[] | null;
}
/** Describes the caller. @schema Me */
export interface Me {
    /** The caller's principal ("user:alice"). */
    principal: string;
    /** The org the credential is confined to, if any. */
    org?: string;
    /** "api_key" or "session". */
    via: string;
    /** The API key's id. */
    keyId?: string;
    /** When the credential expires. */
    expiresAt?: string;
    /** The user, for a user principal. */
    user?: User;
    /** The caller's orgs. */
    orgs: MeOrg[] | null;
}
/** Why a deny is a deny (absent when allowed); docs/api.md says what each means. */
export type DenyReason = "invalid_request" | "no_policy" | "unknown_namespace" | "invalid_delegation" | "not_member" | "expired" | "agent_ceiling" | "no_grant" | "condition_failed" | "condition_error" | (string & {});
/** A question: may `principal` do `action` on `resource` in `namespace`? @schema BatchItem */
export interface BatchItem {
    /** The principal asked about; the caller when omitted (another needs bindings:read). */
    principal?: string;
    /** "<type>:<action>", e.g. "chains:run" (no wildcards). */
    action: string;
    /** "<type>/<id>", or omitted to ask about the type in the namespace. */
    resource?: string;
    /** The namespace ("default" when omitted). */
    namespace?: string;
    /** Context conditions can read. */
    context?: JsonObject;
    /** The user an agent or service acts for (both must be allowed). */
    onBehalfOf?: string;
    /** The call's arguments (any JSON, sent as they are): an approval is bound to their canonical SHA-256. */
    arguments?: unknown;
    /** Presents a granted approval of exactly this question: the check is then allowed once. */
    approvalId?: string;
}
/** The body of a check or an explain. @schema CheckRequest */
export interface CheckRequest extends BatchItem {
    /** The revision the answer must reflect. */
    consistency?: Consistency;
    /** Ask about the past: the decision as it would have been at this instant (RFC 3339). */
    atTime?: string;
    /** Ask about the past: the decision as it would have been at this revision. */
    atRevision?: number;
}
/** An agent's obligation (must) or advice (should). @schema RuleOut */
export interface RuleOut {
    /** "must" or "should". */
    kind: string;
    /** The rule's text. */
    text: string;
    /** The action it is about. */
    action?: string;
    /** The resource it is about. */
    resource?: string;
    /** Its condition. */
    condition?: string;
}
/** A note on a decision for the integrator; it never changes the decision. @schema CheckWarning */
export interface CheckWarning {
    /** Machine-readable: "unknown_action" (the org's policy names no such action; given to callers holding policy:read only). */
    code: string;
    /** For people. */
    message: string;
}
/** The answer to a check. @schema CheckResponse */
export interface CheckResponse {
    /** The decision: branch on this and nothing else. */
    allowed: boolean;
    /** The revision the decision was made at. */
    revision: number;
    /** An agent's obligations. */
    obligations?: RuleOut[];
    /** An agent's advice. */
    advice?: RuleOut[];
    /** Why a deny is a deny. */
    reason?: DenyReason;
    /** "approval_required" when the request needs a person's approval first (`allowed` is then false). */
    result?: string;
    /** The approval a request that needs one waits for. */
    approval?: Approval;
    /** Notes that never change the decision (unknown_action). */
    warnings?: CheckWarning[];
}
/** A batch of checks. @schema BatchCheckRequest */
export interface BatchCheckRequest {
    /** At most 1,000 checks (the SDK splits longer lists). */
    checks: BatchItem[];
    /** The revision the answers must reflect. */
    consistency?: Consistency;
}
/** One answer of a batch: `error` is set iff the item could not be decided. @schema BatchResult */
export interface BatchResult {
    /** The decision. */
    allowed: boolean;
    /** An agent's obligations. */
    obligations?: RuleOut[];
    /** An agent's advice. */
    advice?: RuleOut[];
    /** Why a deny is a deny. */
    reason?: DenyReason;
    /** "approval_required" when the item needs a person's approval first (`allowed` is then false). */
    result?: string;
    /** The approval the item waits for, or the one its allow consumed. */
    approval?: Approval;
    /** Notes that never change the decision, as CheckResponse's. */
    warnings?: CheckWarning[];
    /** Why the item could not be decided. */
    error?: Problem;
}
/** The answers to a batch, in request order. @schema BatchCheckResponse */
export interface BatchCheckResponse {
    /** One result per check. */
    results: BatchResult[];
    /** The revision the answers were made at (the largest, over split batches). */
    revision: number;
}
/** One step of an explanation. @schema TraceOut */
export interface TraceOut {
    /** The binding. */
    binding: BindingCore;
    /** The team it came through. */
    via?: string;
    /** The role. */
    role?: string;
    /** The permission pattern. */
    pattern?: string;
    /** The condition. */
    condition?: string;
    /** Whether the condition held. */
    conditionHeld?: boolean;
    /** Why the condition could not be evaluated. */
    conditionError?: string;
    /** A note. */
    note?: string;
}
/** A decision with the reasons. @schema ExplainResponse */
export interface ExplainResponse {
    /** The decision. */
    allowed: boolean;
    /** The revision it was made at. */
    revision: number;
    /** Why a deny is a deny. */
    reason?: DenyReason;
    /** One sentence saying why. */
    summary: string;
    /** The grants that allow. */
    grants: TraceOut[] | null;
    /** What came closest, for a deny. */
    near: TraceOut[] | null;
    /** An agent's obligations. */
    obligations?: RuleOut[];
    /** An agent's advice. */
    advice?: RuleOut[];
}
/** Asks which resources a principal may act on. @schema LookupResourcesRequest */
export interface LookupResourcesRequest {
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
    /** Items per page (default 100, at most 10,000). */
    pageSize?: number;
    /** The page to read. */
    cursor?: string;
    /** The revision the answer must reflect. */
    consistency?: Consistency;
    /** The lookup as it would have been at this instant (a cursor is for the same point only). */
    atTime?: string;
    /** The lookup as it would have been at this revision. */
    atRevision?: number;
}
/** One page of a resource lookup, in (namespace, type, id) order. @schema LookupResourcesResponse */
export interface LookupResourcesResponse {
    /** The resources. */
    items: ResourceRef[] | null;
    /** The next page's cursor; "" on the last. */
    nextCursor: string;
    /** The revision the answer was made at. */
    revision: number;
    /** "unknown_namespace" when the lookup names a namespace the org does not have (items is then empty), as a check answers; absent otherwise. */
    reason?: string;
}
/** Asks who may do an action on a resource. @schema LookupSubjectsRequest */
export interface LookupSubjectsRequest {
    /** The action. */
    action: string;
    /** "<type>/<id>"; the type in the namespace when omitted. */
    resource?: string;
    /** The namespace. */
    namespace?: string;
    /** Context conditions can read. */
    context?: JsonObject;
    /** The revision the answer must reflect. */
    consistency?: Consistency;
    /** Who could have, at this instant. */
    atTime?: string;
    /** Who could have, at this revision. */
    atRevision?: number;
}
/** A principal that may do something, with the teams or roles it came through. @schema Subject */
export interface Subject {
    /** The principal. */
    principal: string;
    /** The teams (and roles) the grant came through. */
    via?: string[];
}
/** Principals who may (teams expanded). @schema LookupSubjectsResponse */
export interface LookupSubjectsResponse {
    /** The principals. */
    items: Subject[] | null;
    /** The revision the answer was made at. */
    revision: number;
    /** "unknown_namespace" when the lookup names a namespace the org does not have (items is then empty), as a check answers; absent otherwise. */
    reason?: string;
}
/** What a principal holds in a namespace. @schema PermissionsResponse */
export interface PermissionsResponse {
    /** The principal. */
    principal: string;
    /** The namespace. */
    namespace: string;
    /** Its effective permissions. */
    items: GrantOut[] | null;
    /** The revision the answer was made at. */
    revision: number;
    /** "unknown_namespace" when the namespace is not the org's (items is then empty); absent otherwise. */
    reason?: string;
}
/** Replaces the org's policy text. @schema PolicyRequest */
export interface PolicyRequest {
    /** The policy text. */
    text: string;
    /** Drop bindings and agents of removed roles instead of refusing. */
    force?: boolean;
}
/** Asks for a run token. @schema RunRequest */
export interface RunRequest {
    /** The only service principal that may exchange the token ("service:runner"). */
    runtime?: string;
    /** Shortens the token's life below the server's default. */
    ttlSeconds?: number;
}
/** A run token: short-lived, single-use, releasing the secrets the resource's spec references. @schema RunGrant */
export interface RunGrant {
    /** The token (hand it to the runtime). */
    token: string;
    /** Its id. */
    tokenId: string;
    /** The resource it runs. */
    resource: ResourceRef;
    /** The resource's version it is bound to. */
    resourceVersion: number;
    /** When it expires. */
    expiresAt: string;
    /** The runtime that may exchange it. */
    runtime?: string;
    /** How many secrets it releases. */
    secretCount: number;
    /** Their names. */
    secrets?: string[];
}
/** One released secret. @schema Released */
export interface Released {
    /** The secret's name. */
    name: string;
    /** Its version. */
    version: number;
    /** Its value. */
    value: string;
}
/** What a run token's exchange hands the runtime. @schema Release */
export interface Release {
    /** The resource. */
    resource: ResourceRef;
    /** Its version. */
    resourceVersion: number;
    /** Who issued the token. */
    issuedBy: string;
    /** The secrets. */
    secrets: Released[] | null;
}
/** A secret's metadata (never its value). @schema Secret */
export interface Secret {
    /** The org. */
    org: string;
    /** The namespace. */
    namespace: string;
    /** The secret's name ([A-Z_][A-Z0-9_]*). */
    name: string;
    /** Its description. */
    description?: string;
    /** Its current version. */
    version: number;
    /** When it expires. */
    expiresAt?: string;
    /** Who may reference it from a resource spec. */
    referableBy?: string[];
    /** Who created it. */
    createdBy: string;
    /** When. */
    createdAt: string;
    /** Who last changed it. */
    updatedBy: string;
    /** When. */
    updatedAt: string;
    /** When it was last rotated. */
    rotatedAt?: string;
    /** When it was last used. */
    lastUsedAt?: string;
}
/** Creates a secret with its first value. @schema SecretCreate */
export interface SecretCreate {
    /** The name ([A-Z_][A-Z0-9_]*). */
    name: string;
    /** The value. */
    value: string;
    /** A description. */
    description?: string;
    /** An RFC 3339 expiry. */
    expiresAt?: string;
    /** Who may reference it ("role:builder", "user:bob"); anyone with secrets:list when omitted. */
    referableBy?: string[];
}
/** An RFC 9457 problem document with Gatehouse's extension members. @schema Problem */
export interface Problem {
    /** The problem type URI (`https://gatehouse.dev/problems/<kind>`): branch on it. */
    type: string;
    /** A short title. */
    title: string;
    /** The HTTP status. */
    status: number;
    /** What went wrong. */
    detail?: string;
    /** The request path. */
    instance?: string;
    /** The request id (also in the server's logs). */
    requestId?: string;
    /** The offending request field (400). */
    field?: string;
    /** The permission the caller lacks (403). */
    missingPermission?: string;
    /** The scope it was needed at. */
    scope?: string;
    /** The escalation rule that refused (403 escalation). */
    reason?: string;
    /** The role handed out. */
    role?: string;
    /** The permissions the caller lacks. */
    missingPermissions?: string[];
    /** The protected target. */
    target?: string;
    /** A policy's positioned diagnostics (422). */
    errors?: Diagnostic[];
    /** Retry-After in seconds (429, 503). */
    retryAfter?: number;
}
/** The answer to a write that returns what it wrote. @schema Written */
export interface Written<T> {
    /** The revision the write committed. */
    revision: number;
    /** What it wrote. */
    item: T;
    /** What the write stopped (absent when nothing): API keys whose service now outranks their minter. */
    warnings?: WriteWarning[];
}
/** The answer to a write that returns nothing else. @schema Revision */
export interface Revision {
    /** The revision the write committed. */
    revision: number;
    /** What the write stopped (absent when nothing), as Written's. */
    warnings?: WriteWarning[];
}
/**
 * The answer to a policy write (`putPolicy`): its revision, what the
 * server found about the applied policy that needs the org's members
 * (`warnings`: quorum-unreachable, an ask rule whose quorum is more than the
 * people who could approve it) and what the new policy stopped
 * (`writeWarnings`, as a {@link Revision}'s `warnings`). @schema PolicyApplied
 */
export interface PolicyApplied {
    /** The revision the write committed. */
    revision: number;
    /** The policy's member-aware warnings (absent when none). */
    warnings?: Diagnostic[];
    /** What the write stopped (absent when nothing): API keys whose service now outranks their minter. */
    writeWarnings?: WriteWarning[];
}
/**
 * What a write that succeeded stops: code "credentials-outrank-minter" —
 * API keys whose service now outranks the member that minted them (it was
 * raised, or the minter lowered), every use of which is refused 403
 * credential-outranks-minter. `credentials` lists them only to a caller that
 * may read them (apikeys:read); `count` always says how many. @schema WriteWarning
 */
export interface WriteWarning {
    /** Machine-readable: "credentials-outrank-minter". */
    code: string;
    /** The org of the keys, on a route whose path names none (DELETE /v1/me: a warning per org left). */
    org?: string;
    /** For people: what the write stopped and what to do. */
    message: string;
    /** How many keys it stopped. */
    count: number;
    /** `count` is a lower bound. */
    truncated?: boolean;
    /** The keys, to a caller that may read them (apikeys:read); absent otherwise. */
    credentials?: OutrankedCredential[];
}
/** A minted API key or agent token its minter no longer stands behind (never its secret). @schema OutrankedCredential */
export interface OutrankedCredential {
    /** "api_key" or "agent_token"; absent from a server older than agent tokens' naming, which names API keys only. */
    kind?: "api_key" | "agent_token";
    /** The key's id (an API key's token starts "gth_<id>_"), or the agent token's token_id. */
    id: string;
    /** The credential's principal ("service:deploy", "agent:Helper"). */
    principal: string;
    /** Who minted it ("user:adm"). */
    minter: string;
    /** Where the principal outranks the minter ("org", "ns/prod", ...). */
    scope?: string;
    /** The refusal its next use will get. */
    reason: string;
}
/** One approver's answer to an approval. @schema ApprovalVote */
export interface ApprovalVote {
    /** The approver ("user:alice"). */
    by: string;
    /** true: approved; false: denied. */
    approve: boolean;
    /** The approver's comment. */
    comment?: string;
    /** When. */
    at: string;
}
/**
 * A request for people's approval of one exact question (org, principal,
 * on-behalf-of, action, resource, namespace, spec version, arguments).
 * @schema Approval
 */
export interface Approval {
    /** The approval's id. */
    id: string;
    /** The org. */
    org: string;
    /** "pending", "granted", "denied", "expired" or "consumed". */
    status: "pending" | "granted" | "denied" | "expired" | "consumed" | (string & {});
    /** The principal whose request it is. */
    principal: string;
    /** The user that principal acts for. */
    onBehalfOf?: string;
    /** "<type>:<action>". */
    action: string;
    /** "<type>/<id>". */
    resource?: string;
    /** The namespace. */
    namespace: string;
    /** The resource's spec version it is bound to. */
    specVersion?: number;
    /** The SHA-256 of the canonical JSON of the request's arguments. */
    argumentsSha256: string;
    /** How many distinct approvers must grant it. */
    quorum: number;
    /** Per rule restricting its approvers, the roles of which an approver must hold one. */
    from?: string[][];
    /** The `ask before` rules that apply, with their positions. */
    rules?: string[];
    /** Who may approve now (on reads of one approval). */
    approvers?: string[];
    /** The answers so far. */
    votes?: ApprovalVote[];
    /** Who asked. */
    requestedBy: string;
    /** When it was requested. */
    createdAt: string;
    /** When it expires (pending: to be decided; granted: to be used). */
    expiresAt: string;
    /** A granted approval must be used by then. */
    useBy?: string;
    /** When it was used. */
    consumedAt?: string;
}
/** The body of an approve or a deny. @schema ApprovalDecisionRequest */
export interface ApprovalDecisionRequest {
    /** A comment, kept in the approval and the audit log. */
    comment?: string;
}
/** Starts a run. @schema RunStartRequest */
export interface RunStartRequest {
    /** "<type>/<id>" ("chains/deploy"). */
    resource: string;
    /** The namespace ("default" when omitted). */
    namespace?: string;
    /** The user the caller acts for. */
    onBehalfOf?: string;
    /** The run's input (any JSON, sent as it is): an approval is bound to it as the request's arguments. */
    input?: unknown;
    /** Presents a granted approval of this run. */
    approvalId?: string;
    /** Also issue the vault's run token (secret injection). */
    issueToken?: boolean;
    /** The only service that may exchange the token and finish the run ("service:runner"). */
    runtime?: string;
}
/** One recorded execution of a runnable resource. @schema Run */
export interface Run {
    /** The run's id. */
    id: string;
    /** The org. */
    org: string;
    /** The namespace. */
    namespace: string;
    /** "<type>/<id>". */
    resource: string;
    /** The resource's spec version it ran. */
    specVersion: number;
    /** The principal that ran it. */
    principal: string;
    /** The user it acted for. */
    onBehalfOf?: string;
    /** Who triggered it. */
    triggeredBy: string;
    /** The approval it used. */
    approvalId?: string;
    /** The runtime it named. */
    runtime?: string;
    /** "running", "succeeded" or "failed". */
    status: "running" | "succeeded" | "failed" | (string & {});
    /** The SHA-256 of its input. */
    inputSha256: string;
    /** The input's size in bytes. */
    inputSize: number;
    /** The input's first 1 KiB. */
    inputSummary?: string;
    /** Its error (secret values redacted). */
    error?: string;
    /** The SHA-256 of its (redacted) output. */
    outputSha256?: string;
    /** The output's size in bytes. */
    outputSize?: number;
    /** The last 1 KiB of its output, secret values redacted. */
    outputSummary?: string;
    /** When it started. */
    startedAt: string;
    /** When it finished. */
    finishedAt?: string;
    /** How long it ran. */
    durationMs?: number;
}
/** The answer to a run start: the run (and its token), or the approval it needs first. @schema RunStartResponse */
export interface RunStartResponse {
    /** "started" or "approval_required". */
    result: "started" | "approval_required" | (string & {});
    /** The run (when started). */
    run?: Run;
    /** The approval to wait for (when approval_required; nothing was recorded). */
    approval?: Approval;
    /** The run token (when asked for with issueToken). */
    runToken?: RunGrant;
}
/** Reports how a run ended. @schema RunFinishRequest */
export interface RunFinishRequest {
    /** "succeeded" or "failed". */
    status: "succeeded" | "failed" | (string & {});
    /** Its error. */
    error?: string;
    /** Its output (send its tail, at most 1 MiB): the server redacts secret values before keeping the last 1 KiB. */
    output?: string;
}
