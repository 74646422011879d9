package directory

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// Approvals (DESIGN §1.1 item 8). The engine says a request needs approval
// (authz.Decision.ApprovalRequired); the directory keeps the approval
// records (store/approvals.go) and decides, for one question, whether an
// approval is pending, granted or used up.
//
// A question is (org, principal, on_behalf_of, action, resource type and
// id, namespace, the resource's spec version, SHA-256 of the canonical
// JSON of the request's arguments); its key is the SHA-256 of those. A
// changed argument, a new spec version or another principal is another
// question.
//
// Invariants:
//   - Fail closed. Anything that is not a granted, unexpired, unconsumed
//     approval of exactly this question, presented by the principal it is
//     for, leaves the answer approval_required (Allowed false).
//   - Once. Consuming is a compare-and-set from granted to consumed in a
//     store write (writers are serialized across processes), in the same
//     transaction as its audit entry: of any number of concurrent checks
//     presenting one approval, exactly one is allowed.
//   - No new record per retry: asking the same question again while an
//     approval is pending or granted returns it; only the principal itself
//     asking creates one (asking about someone else never does).
//   - Approvers are people: a user who holds decisions:approve in the
//     approval's namespace (and one role of each `from` list), never the
//     requesting principal, never an agent or a service; each approver
//     counts once; one deny ends the request.
//   - Nobody approves a request they stand behind (standsBehind): the
//     sponsors of a requesting service or agent (members of a sponsoring
//     team included), the creators of its live keys and the minter of the
//     credential that presents the approval, transitively. Judged when a
//     vote is cast and again when the votes are counted at use.
//   - Every state change is an audit entry in the transaction that makes
//     it: approval.request, approval.approve, approval.deny (with the
//     comment), approval.expire, approval.consume.

// ApprovalOptions tune approvals. The zero value is fine.
type ApprovalOptions struct {
	// PendingTTL is how long a request waits for approvers; 0 means 24h.
	PendingTTL time.Duration
	// UseWindow is how long a granted approval may wait to be used; 0
	// means 15 minutes.
	UseWindow time.Duration
	// Poll is how often a waiter re-reads an approval another process may
	// change; 0 means 250ms.
	Poll time.Duration
}

func (o ApprovalOptions) pendingTTL() time.Duration { return orDefault(o.PendingTTL, 24*time.Hour) }
func (o ApprovalOptions) useWindow() time.Duration  { return orDefault(o.UseWindow, 15*time.Minute) }

// Bounds of an org's approval lifetimes (SetOrgApprovalSettings).
const (
	MinApprovalLifetime = time.Minute
	MaxPendingTTL       = 30 * 24 * time.Hour
	MaxUseWindow        = 24 * time.Hour
)

// ApprovalLifetimes are the lifetimes an org's new approvals get: the
// org's settings, else the server's defaults (ApprovalOptions).
func (d *Directory) ApprovalLifetimes(s store.ApprovalSettings) store.ApprovalSettings {
	return store.ApprovalSettings{PendingTTL: orDefault(s.PendingTTL, d.opts.Approvals.pendingTTL()), UseWindow: orDefault(s.UseWindow, d.opts.Approvals.useWindow())}
}

// SetOrgApprovalSettings replaces the org's approval lifetimes (zero: the
// server's default). Needs org:update and the actor's org-scope level at
// the policy's top level (threat-model row 58): the two lifetimes govern
// every approval of the org, those of owner-level ask rules (and `from
// owner` ones) included, so lengthening how long a granted approval
// stays usable is the owners' to decide — as DeleteOrg is. Audited
// (org_approval_settings.set). Bounds: pending 1m to 30d, use window 1m
// to 24h, whole seconds. It applies to approvals asked for (pending) or
// granted (window) afterwards; existing ones keep the times they got.
func (d *Directory) SetOrgApprovalSettings(ctx context.Context, actor Actor, org string, s store.ApprovalSettings) (store.Org, uint64, error) {
	if err := checkApprovalLifetime("pending_ttl", s.PendingTTL, MaxPendingTTL); err != nil {
		return store.Org{}, 0, err
	}
	if err := checkApprovalLifetime("use_window", s.UseWindow, MaxUseWindow); err != nil {
		return store.Org{}, 0, err
	}
	var out store.Org
	rev, err := d.write(ctx, "set org approval settings", org, actor, func(o *op) error {
		if err := o.need("org:update", authz.Scope{}); err != nil {
			return err
		}
		if lvl, top := d.eng.HighestLevel(org, actor.Principal, authz.Scope{}), o.pol().TopLevel(); lvl < top && !o.off(ruleTarget) {
			return &EscalationError{Reason: ReasonTarget, Scope: authz.Scope{}, ActorLevel: lvl, Target: "the approvals of the org's owners", TargetLevel: top}
		}
		var err error
		out, err = o.tx.SetOrgApprovalSettings(ctx, org, s)
		return err
	})
	return out, rev, err
}

