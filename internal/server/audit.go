package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Audit routes (issue 7): reading, following and verifying an org's audit
// log, and exporting its checkpoints. All need audit:read at org scope,
// except the log itself and a resource's history, which a caller holding
// audit:read only in some namespaces reads for those namespaces (the
// entries about them, no org-level entry); the directory checks it. (They
// do not declare Route.Perm: every built-in role, viewer included, holds
// audit:read, and Perm marks routes a viewer is refused.)
//
// What a reader sees is redacted by the directory (directory.AuditView):
// without secrets:list in a namespace, entries about its secrets come
// with the names replaced and "redacted": true, a filter naming such a
// secret matches nothing, and a reader without secrets:list at org scope
// gets no hashes, no checkpoints (403 naming secrets:list) and no chain
// head from verify. docs/audit.md, "Redaction".

// auditQuery are the filters of GET /v1/orgs/{org}/audit.
var auditQuery = []Param{
	{"actor", "string", "exact principal, e.g. user:alice"},
	{"action", "string", "exact action, or a prefix ending in '*' (bindings.*)"},
	{"target", "string", "exact target, e.g. binding/b1"},
	{"result", "string", "success, denied or error"},
	{"since", "string", "RFC 3339 time: entries at or after it"},
	{"until", "string", "RFC 3339 time: entries before it"},
	{"after", "integer", "entries with a sequence number above it (to follow the log)"},
	{"order", "string", "oldest (default) or newest first"},
	{"wait", "integer", "seconds (at most 30) to wait for new entries when there are none yet (long poll, with after)"},
}

// AuditVerifyRequest gives exported checkpoints to check the log against.
type AuditVerifyRequest struct {
	Checkpoints []audit.Checkpoint `json:"checkpoints,omitempty"`
}

// AuditVerifyResult is the outcome of a verification (package api's).
type AuditVerifyResult = api.AuditVerifyResult

func (s *Server) auditRoutes() []*Route {
	return []*Route{
		route("GET", "/v1/orgs/{org}/audit", "audit", "List the org's audit log (filters, cursor pagination, long-poll follow). Needs audit:read, which every built-in role holds; a caller holding it only in some namespaces gets those namespaces' entries and no org-level entry. Secret names are redacted for a caller without secrets:list in their namespace (such entries carry redacted: true), and hashes are shown only to a caller holding secrets:list at org scope.",
			func(c *call, _ *noBody) (List[api.AuditEntry], error) {
				f, wait, err := c.auditFilter()
				if err != nil {
					return List[api.AuditEntry]{}, err
				}
				p, err := c.page()
				if err != nil {
					return List[api.AuditEntry]{}, err
				}
				ctx, done, err := s.followBudget(c, wait)
				if err != nil {
					return List[api.AuditEntry]{}, err
				}
				defer done()
				es, next, err := s.dir.FollowAudit(ctx, c.actor(), c.org(), f, p, time.Now().Add(wait))
				return listOf(each(es, apiAuditEntry), next), err
			}).query(append(auditQuery, pageParams...)...).selfBounded(),
		route("POST", "/v1/orgs/{org}/audit/verify", "audit", "Verify the org's audit log (hash chain, checkpoints signed by this server's key, and any exported checkpoints given). Needs audit:read; the chain head is reported (else all zeros) only to a caller holding secrets:list at org scope.",
			func(c *call, req *AuditVerifyRequest) (AuditVerifyResult, error) {
				rep, err := s.dir.VerifyAudit(c.ctx, c.actor(), c.org(), req.Checkpoints)
				var ve *audit.VerifyError
				if errors.As(err, &ve) {
					return AuditVerifyResult{Report: apiAuditReport(rep), Problem: &api.AuditProblem{Org: ve.Org, Seq: ve.Seq, Problem: string(ve.Problem), Detail: ve.Detail}}, nil
				}
				return AuditVerifyResult{OK: err == nil, Report: apiAuditReport(rep)}, err
			}).optionalBody(),
		route("GET", "/v1/orgs/{org}/audit/checkpoints", "audit", "List the org's signed checkpoints (export them to anchor the log outside the database). Needs audit:read and, since a signed head commits to every entry, secrets:list at org scope.",
			func(c *call, _ *noBody) (List[api.Checkpoint], error) {
				after, err := c.queryUint("after")
				if err != nil {
					return List[api.Checkpoint]{}, err
				}
				cps, err := s.dir.AuditCheckpoints(c.ctx, c.actor(), c.org(), after)
				return listOf(each(cps, apiCheckpoint), ""), err
			}).query(Param{"after", "integer", "checkpoints with a sequence number above it"}),
		route("GET", resourcePath+"/history", "audit", "Every version of a resource, oldest first: who changed it, when, the diff from the version before, and the audit entry that recorded it, redacted as the audit log is. Needs read on the resource and audit:read.",
			func(c *call, _ *noBody) (List[api.VersionHistory], error) {
				h, err := s.dir.ResourceHistory(c.ctx, c.actor(), c.org(), c.ref())
				return listOf(each(h, apiVersionHistory), ""), err
			}),
		route("GET", "/v1/orgs/{org}/audit/settings", "audit", "Get which decisions the org records in its audit log. Needs audit:read.",
			func(c *call, _ *noBody) (api.AuditSettings, error) {
				return one(apiAuditSettings)(s.dir.AuditSettings(c.ctx, c.actor(), c.org()))
			}),
		route("PUT", "/v1/orgs/{org}/audit/settings", "audit", "Set which decisions the org records: off, denies or all (allows sampled at sample_rate).",
			func(c *call, req *api.AuditSettings) (Revision, error) {
				rev, err := s.dir.SetAuditSettings(c.ctx, c.actor(), c.org(), auditSettings(*req))
				return Revision{Revision: rev}, err
			}).perm("audit:update"),
	}
}

