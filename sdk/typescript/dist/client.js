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
import { Transport } from "./transport.js";
import { snake, toWire } from "./wire.js";
import { MalformedAnswerError } from "./errors.js";
/** The most checks one batch request carries; longer lists are split. */
export const MAX_BATCH = 1000;
/** @internal The newest revision this client wrote (shared by its views). */
class RevisionTracker {
    value = 0;
    note(rev) {
        if (typeof rev === "number" && rev > this.value)
            this.value = rev;
    }
}
const seg = encodeURIComponent;
/** The members of CheckOptions that checkBody maps itself. */
const checkMembers = new Set([
    "principal", "action", "resource", "namespace", "context", "onBehalfOf", "arguments", "approvalId", "atTime", "atRevision", "atLeast", "signal", "timeoutMs",
]);
/** The wire form of an instant: a Date as RFC 3339, a string as it is. */
function instant(v) {
    if (v instanceof Date) {
        if (Number.isNaN(v.getTime()))
            throw new TypeError("gatehouse: an invalid Date");
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
    t;
    /** @internal */
    revs;
    /** @internal */
    track;
    constructor(options, t, revs) {
        this.t = t ?? new Transport(options);
        this.revs = revs ?? new RevisionTracker();
        this.track = options.trackRevisions ?? true;
    }
    /** The server's base URL. */
    get baseUrl() {
        return this.t.baseUrl;
    }
    /** The newest revision this client's writes returned (0 before any). */
    get revision() {
        return this.revs.value;
    }
    /** Records a revision learnt elsewhere (another process's write) so that decisions reflect it. */
    observeRevision(rev) {
        this.revs.note(rev);
    }
    /** A copy of the client that sends another credential, sharing the connection pool and the revision tracker. */
    withToken(token) {
        return new Gatehouse({ baseUrl: this.t.baseUrl, trackRevisions: this.track }, this.t.with({ token }), this.revs);
    }
    /** @internal A copy that relays for an end user's address (X-Forwarded-For). */
    forwardingFor(addr) {
        return new Gatehouse({ baseUrl: this.t.baseUrl, trackRevisions: this.track }, this.t.with({ forwardedFor: addr }), this.revs);
    }
    /** The calls inside one org. */
    org(id) {
        return new OrgClient(this, id);
    }
    /** @internal A write: performs it and records its revision. */
    async write(p) {
        const v = await p;
        if (v && typeof v === "object")
            this.revs.note(v.revision);
        return v;
    }
    /** @internal The at_least a decision asks for. */
    atLeast(explicit) {
        const n = Math.max(explicit ?? 0, this.track ? this.revs.value : 0);
        return n > 0 ? { atLeast: n } : undefined;
    }
    /** @internal A list, read page by page. */
    pages(path, query, o) {
        return new Paginated((cursor) => this.t.do({ method: "GET", path, query: { ...query, page_size: o?.pageSize, cursor } }, o), o?.cursor ?? "");
    }
    /** Who the credential is, and what it may do in each of its orgs (in `namespace`, default "default"). */
    me(options) {
        return this.t.do({ method: "GET", path: "/v1/me", query: { namespace: options?.namespace } }, options);
    }
    /** The orgs the caller belongs to. */
    listOrgs(options) {
        return this.pages("/v1/orgs", {}, options);
    }
    /** Creates an org from a template; the caller (a user) becomes its owner. */
    createOrg(req, options) {
        return this.write(this.t.do({ method: "POST", path: "/v1/orgs", body: req }, options));
    }
    /** Creates a session token for the caller. */
    createSession(options) {
        return this.t.do({ method: "POST", path: "/v1/sessions" }, options);
    }
    /** Redeems an invitation (anonymously, if the client has no token: then it may answer a session). */
    acceptInvitation(req, options) {
        return this.write(this.t.do({ method: "POST", path: "/v1/invitations/accept", body: req }, options));
    }
    /** Creates a personal API key (the caller's own). */
    createKey(spec, options) {
        return this.write(this.t.do({ method: "POST", path: "/v1/apikeys", body: spec }, options));
    }
    /** The caller's personal API keys. */
    listKeys(options) {
        return this.pages("/v1/apikeys", {}, options);
    }
    /** Revokes one of the caller's personal keys. */
    revokeKey(id, options) {
        return this.write(this.t.do({ method: "DELETE", path: "/v1/apikeys/" + seg(id) }, options));
    }
    /** Liveness. */
    healthz(options) {
        return this.t.do({ method: "GET", path: "/healthz", public: true }, options);
    }
    /** Readiness (an UnavailableError when not ready, after retries). */
    readyz(options) {
        return this.t.do({ method: "GET", path: "/readyz", public: true }, options);
    }
    /** The server's OpenAPI document, as it is. */
    openapi(options) {
        return this.t.do({ method: "GET", path: "/v1/openapi.json", public: true, raw: true }, options);
    }
}
/** The calls inside one org; from {@link Gatehouse.org}. */
export class OrgClient {
    /** The client it belongs to. */
    client;
    /** The org's id. */
    id;
    base;
    /** @param client - the client. @param id - the org. */
    constructor(client, id) {
        this.client = client;
        this.id = id;
        this.base = "/v1/orgs/" + seg(id);
    }
    get t() {
        return this.client.t;
    }
    w(p) {
        return this.client.write(p);
    }
    resPath(ref) {
        return `${this.base}/namespaces/${seg(ref.namespace)}/resources/${seg(ref.type)}/${seg(ref.id)}`;
    }
    // Decisions.
    /** May the principal (default: the caller) do the action on the resource? */
    async check(q) {
        return decision(await this.t.do({ method: "POST", path: this.base + "/check", body: this.checkBody(q), idem: "safe", wireBody: true }, q.signal || q.timeoutMs !== undefined ? { signal: q.signal, timeoutMs: q.timeoutMs } : undefined), "check");
    }
    /** The wire body of a check or an explain, built directly (the hot path skips the generic name conversion). */
    checkBody(q) {
        const c = this.client.atLeast(q.atLeast);
        const body = {
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
            if (!checkMembers.has(k))
                body[snake(k)] = toWire(q[k]);
        }
        return body;
    }
    /** `check(q).allowed`: true only on an explicit allow. */
    async allowed(q) {
        return (await this.check(q)).allowed === true;
    }
    /**
     * Many checks, answered independently and in order; sent as one request
     * per {@link MAX_BATCH} checks. `revision` is the largest of the answers'.
     */
    async checkBatch(checks, options) {
        const consistency = this.client.atLeast(options?.atLeast);
        const chunks = [];
        for (let i = 0; i < checks.length; i += MAX_BATCH)
            chunks.push(checks.slice(i, i + MAX_BATCH));
        if (chunks.length === 0)
            chunks.push([]);
        const answers = await Promise.all(chunks.map((c) => this.t.do({ method: "POST", path: this.base + "/checks", body: { checks: c, consistency }, idem: "safe" }, options)));
        return { results: answers.flatMap((a) => a.results ?? []), revision: Math.max(0, ...answers.map((a) => a.revision)) };
    }
    /** A decision with its reasons: the grants that allow, or what came closest. */
    async explain(q) {
        return decision(await this.t.do({ method: "POST", path: this.base + "/explain", body: this.checkBody(q), idem: "safe", wireBody: true }, { signal: q.signal, timeoutMs: q.timeoutMs }), "explain");
    }
    /** One page of a resource lookup. */
    lookupResourcesPage(q) {
        const { signal, timeoutMs, atLeast, atTime, atRevision, ...body } = q;
        const point = { atTime: instant(atTime), atRevision: atRevision || undefined };
        return this.t.do({ method: "POST", path: this.base + "/lookup/resources", body: { ...body, ...point, consistency: this.client.atLeast(atLeast) }, idem: "safe" }, { signal, timeoutMs });
    }
    /**
     * Every resource the principal may do the action on, page by page, in
     * (namespace, type, id) order; all pages are read at the revision of the
     * first (or later).
     */
    async *lookupResources(q) {
        let cursor = q.cursor ?? "";
        let atLeast = q.atLeast;
        for (;;) {
            const page = await this.lookupResourcesPage({ ...q, cursor, atLeast });
            for (const r of page.items ?? [])
                yield r;
            if (!page.nextCursor)
                return;
            cursor = page.nextCursor;
            atLeast = Math.max(atLeast ?? 0, page.revision);
        }
    }
    /** Who may do the action on the resource (teams expanded). */
    lookupSubjects(q) {
        const { signal, timeoutMs, atLeast, atTime, atRevision, ...body } = q;
        const point = { atTime: instant(atTime), atRevision: atRevision || undefined };
        return this.t.do({ method: "POST", path: this.base + "/lookup/subjects", body: { ...body, ...point, consistency: this.client.atLeast(atLeast) }, idem: "safe" }, { signal, timeoutMs });
    }
    /** What a principal holds in a namespace. */
    permissions(principal, options) {
        const c = this.client.atLeast(options?.atLeast);
        return this.t.do({
            method: "GET",
            path: `${this.base}/principals/${seg(principal)}/permissions`,
            query: { namespace: options?.namespace, at_least: c?.atLeast },
        }, options);
    }
    // The org.
    /** The org. */
    get(options) {
        return this.t.do({ method: "GET", path: this.base }, options);
    }
    /** Renames the org. */
    rename(name, options) {
        return this.w(this.t.do({ method: "PATCH", path: this.base, body: { name } }, options));
    }
    /** Deletes the org and everything in it. */
    delete(options) {
        return this.w(this.t.do({ method: "DELETE", path: this.base }, options));
    }
    // Namespaces.
    /** Creates a namespace. */
    createNamespace(name, options) {
        return this.w(this.t.do({ method: "POST", path: this.base + "/namespaces", body: { name } }, options));
    }
    /** The org's namespaces. */
    listNamespaces(options) {
        return this.client.pages(this.base + "/namespaces", {}, options);
    }
    /** One namespace. */
    getNamespace(name, options) {
        return this.t.do({ method: "GET", path: `${this.base}/namespaces/${seg(name)}` }, options);
    }
    /** Deletes a namespace; `cascade` deletes what is in it too. */
    deleteNamespace(name, options) {
        return this.w(this.t.do({ method: "DELETE", path: `${this.base}/namespaces/${seg(name)}`, query: { cascade: options?.cascade ? "true" : undefined } }, options));
    }
    // Members and invitations.
    /** Adds an existing user with an org-scope role. */
    addMember(userId, role, options) {
        return this.w(this.t.do({ method: "POST", path: this.base + "/members", body: { userId, role } }, options));
    }
    /** The org's members. */
    listMembers(options) {
        return this.client.pages(this.base + "/members", {}, options);
    }
    /** One member. */
    getMember(userId, options) {
        return this.t.do({ method: "GET", path: `${this.base}/members/${seg(userId)}` }, options);
    }
    /** Changes a member's org-scope role. */
    setMemberRole(userId, role, options) {
        return this.w(this.t.do({ method: "PATCH", path: `${this.base}/members/${seg(userId)}`, body: { role } }, options));
    }
    /** Removes a member (and their bindings). */
    removeMember(userId, options) {
        return this.w(this.t.do({ method: "DELETE", path: `${this.base}/members/${seg(userId)}` }, options));
    }
    /** Invites an email address with a role; the token is shown this once. */
    invite(req, options) {
        return this.w(this.t.do({ method: "POST", path: this.base + "/invitations", body: req }, options));
    }
    /** The org's invitations. */
    listInvitations(options) {
        return this.client.pages(this.base + "/invitations", {}, options);
    }
    /** Revokes an invitation. */
    revokeInvitation(id, options) {
        return this.w(this.t.do({ method: "DELETE", path: `${this.base}/invitations/${seg(id)}` }, options));
    }
    // Teams.
    /** Creates a team. */
    createTeam(req, options) {
        return this.w(this.t.do({ method: "POST", path: this.base + "/teams", body: req }, options));
    }
    /** The org's teams. */
    listTeams(options) {
        return this.client.pages(this.base + "/teams", {}, options);
    }
    /** One team, with its members. */
    getTeam(slug, options) {
        return this.t.do({ method: "GET", path: `${this.base}/teams/${seg(slug)}` }, options);
    }
    /** Renames a team. */
    renameTeam(slug, name, options) {
        return this.w(this.t.do({ method: "PATCH", path: `${this.base}/teams/${seg(slug)}`, body: { name } }, options));
    }
    /** Deletes a team. */
    deleteTeam(slug, options) {
        return this.w(this.t.do({ method: "DELETE", path: `${this.base}/teams/${seg(slug)}` }, options));
    }
    /** Adds a principal to a team. */
    addTeamMember(slug, principal, options) {
        return this.w(this.t.do({ method: "POST", path: `${this.base}/teams/${seg(slug)}/members`, body: { principal } }, options));
    }
    /** Removes a principal from a team. */
    removeTeamMember(slug, principal, options) {
        return this.w(this.t.do({ method: "DELETE", path: `${this.base}/teams/${seg(slug)}/members/${seg(principal)}` }, options));
    }
    // Roles.
    /** The org's roles. */
    listRoles(options) {
        return this.client.pages(this.base + "/roles", {}, options);
    }
    /** One role. */
    getRole(name, options) {
        return this.t.do({ method: "GET", path: `${this.base}/roles/${seg(name)}` }, options);
    }
    /** Defines a custom role. */
    createRole(spec, options) {
        return this.w(this.t.do({ method: "POST", path: this.base + "/roles", body: spec }, options));
    }
    /** Redefines a custom role. */
    putRole(name, body, options) {
        return this.w(this.t.do({ method: "PUT", path: `${this.base}/roles/${seg(name)}`, body }, options));
    }
    /** Deletes a custom role. */
    deleteRole(name, options) {
        return this.w(this.t.do({ method: "DELETE", path: `${this.base}/roles/${seg(name)}` }, options));
    }
    // Bindings and sharing.
    /** Grants a role to a principal at a scope. */
    createBinding(spec, options) {
        return this.w(this.t.do({ method: "POST", path: this.base + "/bindings", body: spec }, options));
    }
    /** The org's bindings, optionally filtered. */
    listBindings(options) {
        return this.client.pages(this.base + "/bindings", { principal: options?.principal, role: options?.role, namespace: options?.namespace }, options);
    }
    /** One binding. */
    getBinding(id, options) {
        return this.t.do({ method: "GET", path: `${this.base}/bindings/${seg(id)}` }, options);
    }
    /** Deletes a binding. */
    deleteBinding(id, options) {
        return this.w(this.t.do({ method: "DELETE", path: `${this.base}/bindings/${seg(id)}` }, options));
    }
    /**
     * Shares one resource with a principal, or with every holder of a role
     * ("role:operator"), for actions; with `expiresAt` or `expiresIn` only
     * until then ("run on chains/x for the next 30 minutes": `{ expiresIn: "30m" }`).
     */
    share(ref, principal, actions, options) {
        const body = { principal, actions, expiresAt: instant(options?.expiresAt), expiresIn: options?.expiresIn || undefined };
        return this.w(this.t.do({ method: "POST", path: this.resPath(ref) + "/shares", body }, options));
    }
    // Agents and services.
    /** Creates an agent bound to its role. */
    createAgent(spec, options) {
        return this.w(this.t.do({ method: "POST", path: this.base + "/agents", body: spec }, options));
    }
    /** The org's agents, optionally only those in one status. */
    listAgents(options) {
        return this.client.pages(this.base + "/agents", { status: options?.status }, options);
    }
    /** One agent. */
    getAgent(name, options) {
        return this.t.do({ method: "GET", path: `${this.base}/agents/${seg(name)}` }, options);
    }
    /** Changes an agent. */
    updateAgent(name, patch, options) {
        return this.w(this.t.do({ method: "PATCH", path: `${this.base}/agents/${seg(name)}`, body: patch }, options));
    }
    /** Deletes an agent. */
    deleteAgent(name, options) {
        return this.w(this.t.do({ method: "DELETE", path: `${this.base}/agents/${seg(name)}` }, options));
    }
    /**
     * Vouches for an agent now, as one of its sponsors (a sponsoring user or
     * a member of a sponsoring team; anyone else gets a ForbiddenError):
     * lifts `attestation_due` and `inactive`.
     */
    attestAgent(name, options) {
        return this.w(this.t.do({ method: "POST", path: `${this.base}/agents/${seg(name)}/attest` }, options));
    }
    /**
     * Mints a short-lived token for an agent, accepted only at `audience`
     * and refused by every API route; shown this once.
     */
    mintAgentToken(name, req, options) {
        return this.w(this.t.do({ method: "POST", path: `${this.base}/agents/${seg(name)}/tokens`, body: req }, options));
    }
    /** The org's suspension rules for agents (`{}`: none). */
    async getLifecycle(options) {
        return (await this.get(options)).lifecycle ?? {};
    }
    /** Replaces the org's suspension rules for agents (0 or absent: off; needs org:update). */
    setLifecycle(rules, options) {
        return this.w(this.t.do({ method: "PUT", path: this.base + "/lifecycle", body: rules }, options));
    }
    /**
     * A principal's blast radius ("agent:Triage", "user:bob", "service:ci"):
     * everything it could do if hijacked (yourself, or bindings:read).
     */
    reach(principal, options) {
        return this.t.do({ method: "GET", path: `${this.base}/principals/${seg(principal)}/reach` }, options);
    }
    /** Creates a service account. */
    createService(spec, options) {
        return this.w(this.t.do({ method: "POST", path: this.base + "/services", body: spec }, options));
    }
    /** The org's services; `status` keeps those in one status ("active", "suspended" for any reason, "sponsor_gone", "inactive", "attestation_due"). */
    listServices(options) {
        return this.client.pages(this.base + "/services", options?.status ? { status: options.status } : {}, options);
    }
    /** Changes a service's attributes, sponsors or lifecycle opt-in. */
    updateService(name, patch, options) {
        return this.w(this.t.do({ method: "PATCH", path: `${this.base}/services/${seg(name)}`, body: patch }, options));
    }
    /** Vouches, as a sponsor, for a service under the org's rules (lifts attestation_due and inactive). */
    attestService(name, options) {
        return this.w(this.t.do({ method: "POST", path: `${this.base}/services/${seg(name)}/attest` }, options));
    }
    /** One service. */
    getService(name, options) {
        return this.t.do({ method: "GET", path: `${this.base}/services/${seg(name)}` }, options);
    }
    /** Deletes a service. */
    deleteService(name, options) {
        return this.w(this.t.do({ method: "DELETE", path: `${this.base}/services/${seg(name)}` }, options));
    }
    /** Creates an API key for a service of this org (or the caller, confined to the org). */
    createKey(spec, options) {
        return this.w(this.t.do({ method: "POST", path: this.base + "/apikeys", body: spec }, options));
    }
    // Resources.
    /** Creates a resource at version 1. */
    createResource(spec, options) {
        return this.w(this.t.do({ method: "POST", path: this.base + "/resources", body: spec }, options));
    }
    /** The org's resources, optionally of one namespace and type. */
    listResources(options) {
        return this.client.pages(this.base + "/resources", { namespace: options?.namespace, type: options?.type }, options);
    }
    /** One resource with its current spec. */
    getResource(ref, options) {
        return this.t.do({ method: "GET", path: this.resPath(ref) }, options);
    }
    /** Changes a resource, recording a new version. */
    updateResource(ref, patch, options) {
        return this.w(this.t.do({ method: "PATCH", path: this.resPath(ref), body: patch }, options));
    }
    /** Deletes a resource. */
    deleteResource(ref, options) {
        return this.w(this.t.do({ method: "DELETE", path: this.resPath(ref) }, options));
    }
    /** A resource's recorded versions. */
    listResourceVersions(ref, options) {
        return this.client.pages(this.resPath(ref) + "/versions", {}, options);
    }
    // Policy.
    /** The org's current policy text. */
    getPolicy(options) {
        return this.t.do({ method: "GET", path: this.base + "/policy" }, options);
    }
    /** Compiles and lints a policy text without storing it. */
    validatePolicy(text, options) {
        return this.t.do({ method: "POST", path: this.base + "/policy/validate", body: { text }, idem: "safe" }, options);
    }
    /**
     * Replaces the org's policy text (an InvalidPolicyError carries the
     * diagnostics). The answer's `writeWarnings` name the API keys the new
     * policy stopped; its `warnings` are the policy's member-aware diagnostics.
     */
    putPolicy(text, options) {
        return this.w(this.t.do({ method: "PUT", path: this.base + "/policy", body: { text, force: options?.force || undefined } }, options));
    }
    // Secrets and runs.
    /** Creates a secret in a namespace. */
    createSecret(namespace, spec, options) {
        return this.w(this.t.do({ method: "POST", path: `${this.base}/namespaces/${seg(namespace)}/secrets`, body: spec }, options));
    }
    /** The secrets of a namespace (metadata only). */
    listSecrets(namespace, options) {
        return this.client.pages(`${this.base}/namespaces/${seg(namespace)}/secrets`, {}, options);
    }
    /** Issues a run token for a resource: single-use, short-lived, releasing the secrets its spec references. */
    createRunToken(ref, req, options) {
        return this.t.do({ method: "POST", path: this.resPath(ref) + "/runs", body: req ?? {} }, options);
    }
    /** Redeems a run token for its secrets (the runtime's call; at most once). */
    exchangeRunToken(token, options) {
        return this.t.do({ method: "POST", path: this.base + "/runs/exchange", body: { token } }, options);
    }
    /**
     * Starts a run: authorizes `<type>:run`, records it and, with
     * `issueToken`, issues its run token. When a person must approve first,
     * `result` is "approval_required" with the approval and nothing is
     * recorded: start again with `approvalId` once granted. Not retried
     * after an ambiguous failure (a retry could record the run twice).
     */
    startRun(req, options) {
        return this.t.do({ method: "POST", path: this.base + "/runs", body: req, idem: "write" }, options);
    }
    /** Reports how a run ended (the caller that started it or its runtime, once); secret values are redacted from what is kept. */
    finishRun(id, req, options) {
        return this.t.do({ method: "POST", path: `${this.base}/runs/${seg(id)}/finish`, body: req, idem: "write" }, options);
    }
    /** Reads a run (results:read in its namespace, or the caller's own). */
    getRun(id, options) {
        return this.t.do({ method: "GET", path: `${this.base}/runs/${seg(id)}` }, options);
    }
    /** The runs the caller may read, newest first. */
    listRuns(options) {
        return this.client.pages(this.base + "/runs", { resource: options?.resource, namespace: options?.namespace, status: options?.status }, options);
    }
    // Approvals.
    /** The approvals the caller may see (as requester or approver), newest first. */
    listApprovals(options) {
        return this.client.pages(this.base + "/approvals", { status: options?.status }, options);
    }
    /** Reads an approval; with `wait`, long-polls while it is pending. Lists who may approve now. */
    getApproval(id, options) {
        const wait = options?.wait;
        const secs = typeof wait === "number" ? wait : typeof wait === "string" ? parseFloat(wait) : 0;
        // The request may last the long-poll plus the usual time.
        const o = wait !== undefined && options?.timeoutMs === undefined ? { ...options, timeoutMs: this.t.timeoutMs + secs * 1000 } : options;
        return this.t.do({ method: "GET", path: `${this.base}/approvals/${seg(id)}`, query: { wait: wait === undefined ? undefined : String(wait) } }, o);
    }
    /** Approves a pending approval (an approver, once). */
    approve(id, options) {
        return this.t.do({ method: "POST", path: `${this.base}/approvals/${seg(id)}/approve`, body: { comment: options?.comment } }, options);
    }
    /** Denies a pending approval (one deny ends it). */
    deny(id, options) {
        return this.t.do({ method: "POST", path: `${this.base}/approvals/${seg(id)}/deny`, body: { comment: options?.comment } }, options);
    }
    /**
     * Long-polls an approval until it is no longer pending (granted, denied,
     * expired or consumed) and answers it; after `timeoutMs`, or when
     * `signal` aborts, answers the last state read (still pending).
     */
    async waitForApproval(id, options) {
        const deadline = options?.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
        const signal = options?.signal;
        let last;
        for (;;) {
            const left = deadline - Date.now();
            const wait = Math.max(0, Math.min(20, Math.floor((left - 1000) / 1000)));
            try {
                last = await this.getApproval(id, { wait, signal });
            }
            catch (err) {
                if (last && (signal?.aborted || Date.now() >= deadline))
                    return last;
                throw err;
            }
            if (last.status !== "pending" || signal?.aborted || Date.now() >= deadline)
                return last;
            // Under a second left the server cannot long-poll: poll a few times a second.
            await new Promise((r) => setTimeout(r, wait === 0 ? Math.min(250, Math.max(0, deadline - Date.now())) : 10));
        }
    }
}
/**
 * A list: iterate it (`for await (const m of org.listMembers())`) for every
 * item across pages, or read one page with {@link Paginated.page}.
 */
export class Paginated {
    fetchPage;
    cursor;
    /** @internal */
    constructor(fetchPage, cursor) {
        this.fetchPage = fetchPage;
        this.cursor = cursor;
    }
    /** One page: the first, or the one at `cursor` (default: the list's starting cursor). */
    page(cursor) {
        return this.fetchPage(cursor ?? this.cursor);
    }
    /** Every page, in order. */
    async *pages() {
        let cursor = this.cursor;
        for (;;) {
            const p = await this.fetchPage(cursor);
            yield p;
            if (!p.nextCursor)
                return;
            cursor = p.nextCursor;
        }
    }
    /** Every item, across pages. */
    async *[Symbol.asyncIterator]() {
        for await (const p of this.pages())
            yield* p.items ?? [];
    }
}
/** Checks that a decision answer says allowed or not in a boolean; anything else is malformed, never an allow. */
function decision(d, what) {
    if (typeof d.allowed !== "boolean")
        throw new MalformedAnswerError(`gatehouse: ${what}: the answer has no boolean "allowed"`);
    return d;
}
/** Collects an async iterable (a list, a lookup) into an array. */
export async function collect(it) {
    const out = [];
    for await (const x of it)
        out.push(x);
    return out;
}