func checkApprovalLifetime(field string, v, max time.Duration) error {
	switch {
	case v == 0:
		return nil
	case v < MinApprovalLifetime || v > max:
		return invalid(field, "%s must be from %s to %s, or 0 for the server's default (got %s)", field, shortDuration(MinApprovalLifetime), shortDuration(max), v)
	case v%time.Second != 0:
		return invalid(field, "%s must be whole seconds (got %s)", field, v)
	}
	return nil
}

// shortDuration writes 720h as 30d and 1m0s as 1m.
func shortDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// orgLifetimes reads the org's approval lifetimes in tx.
func (d *Directory) orgLifetimes(ctx context.Context, r store.Reader, org string) (store.ApprovalSettings, error) {
	o, err := r.GetOrg(ctx, org)
	if err != nil {
		return store.ApprovalSettings{}, err
	}
	return d.ApprovalLifetimes(o.Approvals), nil
}
func (o ApprovalOptions) poll() time.Duration { return orDefault(o.Poll, 250*time.Millisecond) }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// ApprovalInput is what a check carries for approvals.
type ApprovalInput struct {
	// Arguments are the request's arguments (JSON; nil means none): the
	// approval is bound to their SHA-256.
	Arguments json.RawMessage
	// ApprovalID presents a granted approval to be consumed.
	ApprovalID string
	// Then, when set, runs inside the store write that consumes the
	// presented approval, after the consumption and its audit entry: what
	// the caller records about the allowed request (a run) commits with
	// the consumption, or neither does — an error from Then rolls the
	// consumption back and is CheckApproval's error. It is not called when
	// no approval is consumed (the caller then writes on its own).
	Then func(ctx context.Context, tx store.Tx, ap store.Approval) error
}

// MaxArgumentsBytes bounds a check's arguments.
const MaxArgumentsBytes = 64 << 10

// permApprove is what an approver holds (DESIGN §1.1 item 8).
var permApprove = policy.ApprovePermission

// CheckApproval decides req like Check and, when the engine answers
// approval_required, finds (or, for the principal asking about itself,
// creates) the approval of the question, or consumes the granted
// approval in.ApprovalID. It returns the approval involved, if any; a
// consumed approval turns the decision into an allow.
func (a *Asker) CheckApproval(ctx context.Context, req *authz.Request, in ApprovalInput) (authz.Decision, *store.Approval, error) {
	if len(in.Arguments) > MaxArgumentsBytes {
		return authz.Decision{}, nil, invalid("arguments", "arguments are larger than %d bytes", MaxArgumentsBytes)
	}
	if in.ApprovalID != "" && !validApprovalID(in.ApprovalID) {
		return authz.Decision{}, nil, invalid("approval_id", "%q is not an approval id (32 lower-case hex digits)", in.ApprovalID)
	}
	dec, err := a.Check(ctx, req)
	if err != nil || !dec.ApprovalRequired {
		return dec, nil, err // the common path: no digest, no store read
	}
	argsDigest, err := argumentsDigest(in.Arguments)
	if err != nil {
		return authz.Decision{}, nil, err
	}
	d := a.d
	q, err := d.question(ctx, req, argsDigest)
	if err != nil {
		return authz.Decision{}, nil, err
	}
	self := a.actor.Principal == req.Principal
	if in.ApprovalID != "" {
		if !self {
			return authz.Decision{}, nil, invalid("approval_id", "an approval is presented by the principal it is for (%s), not by %s", req.Principal, a.actor.Principal)
		}
		ap, ok, err := d.consume(ctx, a.actor, q, in.ApprovalID, dec, in.Then)
		if err != nil {
			return authz.Decision{}, nil, err
		}
		if ok {
			dec.Allowed, dec.ApprovalRequired, dec.Reason, dec.Asks = true, false, "", nil
			return dec, &ap, nil
		}
	}
	ap, err := d.pendingFor(ctx, a.actor, q, dec, self)
	if err != nil {
		return authz.Decision{}, nil, err
	}
	return dec, ap, nil
}

