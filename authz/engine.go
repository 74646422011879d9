package authz

// STUB: replaced by the real engine implementation.

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/policy"
)

type impl struct{}

func newImpl() impl                                        { return impl{} }
func (impl) revision() uint64                              { return 0 }
func (impl) waitFor(ctx context.Context, rev uint64) error { return ctx.Err() }
func (impl) apply(rev uint64, changes []Change) error      { return ErrInvalid }
func (impl) check(req *Request) Decision                   { return Decision{} }
func (impl) explain(req *Request) Explanation              { return Explanation{} }
func (impl) lookupResources(q LookupResourcesRequest) (LookupResourcesPage, error) {
	return LookupResourcesPage{}, ErrNotFound
}
func (impl) lookupSubjects(q LookupSubjectsRequest) ([]Subject, uint64, error) {
	return nil, 0, ErrNotFound
}
func (impl) permissions(org, principal, namespace string) ([]Grant, uint64, error) {
	return nil, 0, ErrNotFound
}
func (impl) highestLevel(org, principal string, scope Scope) int { return -1 }
func (impl) missing(org, principal string, scope Scope, want []policy.Permission) []policy.Permission {
	return want
}
