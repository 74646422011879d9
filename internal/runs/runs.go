// Package runs records executions of runnable resources (DESIGN §1.4):
// who triggered which resource at which spec version, on whose behalf,
// with what input, and how it ended.
//
// Invariants:
//   - Starting a run is a <type>:run decision on the resource for the
//     caller (with on_behalf_of when it acts for a user). It may answer
//     approval_required (then no run is recorded) and may consume a
//     presented approval (directory.Asker.CheckApproval), bound to the
//     run's input as the request's arguments. A refusal is recorded.
//   - A run is recorded, and optionally a run token issued for it (the
//     vault's use-without-reveal), before the caller gets its id. The
//     consumption of its approval (with approval.consume), the token
//     (with secrets.run_token), the run and run.start commit in one
//     store write, or none of them does: a run that cannot be recorded
//     leaves its approval granted.
//   - Only the caller that started a run, or the runtime it named,
//     finishes it, once (running → succeeded|failed). The server computes
//     the duration. Every value of a secret released to the run is
//     replaced by [REDACTED:<NAME>] in the output summary and the error
//     before anything is stored or audited; the stored digest is of the
//     redacted output. The finish and its audit entry (run.finish) commit
//     together.
//   - Reading runs needs results:read in the run's namespace (or having
//     started it); anything else is 404, as for another org's run.
package runs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/errs"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Size caps.
const (
	MaxInputBytes  = 64 << 10 // a start's input
	MaxOutputBytes = 1 << 20  // a finish's output
	SummaryBytes   = 1024     // summaries keep the input's head and the output's tail
	MaxErrorBytes  = 1024
)

var permResultsRead = policy.Permission{Resource: "results", Action: "read"}

// Service records runs. Vault may be nil (then no run token can be
// issued, and nothing is redacted since nothing is released).
type Service struct {
	dir   *directory.Directory
	st    store.Store
	vault *vault.Vault
}

// New returns a Service.
func New(dir *directory.Directory, st store.Store, v *vault.Vault) *Service {
	return &Service{dir: dir, st: st, vault: v}
}

// Start is what a run starts with.
type Start struct {
	OnBehalfOf string
	Resource   authz.ResourceRef
	Input      json.RawMessage // any JSON; the approval is bound to it
	ApprovalID string
	// IssueToken issues the vault's run token for the resource's secrets
	// in the same call; Runtime names the only service that may exchange
	// it (and that may finish the run).
	IssueToken bool
	Runtime    string
}

// Started is Start's answer: a run (and maybe its token), or a decision
// that needs approval (Run nil).
type Started struct {
	Run      *store.Run
	Decision authz.Decision
	Approval *store.Approval
	Token    *vault.RunGrant
}