// argumentsDigest is the hex SHA-256 of the canonical JSON of args.
func argumentsDigest(args json.RawMessage) (string, error) {
	canon, err := canonicalArguments(args)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}

// canonicalArguments is the canonical JSON of args: object keys sorted,
// no insignificant white space, numbers as written (so 1 and 1.0 differ),
// strings in encoding/json's escaping; absent arguments are null.
func canonicalArguments(args json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(args)) == 0 {
		return []byte("null"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalid("arguments", "arguments are not JSON: %v", err)
	}
	if dec.More() {
		return nil, invalid("arguments", "arguments hold more than one JSON value")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, invalid("arguments", "arguments cannot be encoded: %v", err)
	}
	return b, nil
}

// question is a request bound to its resource's spec version and its
// arguments.
type question struct {
	req         authz.Request
	ns          string
	specVersion uint64
	argsDigest  string
	key         string
}

func (d *Directory) question(ctx context.Context, req *authz.Request, argsDigest string) (question, error) {
	q := question{req: *req, ns: req.Namespace, argsDigest: argsDigest}
	if q.ns == "" {
		q.ns = authz.DefaultNamespace
	}
	if req.ResourceID != "" {
		r, err := d.st.GetResource(ctx, req.Org, authz.ResourceRef{Namespace: q.ns, Type: req.ResourceType, ID: req.ResourceID})
		switch {
		case err == nil:
			q.specVersion = r.Version
		case !errors.Is(err, store.ErrNotFound):
			return question{}, mapErr("check", err)
		}
	}
	b, _ := json.Marshal([]any{req.Org, req.Principal, req.OnBehalfOf, req.Action, req.ResourceType, req.ResourceID, q.ns, q.specVersion, argsDigest})
	sum := sha256.Sum256(b)
	q.key = hex.EncodeToString(sum[:])
	return q, nil
}

func validApprovalID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// NewRecordID is a time-ordered random id for approvals and runs: 13 hex
// digits of microseconds, then 19 random ones.
func NewRecordID() string {
	var r [10]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%013x", time.Now().UnixMicro())[:13] + hex.EncodeToString(r[:])[:19]
}

// approvalTarget is what an approval's audit entries are about: its
// resource (so that namespace-scoped readers of the log see them).
func approvalTarget(ap store.Approval) string {
	t := "resource/" + ap.Namespace + "/" + ap.ResourceType
	if ap.ResourceID != "" {
		t += "/" + ap.ResourceID
	}
	return t
}

// approvalDetails is what every approval entry says about it.
func approvalDetails(ap store.Approval, extra map[string]any) json.RawMessage {
	m := map[string]any{
		"approval": ap.ID, "status": ap.Status, "principal": ap.Principal, "action": ap.ResourceType + ":" + ap.Action,
		"arguments_sha256": ap.ArgsDigest, "spec_version": ap.SpecVersion, "quorum": ap.Quorum,
	}
	if ap.OnBehalfOf != "" {
		m["on_behalf_of"] = ap.OnBehalfOf
	}
	for k, v := range extra {
		m[k] = v
	}
	return auditObject(m)
}

// recordApproval writes an approval's audit entry in tx.
func (d *Directory) recordApproval(ctx context.Context, tx store.Tx, actor Actor, action string, ap store.Approval, result audit.Result, msg string, extra map[string]any) error {
	e := audit.Entry{Org: ap.Org, Actor: d.auditActor(ctx, tx, ap.Org, actor), Action: action, Target: approvalTarget(ap),
		Result: result, Message: msg, Details: approvalDetails(ap, extra)}
	if err := d.rec.Record(ctx, tx, e); err != nil {
		return &Error{Pkg: pkg, Op: action, Msg: "the audit entry could not be written", Kind: ErrUnavailable, Cause: err}
	}
	return nil
}