// followBudget bounds a call that may wait up to wait for new entries
// (the audit route is selfBounded): the request timeout for its reads,
// on top of the wait, so that a wait up to 30 s is not cut at 15 s. The
// connection's write deadline (HTTPServer: the request timeout and a
// margin) is pushed back by the wait too.
//
// A wait holds one of the caller's long-poll slots (longpoll.go) until
// the returned function is called: when the caller holds them all, the
// answer is the 429 problem, before anything waits.
func (s *Server) followBudget(c *call, wait time.Duration) (context.Context, context.CancelFunc, error) {
	budget := s.requestTimeout + wait
	release := func() {}
	if wait > 0 {
		var err error
		if release, err = s.longPolls.hold(c.id.Principal); err != nil {
			return nil, nil, err
		}
		// Not every ResponseWriter can (a test recorder): then the
		// server's own WriteTimeout stands.
		_ = http.NewResponseController(c.w).SetWriteDeadline(time.Now().Add(budget + writeMargin))
	}
	ctx, cancel := context.WithTimeout(c.ctx, budget)
	return ctx, func() { cancel(); release() }, nil
}

// auditFilter reads the filters of an audit list.
func (c *call) auditFilter() (store.AuditFilter, time.Duration, error) {
	q := c.r.URL.Query()
	f := store.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target"), Result: q.Get("result")}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			tm, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, 0, invalidField(t.name, "%s must be an RFC 3339 time", t.name)
			}
			*t.dst = tm
		}
	}
	var err error
	if f.After, err = c.queryUint("after"); err != nil {
		return f, 0, err
	}
	switch q.Get("order") {
	case "", "oldest":
	case "newest":
		f.Newest = true
	default:
		return f, 0, invalidField("order", "order must be oldest or newest")
	}
	wait, err := parseWait(q.Get("wait"), maxFeedWait)
	return f, wait, err
}