func invalid(field, format string, args ...any) error {
	return &directory.InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

func notFound(op, what string) error {
	return &directory.Error{Pkg: "runs", Op: op, Msg: what, Kind: errs.NotFound}
}

func target(ns, typ, id string) string { return "resource/" + ns + "/" + typ + "/" + id }

// Start authorizes and records a run.
func (s *Service) Start(ctx context.Context, actor directory.Actor, org string, in Start) (Started, error) {
	const op = "start run"
	ref := in.Resource
	if ref.Namespace == "" {
		ref.Namespace = authz.DefaultNamespace
	}
	switch {
	case len(in.Input) > MaxInputBytes:
		return Started{}, invalid("input", "input is larger than %d bytes", MaxInputBytes)
	case !policy.IsIdent(ref.Type) || ref.ID == "":
		return Started{}, invalid("resource", "resource must be <type>/<id>")
	case in.Runtime != "" && !in.IssueToken:
		return Started{}, invalid("runtime", "runtime names who exchanges the run token: set issue_token")
	case in.IssueToken && s.vault == nil:
		return Started{}, &directory.Error{Pkg: "runs", Op: op, Msg: "the secrets vault is not configured on this server", Kind: errs.Unavailable}
	}
	req := authz.Request{Org: org, Principal: actor.Principal, OnBehalfOf: in.OnBehalfOf, Namespace: ref.Namespace,
		ResourceType: ref.Type, ResourceID: ref.ID, Action: "run"}
	if err := directory.CheckRequest(&req); err != nil {
		return Started{}, err
	}
	res, err := s.st.GetResource(ctx, org, ref)
	if errors.Is(err, store.ErrNotFound) {
		// The permission first, as reading a resource or issuing its run
		// token does: a caller who may not run it gets the refusal it
		// gets for one that exists (no existence oracle); only a caller
		// who could run it (with an approval, if one is asked for)
		// learns that it does not exist.
		if !s.dir.AllowsApproved(&req) {
			err := &directory.ForbiddenError{Permission: ref.Type + ":run", Scope: authz.Scope(ref)}
			return Started{}, s.dir.RecordDenied(ctx, op, org, actor, target(ref.Namespace, ref.Type, ref.ID), err)
		}
		return Started{}, notFound(op, "resource "+store.RefKey(ref))
	} else if err != nil {
		return Started{}, &directory.Error{Pkg: "runs", Op: op, Kind: errs.Unavailable, Cause: err}
	}
	base := store.Run{
		ID: directory.NewRecordID(), Org: org, Namespace: ref.Namespace, ResourceType: ref.Type, ResourceID: ref.ID, SpecVersion: res.Version,
		Principal: actor.Principal, OnBehalfOf: in.OnBehalfOf, TriggeredBy: actor.Principal, Runtime: in.Runtime,
		InputDigest: digest(in.Input), InputSize: int64(len(in.Input)), InputSummary: head(string(in.Input), SummaryBytes), Status: store.RunRunning,
	}
	var (
		run    store.Run
		token  *vault.RunGrant
		tokErr error // the vault's refusal, recorded once the write rolled back
	)
	// record issues the run token (if asked) and records the run with its
	// audit entry in tx: the write that consumes the run's approval, when
	// one was presented, so that a run that cannot be recorded consumes
	// nothing (and a consumed approval always has its run).
	record := func(ctx context.Context, tx store.Tx, ap *store.Approval) error {
		run, token, tokErr = base, nil, nil
		if ap != nil {
			run.ApprovalID = ap.ID
		}
		if in.IssueToken {
			g, names, err := s.vault.IssueRunTokenIn(ctx, tx, actor, org, ref, vault.RunOptions{Runtime: in.Runtime, ApprovalID: run.ApprovalID, OnBehalfOf: in.OnBehalfOf})
			if err != nil {
				tokErr = err
				return err
			}
			run.Secrets, token = names, &g
		}
		r, err := tx.CreateRun(ctx, run)
		if err != nil {
			return err
		}
		run = r
		return s.dir.RecordWrite(ctx, tx, op, org, actor, directory.AuditNote{Target: target(r.Namespace, r.ResourceType, r.ResourceID), Details: map[string]any{
			"run": r.ID, "spec_version": r.SpecVersion, "principal": r.Principal, "on_behalf_of": r.OnBehalfOf,
			"input_sha256": r.InputDigest, "input_size": r.InputSize, "approval": r.ApprovalID, "run_token": in.IssueToken,
		}})
	}
	a := s.dir.Asker(actor)
	recorded := false
	dec, ap, err := a.CheckApproval(ctx, &req, directory.ApprovalInput{Arguments: in.Input, ApprovalID: in.ApprovalID,
		Then: func(ctx context.Context, tx store.Tx, ap store.Approval) error {
			recorded = true
			return record(ctx, tx, &ap)
		}})
	if err != nil {
		return Started{}, s.failed(ctx, actor, org, ref, op, err, tokErr)
	}
	out := Started{Decision: dec, Approval: ap}
	if dec.ApprovalRequired {
		return out, nil
	}
	if !dec.Allowed {
		err := &directory.ForbiddenError{Permission: ref.Type + ":run", Scope: authz.Scope(ref)}
		return Started{}, s.dir.RecordDenied(ctx, op, org, actor, target(ref.Namespace, ref.Type, ref.ID), err)
	}
	if !recorded { // allowed without an approval: a write of its own
		if _, err := s.st.Write(ctx, func(tx store.Tx) error { return record(ctx, tx, nil) }); err != nil {
			return Started{}, s.failed(ctx, actor, org, ref, op, err, tokErr)
		}
	}
	out.Run, out.Token = &run, token
	return out, nil
}

// failed is Start's error once its write rolled back: the vault's refusal
// to issue the token (recorded now, as the vault records its own), or the
// write's.
func (s *Service) failed(ctx context.Context, actor directory.Actor, org string, ref authz.ResourceRef, op string, err, tokErr error) error {
	if tokErr != nil && errors.Is(err, tokErr) {
		s.vault.RecordRunTokenRefusal(ctx, actor, org, ref, tokErr)
		return tokErr
	}
	return wrap(op, err)
}

// Finish is how a run ended.
type Finish struct {
	Status string // succeeded or failed
	Error  string
	Output string
}

// Finish records how a run ended (once; by the caller that started it or
// its runtime), redacting released secret values first.
func (s *Service) Finish(ctx context.Context, actor directory.Actor, org, id string, in Finish) (store.Run, error) {
	const op = "finish run"
	run, err := s.get(ctx, actor, org, id, op) // another org's run is 404 whatever the body
	if err != nil {
		return store.Run{}, err
	}
	switch {
	case in.Status != store.RunSucceeded && in.Status != store.RunFailed:
		return store.Run{}, invalid("status", "status must be succeeded or failed (got %q)", in.Status)
	case len(in.Output) > MaxOutputBytes:
		return store.Run{}, invalid("output", "output is larger than %d bytes: send its tail", MaxOutputBytes)
	}
	if actor.Principal != run.TriggeredBy && (run.Runtime == "" || actor.Principal != run.Runtime) {
		return store.Run{}, &directory.ForbiddenError{Permission: "the run's own (" + run.TriggeredBy + ") or its runtime's", Scope: authz.Scope{Namespace: run.Namespace, Type: run.ResourceType, ID: run.ResourceID}}
	}
	redact := func(x string) string { return x }
	if len(run.Secrets) > 0 {
		if s.vault == nil {
			return store.Run{}, &directory.Error{Pkg: "runs", Op: op, Msg: "the run released secrets and the vault that would redact them is not configured", Kind: errs.Unavailable}
		}
		if redact, err = s.vault.Redactor(ctx, org, run.Namespace, run.Secrets); err != nil {
			return store.Run{}, err
		}
	}
	output := redact(in.Output)
	run.Status, run.Error = in.Status, head(redact(in.Error), MaxErrorBytes)
	// Redact first, then cut: a value across the cut is gone whole.
	run.OutputDigest, run.OutputSize, run.OutputSum = digest([]byte(output)), int64(len(in.Output)), tail(output, SummaryBytes)
	_, err = s.st.Write(ctx, func(tx store.Tx) error {
		run.FinishedAt = tx.Now()
		run.DurationMS = max(run.FinishedAt.Sub(run.StartedAt).Milliseconds(), 0)
		r, err := tx.UpdateRun(ctx, run, store.RunRunning)
		if err != nil {
			return err
		}
		run = r
		return s.dir.RecordWrite(ctx, tx, op, org, actor, directory.AuditNote{Target: target(r.Namespace, r.ResourceType, r.ResourceID), Details: map[string]any{
			"run": r.ID, "status": r.Status, "error": r.Error, "duration_ms": r.DurationMS, "output_sha256": r.OutputDigest, "output_size": r.OutputSize,
		}})
	})
	if err != nil {
		return store.Run{}, wrap(op, err)
	}
	return run, nil
}

// sees reports whether actor may read run: it started it (or is its
// runtime), or holds results:read in its namespace.
func (s *Service) sees(actor directory.Actor, run store.Run) bool {
	if actor.Principal == run.TriggeredBy || (run.Runtime != "" && actor.Principal == run.Runtime) {
		return true
	}
	return len(s.dir.Missing(run.Org, actor.Principal, authz.Scope{Namespace: run.Namespace}, []policy.Permission{permResultsRead})) == 0
}

func (s *Service) get(ctx context.Context, actor directory.Actor, org, id, op string) (store.Run, error) {
	if !s.dir.IsMember(org, actor.Principal) {
		return store.Run{}, notFound(op, "org "+org)
	}
	run, err := s.st.GetRun(ctx, org, id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) || err == nil && !s.sees(actor, run) {
		return store.Run{}, notFound(op, "run "+id)
	}
	if err != nil {
		return store.Run{}, wrap(op, err)
	}
	return run, nil
}

// Get returns a run the actor may read.
func (s *Service) Get(ctx context.Context, actor directory.Actor, org, id string) (store.Run, error) {
	return s.get(ctx, actor, org, id, "get run")
}

// List lists the runs the actor may read, newest first (a page may hold
// fewer than asked for when the actor may not read some).
func (s *Service) List(ctx context.Context, actor directory.Actor, org string, f store.RunFilter, p store.Page) ([]store.Run, string, error) {
	if !s.dir.IsMember(org, actor.Principal) {
		return nil, "", notFound("list runs", "org "+org)
	}
	switch f.Status {
	case "", store.RunRunning, store.RunSucceeded, store.RunFailed:
	default:
		return nil, "", invalid("status", "status must be running, succeeded or failed")
	}
	list, next, err := s.st.ListRuns(ctx, org, f, p)
	if err != nil {
		return nil, "", wrap("list runs", err)
	}
	var out []store.Run
	for _, r := range list {
		if s.sees(actor, r) {
			out = append(out, r)
		}
	}
	return out, next, nil
}

// wrap maps store errors into the directory's error kinds.
func wrap(op string, err error) error {
	var de *directory.Error
	var fe *directory.ForbiddenError
	var ie *directory.InvalidError
	switch {
	case errors.As(err, &de), errors.As(err, &fe), errors.As(err, &ie), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, store.ErrConflict):
		return &directory.Error{Pkg: "runs", Op: op, Msg: "the run is finished already", Kind: errs.Conflict, Cause: err}
	case errors.Is(err, store.ErrNotFound):
		return &directory.Error{Pkg: "runs", Op: op, Msg: "not found", Kind: errs.NotFound, Cause: err}
	case errors.Is(err, store.ErrInvalid):
		return &directory.Error{Pkg: "runs", Op: op, Msg: err.Error(), Kind: errs.Invalid, Cause: err}
	}
	return &directory.Error{Pkg: "runs", Op: op, Kind: errs.Unavailable, Cause: err}
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// head is s cut to at most n bytes on a rune boundary.
func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// tail is the last at most n bytes of s, from a rune boundary.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return s[i:]
}