// consume uses the granted approval id for q, once. ok is false (and the
// approval untouched) unless it is granted, unexpired, unconsumed and of
// exactly this question. A granted approval whose votes no longer meet
// what dec's rules ask now (an approver lost decisions:approve or its
// `from` role, the policy raised the quorum or named other roles) is
// expired instead: a stale grant is no allow (threat-model row 49).
func (d *Directory) consume(ctx context.Context, actor Actor, q question, id string, dec authz.Decision, then func(context.Context, store.Tx, store.Approval) error) (store.Approval, bool, error) {
	var out store.Approval
	ok := false
	var thenErr error
	_, err := d.st.Write(ctx, func(tx store.Tx) error {
		ok, thenErr = false, nil // a retried transaction starts over
		ap, err := tx.GetApproval(ctx, q.req.Org, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if ap.Key != q.key || ap.Status != store.ApprovalGranted {
			return nil // another question's, or not (or no longer) granted
		}
		if !tx.Now().Before(ap.UseBy) {
			return d.expire(ctx, tx, actor, ap, store.ApprovalGranted)
		}
		behind, err := d.standsBehind(ctx, tx, ap, actor.MintedBy)
		if err != nil {
			return err
		}
		if n, quorum := d.votesNow(ap, behind, dec); n < quorum {
			ap.Status, ap.DecidedAt = store.ApprovalExpired, tx.Now()
			if _, err := tx.UpdateApproval(ctx, ap, store.ApprovalGranted); err != nil {
				return err
			}
			return d.recordApproval(ctx, tx, actor, "approval.expire", ap, audit.Success, "", map[string]any{
				"was": store.ApprovalGranted, "why": "votes no longer meet the rules", "approvals": n, "quorum": quorum})
		}
		ap.Status, ap.ConsumedAt, ap.ConsumedBy = store.ApprovalConsumed, tx.Now(), actor.Principal
		if ap, err = tx.UpdateApproval(ctx, ap, store.ApprovalGranted); err != nil {
			return err
		}
		out, ok = ap, true
		if err := d.recordApproval(ctx, tx, actor, "approval.consume", ap, audit.Success, "", nil); err != nil {
			return err
		}
		if then != nil {
			thenErr = then(ctx, tx, ap)
			return thenErr
		}
		return nil
	})
	if err != nil {
		if thenErr != nil && errors.Is(err, thenErr) {
			return store.Approval{}, false, thenErr // the caller's own error, as it made it
		}
		return store.Approval{}, false, mapErr("check", err)
	}
	if ok {
		d.audited.fire()
	}
	return out, ok, nil
}

// votesNow counts the approving votes of ap cast by people who may
// approve it now, under the rules of dec (the decision that asks for it
// now), and returns the quorum those rules ask for.
func (d *Directory) votesNow(ap store.Approval, behind map[string]bool, dec authz.Decision) (n, quorum int) {
	cur := ap
	cur.Quorum, cur.From = 1, nil
	if need := authz.ApprovalOf(dec.Asks); need != nil {
		cur.Quorum, cur.From = need.Quorum, need.From
	}
	return d.validVotes(cur, behind), cur.Quorum
}

// validVotes counts ap's approving votes by distinct people who may
// approve ap now (mayApprove, by the engine's current state; behind is
// standsBehind's set): a vote whose voter has since lost
// decisions:approve, its `from` role or its membership, or who now stands
// behind the requesting principal, counts for nothing.
func (d *Directory) validVotes(ap store.Approval, behind map[string]bool) int {
	n := 0
	seen := map[string]bool{}
	for _, v := range ap.Votes {
		if v.Approve && !seen[v.By] && d.mayApprove(ap, behind, v.By) == "" {
			seen[v.By] = true
			n++
		}
	}
	return n
}

// expire marks ap (whose status is from) expired, with its audit entry.
func (d *Directory) expire(ctx context.Context, tx store.Tx, actor Actor, ap store.Approval, from string) error {
	ap.Status, ap.DecidedAt = store.ApprovalExpired, tx.Now()
	if _, err := tx.UpdateApproval(ctx, ap, from); err != nil {
		return err
	}
	return d.recordApproval(ctx, tx, actor, "approval.expire", ap, audit.Success, "", map[string]any{"was": from})
}

// live reports whether ap is still usable at now: pending before its
// expiry, granted before its use-by time.
func live(ap store.Approval, now time.Time) bool {
	switch ap.Status {
	case store.ApprovalPending:
		return now.Before(ap.ExpiresAt)
	case store.ApprovalGranted:
		return now.Before(ap.UseBy)
	}
	return false
}

// pendingFor returns the live approval of q, expiring dead ones on the
// way; when there is none and the principal asks about itself, it
// creates one (with its audit entry). Under the write lock, so that
// concurrent first askers share one record.
func (d *Directory) pendingFor(ctx context.Context, actor Actor, q question, dec authz.Decision, self bool) (*store.Approval, error) {
	// Fast path, no write: a live approval exists.
	found, err := d.st.FindApprovals(ctx, q.req.Org, q.key)
	if err != nil {
		return nil, mapErr("check", err)
	}
	now := time.Now()
	for _, ap := range found {
		if live(ap, now) {
			return &ap, nil
		}
	}
	if !self && len(found) == 0 {
		return nil, nil
	}
	var out *store.Approval
	_, err = d.st.Write(ctx, func(tx store.Tx) error {
		found, err := tx.FindApprovals(ctx, q.req.Org, q.key)
		if err != nil {
			return err
		}
		for _, ap := range found {
			if live(ap, tx.Now()) {
				out = &ap
				return nil
			}
			if err := d.expire(ctx, tx, actor, ap, ap.Status); err != nil {
				return err
			}
		}
		if !self {
			return nil
		}
		life, err := d.orgLifetimes(ctx, tx, q.req.Org)
		if err != nil {
			return err
		}
		ap := d.newApproval(actor, q, dec, tx.Now(), life.PendingTTL)
		if ap, err = tx.CreateApproval(ctx, ap); err != nil {
			return err
		}
		out = &ap
		return d.recordApproval(ctx, tx, actor, "approval.request", ap, audit.Success, "", map[string]any{"rules": ap.Rules})
	})
	if err != nil {
		return nil, mapErr("check", err)
	}
	d.audited.fire()
	d.apv.fire()
	return out, nil
}

func (d *Directory) newApproval(actor Actor, q question, dec authz.Decision, now time.Time, pendingTTL time.Duration) store.Approval {
	need := authz.ApprovalOf(dec.Asks)
	ap := store.Approval{
		ID: NewRecordID(), Org: q.req.Org, Key: q.key, Principal: q.req.Principal, OnBehalfOf: q.req.OnBehalfOf,
		Namespace: q.ns, ResourceType: q.req.ResourceType, ResourceID: q.req.ResourceID, Action: q.req.Action,
		SpecVersion: q.specVersion, ArgsDigest: q.argsDigest, Status: store.ApprovalPending, Quorum: 1,
		RequestedBy: actor.Principal, RequestedVia: actor.MintedBy, ExpiresAt: now.Add(pendingTTL),
	}
	if need != nil {
		ap.Quorum, ap.From = need.Quorum, need.From
	}
	for _, r := range dec.Asks {
		ap.Rules = append(ap.Rules, r.Text()+" ("+r.Owner+", "+r.Pos.String()+")")
	}
	return ap
}

// --- approvers

// mayApprove says why principal may not approve ap ("" when it may), by
// the engine's current state: a user, not the requesting principal nor
// anyone in behind (standsBehind's set; nil for none), holding
// decisions:approve in the approval's namespace and one role of each
// `from` list.
func (d *Directory) mayApprove(ap store.Approval, behind map[string]bool, principal string) string {
	kind, _, ok := splitPrincipal(principal)
	switch {
	case !ok || kind != authz.KindUser:
		return "only a person (a user) approves; agents and services cannot"
	case principal == ap.Principal:
		return "the requesting principal cannot approve its own request"
	case behind[principal]:
		return "a sponsor of the requesting principal, or who minted a credential of it, cannot approve its requests"
	case principal == ap.OnBehalfOf && d.ownAsks(ap, principal):
		return "the user acted for cannot approve a request its own roles ask approval for"
	}
	if len(d.eng.Missing(ap.Org, principal, authz.Scope{Namespace: ap.Namespace}, []policy.Permission{permApprove})) > 0 {
		return fmt.Sprintf("approving needs %s in namespace %s", permApprove, ap.Namespace)
	}
	for _, roles := range ap.From {
		if !slices.ContainsFunc(roles, func(r string) bool { return d.eng.HoldsRole(ap.Org, principal, ap.Namespace, r) }) {
			return fmt.Sprintf("approving needs role %s in namespace %s", strings.Join(roles, " or "), ap.Namespace)
		}
	}
	return ""
}

// ownAsks reports whether an `ask before` rule of user's own roles (at
// org scope, in ap's namespace or on ap's resource, directly or through a
// team) covers ap's action: the engine applies such a rule to a request
// made on the user's behalf so that a deputy cannot launder it, and the
// user approving it would lift it all the same (threat-model row 50).
// The rules' and bindings' conditions are not evaluated (the request's
// context is not kept): a rule that may apply counts, and an error counts
// as one — fail closed.
func (d *Directory) ownAsks(ap store.Approval, user string) bool {
	r, err := d.eng.Reach(ap.Org, user, time.Time{})
	if err != nil {
		return true
	}
	for _, nr := range r.Namespaces {
		if nr.Namespace != ap.Namespace {
			continue
		}
		for _, e := range nr.Entries {
			if e.Resource.ID != "" && (e.Resource.Type != ap.ResourceType || e.Resource.ID != ap.ResourceID) {
				continue
			}
			for _, a := range e.Asks {
				p := a.Rule.Permission
				if (p.Resource == policy.Wildcard || p.Resource == ap.ResourceType) && (p.Action == policy.Wildcard || p.Action == ap.Action) {
					return true
				}
			}
		}
	}
	return false
}

// standsBehind is who stands behind ap's requesting principal and so may
// not approve its requests (threat-model row 55): the principal itself,
// the minter of the credential it was asked with (ap.RequestedVia) and
// via (the minter of the credential at hand, if any); for a service,
// its sponsors and the creators of its live (unrevoked, unexpired) API
// keys; for an agent, its sponsors; for a team among those, its members;
// and so on for every service, agent and team reached. A user's keys are
// its own, so a user brings in nobody else. The set is read from r (the
// write's transaction, or the store); a principal that no longer exists
// brings in nobody.
//
// Agent tokens are not stored (they live at most an hour), so an agent
// token's minter counts when its token asked (RequestedVia) or presents
// the approval (via; the votes are counted again then): a minter who
// approved before minting has its vote counted for nothing at use.
func (d *Directory) standsBehind(ctx context.Context, r store.Reader, ap store.Approval, via string) (map[string]bool, error) {
	behind := map[string]bool{}
	queue := []string{ap.Principal, ap.RequestedVia, via}
	now := time.Now()
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == "" || behind[p] {
			continue
		}
		behind[p] = true
		kind, name, ok := splitPrincipal(p)
		if !ok {
			continue
		}
		var err error
		switch kind {
		case authz.KindTeam:
			var t store.Team
			if t, err = r.GetTeam(ctx, ap.Org, name); err == nil {
				queue = append(queue, t.Members...)
			}
		case authz.KindAgent:
			var a store.Agent
			if a, err = r.GetAgent(ctx, ap.Org, name); err == nil {
				queue = append(queue, a.Lifecycle().Sponsors...)
			}
		case authz.KindService:
			var s store.Service
			if s, err = r.GetService(ctx, ap.Org, name); err == nil {
				queue = append(queue, s.Sponsors...)
				var keys []store.APIKey
				keys, err = allPages(func(pg store.Page) ([]store.APIKey, string, error) {
					return r.ListAPIKeys(ctx, store.APIKeyFilter{Org: ap.Org, Principal: p}, pg)
				})
				for _, k := range keys {
					if k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt)) {
						queue = append(queue, k.CreatedBy)
					}
				}
			}
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return behind, nil
}