// recordAuthFailure records a refused bearer credential in the
// deployment's audit log (auth.failure), as the console records a refused
// sign-in (docs/threat-model.md rows 100): recordRefusedCredential.
func (s *Server) recordAuthFailure(c *call, cred string, err error) {
	org := ""
	if o := c.org(); validSlug(o) {
		org = o
	}
	s.recordRefusedCredential(c.ctx, "route/"+c.rt.Pattern(), c.addr, c.reqID, org, cred, err)
}

// recordRefusedCredential records, in the deployment's audit log, a
// credential refused 401 (invalid, expired or revoked) or 429 (the
// address is rate limited) at target: the client address, the org the
// path named (only a valid org name: the path is anyone's, and a long one
// would grow the append-only log by up to the request line a request),
// and of the credential only the digest of an API key's id
// (auth.KeyIDDigest; never the credential, never text that is not a
// key). Flood control (audit.Throttle, shared with the console's
// sign-in): one entry per reason, key and address a minute, the next one
// saying how many were left out (unrecorded_refusals); a rate-limited
// address is one key whatever it sends.
func (s *Server) recordRefusedCredential(ctx context.Context, target, addr, reqID, org, cred string, err error) {
	reason, digest := "unauthenticated", ""
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		reason = "rate_limited"
	case errors.Is(err, auth.ErrUnauthenticated):
		digest = auth.KeyIDDigest(cred)
	default:
		return
	}
	n := s.authRefusals.Note(reason + "|" + target + "|" + digest + "|" + addr)
	if !n.Record {
		return
	}
	msg := "invalid, expired or revoked credential"
	if reason == "rate_limited" {
		msg = "too many failed authentications from this address"
	}
	e := audit.AuthFailure(audit.Actor{ClientAddr: addr, RequestID: reqID}, target, reason, org, digest, msg, n)
	if rerr := s.dir.RecordEvent(context.WithoutCancel(ctx), e); rerr != nil {
		s.log.Error("audit: recording an authentication failure failed", "request_id", reqID, "error", rerr)
	}
}

// recordOutranked records, in the credential's org's audit log, a use
// refused because the credential's principal outranks its minter (403
// credential-outranks-minter, row 85): who (the principal, and the API
// key's id), which credential (its kind and id, never its secret), which
// minter, the scope and the route. Only the refusals auth marks Record
// are recorded — the first of the credential at an engine revision — and
// each says how many were refused, unrecorded, since the previous one:
// a holder replaying a refused credential cannot flood the log.
func (s *Server) recordOutranked(ctx context.Context, err error, route, addr, reqID string) {
	oe, ok := errors.AsType[*auth.OutrankedError](err)
	if !ok || !oe.Record {
		return
	}
	actor := audit.Actor{Principal: oe.Principal, ClientAddr: addr, RequestID: reqID}
	if oe.Credential == "API key" {
		actor.KeyID = oe.ID
	}
	details, jerr := json.Marshal(struct {
		Credential   string `json:"credential"`
		CredentialID string `json:"credential_id"`
		Minter       string `json:"minter"`
		MinterGone   bool   `json:"minter_gone,omitempty"`
		Scope        string `json:"scope,omitempty"`
		Unrecorded   int64  `json:"unrecorded_refusals,omitempty"`
	}{oe.Credential, oe.ID, oe.Minter, oe.MinterGone, scopeText(oe), oe.Unrecorded})
	if jerr != nil {
		details = nil
	}
	e := audit.Entry{
		Org: oe.Org, Actor: actor, Action: "auth.outranks_minter", Target: "route/" + route,
		Result: audit.Denied, Message: oe.Error(), Details: details,
	}
	if rerr := s.dir.RecordEvent(context.WithoutCancel(ctx), e); rerr != nil {
		s.log.Error("audit: recording a refused minted credential failed", "request_id", reqID, "error", rerr)
	}
}

// scopeText is the scope an outranked credential was compared at ("" when
// its minter is gone: no scope was compared).
func scopeText(oe *auth.OutrankedError) string {
	if oe.MinterGone {
		return ""
	}
	return oe.Scope.String()
}
