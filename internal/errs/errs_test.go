package errs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/errs"
)

// typed is a typed error carrying a kind, as directory.ForbiddenError.
type typed struct{}

func (typed) Error() string { return "typed" }
func (typed) Unwrap() error { return errs.Forbidden }

func TestKindOf(t *testing.T) {
	special := errs.NewKind("special", errs.Gone)
	tests := []struct {
		name string
		err  error
		want *errs.Kind
	}{
		{"nil", nil, nil},
		{"plain", errors.New("x"), nil},
		{"context", context.Canceled, nil},
		{"bare kind", errs.NotFound, errs.NotFound},
		{"wrapped kind", fmt.Errorf("x: %w", errs.Conflict), errs.Conflict},
		{"own kind", special, special},
		{"typed", typed{}, errs.Forbidden},
		{"error", &errs.Error{Op: "x", Kind: errs.Invalid}, errs.Invalid},
		{"outermost wins over the cause", &errs.Error{Kind: errs.Unavailable, Cause: &errs.Error{Kind: errs.NotFound}}, errs.Unavailable},
		{"context kind hides the cause's kind", &errs.Error{Kind: context.DeadlineExceeded, Cause: &errs.Error{Kind: errs.NotFound}}, nil},
		{"no kind: the cause's", &errs.Error{Cause: errs.Gone}, errs.Gone},
		{"joined", errors.Join(errors.New("x"), errs.LastOwner), errs.LastOwner},
	}
	for _, tt := range tests {
		if got := errs.KindOf(tt.err); got != tt.want {
			t.Errorf("%s: KindOf = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestKindParents(t *testing.T) {
	special := errs.NewKind("special", errs.Refused)
	tests := []struct {
		err    error
		target error
		want   bool
	}{
		{errs.Refused, errs.Conflict, true},
		{errs.Conflict, errs.Refused, false},
		{errs.InvalidPolicy, errs.Invalid, true},
		{special, errs.Conflict, true}, // grandparent
		{special, errs.Refused, true},
		{special, errs.NotFound, false},
		{&errs.Error{Kind: special}, errs.Conflict, true},
		{errs.NewKind("special", nil), special, false}, // same text, another kind
	}
	for _, tt := range tests {
		if got := errors.Is(tt.err, tt.target); got != tt.want {
			t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
		}
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err        *errs.Error
		text, full string
	}{
		{&errs.Error{Pkg: "store", Op: "get org", Msg: `org "a"`, Kind: errs.NotFound}, `get org: org "a"`, `store: get org: org "a": not found`},
		{&errs.Error{Op: "check", Kind: errs.Invalid}, "check", "check: invalid"},
		{&errs.Error{Pkg: "vault", Op: "reveal", Kind: context.Canceled, Cause: errors.New("driver text")}, "reveal", "vault: reveal: context canceled"},
	}
	for _, tt := range tests {
		if got := tt.err.Text(); got != tt.text {
			t.Errorf("Text() = %q, want %q", got, tt.text)
		}
		if got := tt.err.Error(); got != tt.full {
			t.Errorf("Error() = %q, want %q", got, tt.full)
		}
	}
}

func TestIn(t *testing.T) {
	storeErr := &errs.Error{Pkg: "store", Op: "delete namespace", Msg: `namespace "p"`, Kind: errs.Refused, Cause: errors.New("driver")}
	own := &errs.Error{Pkg: "directory", Op: "x", Kind: errs.NotFound}
	tests := []struct {
		name   string
		err    error
		keepOp bool
		want   error // compared with errors.Is when not an *errs.Error to build
		full   string
	}{
		{name: "nil", err: nil},
		{name: "own passes", err: own, want: own, full: "directory: x: not found"},
		{name: "typed passes", err: typed{}, want: typed{}, full: "typed"},
		{name: "context passes", err: context.Canceled, want: context.Canceled, full: "context canceled"},
		{name: "store refusal is a conflict", err: storeErr, want: errs.Conflict, full: `directory: remove namespace: namespace "p": conflict`},
		{name: "keepOp", err: storeErr, keepOp: true, want: errs.Conflict, full: `directory: remove namespace: delete namespace: namespace "p": conflict`},
		{name: "no kind is unavailable", err: errors.New("driver"), want: errs.Unavailable, full: "directory: remove namespace: unavailable"},
	}
	for _, tt := range tests {
		got := errs.In("directory", "remove namespace", tt.err, tt.keepOp)
		if tt.err == nil {
			if got != nil {
				t.Errorf("%s: In = %v, want nil", tt.name, got)
			}
			continue
		}
		if !errors.Is(got, tt.want) {
			t.Errorf("%s: In = %v, want it to be %v", tt.name, got, tt.want)
		}
		if got.Error() != tt.full {
			t.Errorf("%s: In = %q, want %q", tt.name, got.Error(), tt.full)
		}
		if tt.err != nil && !errors.Is(got, tt.err) {
			t.Errorf("%s: the original error is lost from the chain", tt.name)
		}
	}
}