// Approvers lists who may approve ap now (people holding decisions:approve
// in its namespace, minus the requester and who stands behind it,
// filtered by `from`), sorted. nil when that cannot be read.
func (d *Directory) Approvers(ctx context.Context, ap store.Approval) []string {
	subs, _, err := d.eng.LookupSubjects(authz.LookupSubjectsRequest{Org: ap.Org, Namespace: ap.Namespace, Type: permApprove.Resource, Action: permApprove.Action})
	if err != nil {
		return nil
	}
	behind, err := d.standsBehind(ctx, d.st, ap, "")
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range subs {
		if d.mayApprove(ap, behind, s.Principal) == "" {
			out = append(out, s.Principal)
		}
	}
	return out
}

// sees reports whether actor may see ap: it is what it is about (the
// principal, the user acted for, the caller that asked), or actor may
// approve requests in its namespace.
func (d *Directory) sees(ap store.Approval, actor string) bool {
	if actor == ap.Principal || actor == ap.OnBehalfOf || actor == ap.RequestedBy {
		return true
	}
	return len(d.eng.Missing(ap.Org, actor, authz.Scope{Namespace: ap.Namespace}, []policy.Permission{permApprove})) == 0
}

// --- reads

// GetApproval returns an approval the actor may see (else ErrNotFound).
func (d *Directory) GetApproval(ctx context.Context, actor Actor, org, id string) (store.Approval, error) {
	var out store.Approval
	err := d.read(ctx, "get approval", org, actor, func(o *op) error {
		if !validApprovalID(id) {
			return errorf(ErrNotFound, o.name, "approval %q", id)
		}
		ap, err := o.r.GetApproval(ctx, org, id)
		if err != nil {
			return err
		}
		if !d.sees(ap, actor.Principal) {
			return errorf(ErrNotFound, o.name, "approval %q", id)
		}
		out = effective(ap, time.Now())
		return nil
	})
	return out, err
}

