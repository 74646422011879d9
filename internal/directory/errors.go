package directory

import (
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/errs"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// Sentinel errors. Every error the directory returns wraps exactly one of
// them (or a context error), so interfaces map them to status codes with
// errors.Is and never look at message text:
//
//	ErrNotFound → 404, ErrForbidden → 403, ErrEscalation → 403,
//	ErrLastOwner → 409, ErrConflict → 409, ErrInvalid → 400/422,
//	ErrNotCaughtUp → 503, ErrUnavailable → 503.
var (
	// ErrNotFound: the thing does not exist in the org, or it belongs to
	// another org, or the actor is not a member of the org. The three are
	// indistinguishable on purpose (DESIGN §1: answers are 404, never 403).
	ErrNotFound = errs.NotFound
	// ErrForbidden: the actor is a member but lacks the administrative
	// permission the operation needs. Wrapped by *ForbiddenError, which
	// names the permission and scope.
	ErrForbidden = errs.Forbidden
	// ErrEscalation: the actor holds the operation's permission, but the
	// change would hand out (or take away) more than the actor has (DESIGN
	// §1.2). Wrapped by *EscalationError, which says what the actor lacks.
	ErrEscalation = errs.Escalation
	// ErrLastOwner: the change would leave the org without a user holding
	// its top-level role at org scope.
	ErrLastOwner = errs.LastOwner
	// ErrConflict: the thing already exists, an optimistic-concurrency
	// check failed, or the thing is still in use (a bound role, a namespace
	// that still holds resources or bindings).
	ErrConflict = errs.Conflict
	// ErrInvalid: the input is malformed. Wrapped by *InvalidError (naming
	// the field) or *PolicyError (with positioned diagnostics).
	ErrInvalid = errs.Invalid
	// ErrNotCaughtUp: the engine did not reach the revision asked for within
	// the bounded wait. Retry later; never answer from older data.
	ErrNotCaughtUp = errs.NotCaughtUp
	// ErrUnavailable: the storage backend failed.
	ErrUnavailable = errs.Unavailable
)

// ForbiddenError says which permission the actor lacks, at which scope.
type ForbiddenError struct {
	Permission string      // "bindings:create"
	Scope      authz.Scope // where it was needed
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("forbidden: requires %s at %s", e.Permission, e.Scope)
}

// Unwrap returns ErrForbidden.
func (e *ForbiddenError) Unwrap() error { return ErrForbidden }

// Escalation reasons.
const (
	// ReasonLevel: the role's level is above the actor's highest level at
	// the scope.
	ReasonLevel = "level"
	// ReasonPermissions: the role (or action list) grants permissions the
	// actor does not hold at the scope.
	ReasonPermissions = "permissions"
	// ReasonTarget: the target principal's level at the scope is above the
	// actor's (an admin cannot demote or remove an owner).
	ReasonTarget = "target"
	// ReasonApprovals: the change drops or alters `ask before` rules of
	// a role at (or above) the actor's own level, below the top: approval
	// rules bind their role's holders, so lifting them is for a level
	// above (row 88).
	ReasonApprovals = "approvals"
)

// EscalationError says what the actor lacks for a change to a binding or
// role (DESIGN §1.2).
type EscalationError struct {
	Reason     string      // ReasonLevel, ReasonPermissions or ReasonTarget
	Scope      authz.Scope // where the rule was evaluated
	Role       string      // the role handed out or taken away ("" for an action list)
	RoleLevel  int         // ReasonLevel: the role's level
	ActorLevel int         // the actor's highest level at Scope (-1: none)
	// Missing lists, for ReasonPermissions, the permissions the actor would
	// hand out without holding them.
	Missing []policy.Permission
	// Target and TargetLevel name, for ReasonTarget, the principal the
	// actor may not change.
	Target      string
	TargetLevel int
}

func (e *EscalationError) Error() string {
	switch e.Reason {
	case ReasonLevel:
		return fmt.Sprintf("escalation: role %s has level %d, above your level %d at %s", e.Role, e.RoleLevel, e.ActorLevel, e.Scope)
	case ReasonTarget:
		return fmt.Sprintf("escalation: %s has level %d at %s, above your level %d", e.Target, e.TargetLevel, e.Scope, e.ActorLevel)
	case ReasonApprovals:
		return fmt.Sprintf("escalation: this change lifts `ask before` rules of role %s (level %d), which bind its holders; only a member above level %d may (your level is %d at %s)", e.Role, e.RoleLevel, e.RoleLevel, e.ActorLevel, e.Scope)
	default:
		ps := make([]string, len(e.Missing))
		for i, p := range e.Missing {
			ps[i] = p.String()
		}
		what := "the action list"
		if e.Role != "" {
			what = "role " + e.Role
		}
		return fmt.Sprintf("escalation: %s grants %s, which you do not hold at %s", what, strings.Join(ps, ", "), e.Scope)
	}
}

// Unwrap returns ErrEscalation.
func (e *EscalationError) Unwrap() error { return ErrEscalation }

// InvalidError names the malformed field.
type InvalidError struct {
	Field  string // "role", "namespace", "expires_at", ...
	Reason string
}

func (e *InvalidError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason) }

// Unwrap returns ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// PolicyError is a policy text that does not compile (HTTP 422): the
// positioned diagnostics of every phase, errors and warnings.
type PolicyError struct {
	Diagnostics token.List
}

func (e *PolicyError) Error() string {
	errs := e.Diagnostics.Errors()
	if len(errs) == 0 {
		return "invalid policy"
	}
	if len(errs) == 1 {
		return "invalid policy: " + errs[0].Error()
	}
	return fmt.Sprintf("invalid policy: %s (and %d more errors)", errs[0].Error(), len(errs)-1)
}

// Unwrap returns errs.InvalidPolicy, which is an ErrInvalid.
func (e *PolicyError) Unwrap() error { return errs.InvalidPolicy }

// InUseError is a role (or namespace) that cannot go because something
// still refers to it.
type InUseError struct {
	What     string   // `role "support"`
	UsedBy   []string // binding ids, agent principals, ... (at most a few)
	Hint     string
	MoreThan int // how many more users there are beyond UsedBy
}

func (e *InUseError) Error() string {
	s := fmt.Sprintf("%s is still in use by %s", e.What, strings.Join(e.UsedBy, ", "))
	if e.MoreThan > 0 {
		s += fmt.Sprintf(" and %d more", e.MoreThan)
	}
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Unwrap returns ErrConflict.
func (e *InUseError) Unwrap() error { return ErrConflict }

// Error is any other directory error (Pkg "directory"): a kind (one of
// the sentinels) with a message built only from the org the caller named
// and keys inside it.
type Error = errs.Error

// pkg is the directory's errs.Error Pkg.
const pkg = "directory"

func errorf(kind error, op, format string, args ...any) error {
	return &Error{Pkg: pkg, Op: op, Msg: fmt.Sprintf(format, args...), Kind: kind}
}

// notFound is the one answer for an org the actor cannot see.
func orgNotFound(op, org string) error {
	return &Error{Pkg: pkg, Op: op, Msg: fmt.Sprintf("org %q", org), Kind: ErrNotFound}
}

// mapErr puts store errors under the directory's op, keeping their kind
// (a refusal is a conflict) and message; directory errors and context
// errors pass through.
func mapErr(op string, err error) error {
	return errs.In(pkg, op, err, true)
}