// effective shows a stored approval as it stands at now: a pending or
// granted one past its time is expired, whether or not a write has said
// so yet.
func effective(ap store.Approval, now time.Time) store.Approval {
	if (ap.Status == store.ApprovalPending || ap.Status == store.ApprovalGranted) && !live(ap, now) {
		ap.Status = store.ApprovalExpired
	}
	return ap
}

// ListApprovals lists the org's approvals the actor may see (status ""
// for all), newest first. A page may hold fewer than asked for when the
// actor may not see some.
func (d *Directory) ListApprovals(ctx context.Context, actor Actor, org, status string, p store.Page) ([]store.Approval, string, error) {
	var out []store.Approval
	var next string
	err := d.read(ctx, "list approvals", org, actor, func(o *op) error {
		stored := status
		switch status {
		case "", store.ApprovalPending, store.ApprovalGranted, store.ApprovalDenied, store.ApprovalConsumed:
		case store.ApprovalExpired:
			stored = "" // expired ones may still be stored as pending or granted
		default:
			return invalid("status", "%q is not pending, granted, denied, expired or consumed", status)
		}
		list, n, err := o.r.ListApprovals(ctx, org, store.ApprovalFilter{Status: stored}, p)
		if err != nil {
			return err
		}
		next = n
		now := time.Now()
		for _, ap := range list {
			ap = effective(ap, now)
			if d.sees(ap, actor.Principal) && (status == "" || ap.Status == status) {
				out = append(out, ap)
			}
		}
		return nil
	})
	return out, next, err
}

// WaitApproval returns the approval once it is no longer pending, or at
// until (whichever first), as GetApproval would.
func (d *Directory) WaitApproval(ctx context.Context, actor Actor, org, id string, until time.Time) (store.Approval, error) {
	for {
		wake := d.apv.wait()
		ap, err := d.GetApproval(ctx, actor, org, id)
		if err != nil || ap.Status != store.ApprovalPending || !time.Now().Before(until) {
			return ap, err
		}
		wait := min(time.Until(until), d.opts.Approvals.poll())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ap, nil
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// --- decisions of approvers

// DecideApproval records actor's answer to a pending approval: approve
// (granted once quorum distinct approvers agree) or deny (ends it). The
// comment is kept in the approval and its audit entry. Errors:
// ErrNotFound (no such approval, or one the actor may not see),
// ErrForbidden (the actor may not approve it: recorded), ErrConflict (not
// pending, expired, or the actor answered already).
func (d *Directory) DecideApproval(ctx context.Context, actor Actor, org, id string, approve bool, comment string) (store.Approval, error) {
	name := "deny approval"
	if approve {
		name = "approve approval"
	}
	if len(comment) > 2000 {
		return store.Approval{}, invalid("comment", "a comment is at most 2000 bytes")
	}
	var out store.Approval
	_, err := d.write(ctx, name, org, actor, func(o *op) error {
		if !validApprovalID(id) {
			return errorf(ErrNotFound, name, "approval %q", id)
		}
		ap, err := o.tx.GetApproval(ctx, org, id)
		if err != nil {
			return err
		}
		o.note.Target = approvalTarget(ap)
		if !d.sees(ap, actor.Principal) {
			return errorf(ErrNotFound, name, "approval %q", id)
		}
		behind, err := d.standsBehind(ctx, o.tx, ap, "")
		if err != nil {
			return err
		}
		if why := d.mayApprove(ap, behind, actor.Principal); why != "" {
			return &ForbiddenError{Permission: permApprove.String() + " (" + why + ")", Scope: authz.Scope{Namespace: ap.Namespace}}
		}
		now := o.tx.Now()
		if e := effective(ap, now); e.Status != store.ApprovalPending {
			return errorf(ErrConflict, name, "approval %s is %s", id, e.Status)
		}
		for _, v := range ap.Votes {
			if v.By == actor.Principal {
				return errorf(ErrConflict, name, "%s has answered approval %s already", actor.Principal, id)
			}
		}
		ap.Votes = append(ap.Votes, store.ApprovalVote{By: actor.Principal, Approve: approve, Comment: comment, At: now})
		n := d.validVotes(ap, behind) // earlier voters who lost the right count for nothing (rows 49, 55)
		switch {
		case !approve:
			ap.Status, ap.DecidedAt = store.ApprovalDenied, now
		case n >= ap.Quorum:
			life, err := d.orgLifetimes(ctx, o.tx, org)
			if err != nil {
				return err
			}
			ap.Status, ap.DecidedAt, ap.GrantedAt, ap.UseBy = store.ApprovalGranted, now, now, now.Add(life.UseWindow)
		}
		if out, err = o.tx.UpdateApproval(ctx, ap, store.ApprovalPending); err != nil {
			return err
		}
		o.note.Details = map[string]any{
			"approval": ap.ID, "status": ap.Status, "principal": ap.Principal, "action": ap.ResourceType + ":" + ap.Action,
			"approvals": n, "quorum": ap.Quorum, "comment": comment,
		}
		return nil
	})
	if err != nil {
		return store.Approval{}, err
	}
	d.apv.fire()
	return out, nil
}

// CodeQuorumUnreachable is the warning of an ask rule whose quorum is
// more than the people who could approve it in any namespace of the org.
const CodeQuorumUnreachable = "quorum-unreachable"

// ApprovalWarnings checks the org's current policy against its members
// (the server side of the linter's quorum check, which cannot see them),
// after the linter's ask-approver-below warnings (policy.ApproverLevelWarnings):
// an `ask before` rule whose quorum is larger than the number of people
// who could approve it — users holding decisions:approve in a namespace
// (and one of the rule's `from` roles there), never agents or services —
// in every namespace of the org can never be granted, and is a warning.
// Call it after the policy write (the engine must have reached it).
func (d *Directory) ApprovalWarnings(ctx context.Context, org string) (token.List, error) {
	pol, err := d.st.GetPolicy(ctx, org)
	if err != nil {
		return nil, mapErr("approval warnings", err)
	}
	m, _ := d.comp.load(pol.Text) // compiled (and cached) by the write
	if m == nil || !m.HasAsks() {
		return nil, nil
	}
	nss, err := allPages(func(p store.Page) ([]store.Namespace, string, error) { return d.st.ListNamespaces(ctx, org, p) })
	if err != nil {
		return nil, mapErr("approval warnings", err)
	}
	// Candidates per namespace: users holding decisions:approve there.
	cands := map[string][]string{}
	for _, ns := range nss {
		subs, _, err := d.eng.LookupSubjects(authz.LookupSubjectsRequest{Org: org, Namespace: ns.Name, Type: permApprove.Resource, Action: permApprove.Action})
		if err != nil {
			return nil, engineErr("approval warnings", err)
		}
		for _, s := range subs {
			cands[ns.Name] = append(cands[ns.Name], s.Principal)
		}
	}
	// Rules an approver below their role's level may lift (the linter's
	// ask-approver-below, also said where the policy is applied).
	out := policy.ApproverLevelWarnings(m)
	check := func(a *policy.AskRule) {
		most, where := 0, ""
		for _, ns := range nss {
			ap := store.Approval{Org: org, Namespace: ns.Name}
			if len(a.From) > 0 {
				ap.From = [][]string{a.From}
			}
			n := 0
			for _, p := range cands[ns.Name] {
				if d.mayApprove(ap, nil, p) == "" {
					n++
				}
			}
			if n > most || where == "" {
				most, where = n, ns.Name
			}
		}
		if a.Quorum <= most {
			return
		}
		who := "users holding " + permApprove.String()
		if len(a.From) > 0 {
			who += " and role " + strings.Join(a.From, " or ")
		}
		out.Warnf(a.Pos, CodeQuorumUnreachable,
			fmt.Sprintf("lower the quorum, or give %s to more people (agents and services never approve)", permApprove),
			"%s: `%s` needs %d approvers but at most %d can approve in any namespace of org %s (%s, namespace %s): its requests can never be granted",
			a.Owner, a.Text(), a.Quorum, most, org, who, where)
	}
	for _, r := range m.Roles {
		for _, a := range r.OwnAsks {
			check(a)
		}
	}
	for _, ag := range m.Agents {
		for _, a := range ag.Asks {
			check(a)
		}
	}
	out.Sort()
	return out, nil
}

// ArgumentsDigest is the hex SHA-256 of the canonical JSON of args, as an
// approval binds them (absent arguments are null). ErrInvalid when args
// is not one JSON value.
func ArgumentsDigest(args json.RawMessage) (string, error) { return argumentsDigest(args) }
