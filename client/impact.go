package client

import (
	"context"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/api"
)

// Impact analysis types (docs/impact.md).
type (
	Impact        = api.Impact
	ImpactSummary = api.ImpactSummary
	ImpactChange  = api.ImpactChange
)

// PolicyImpact reports which principals would gain or lose which
// permissions, and where, if the org's policy became text. Nothing is
// stored. Needs policy:read and bindings:read; a text that does not
// compile is a 422 whose *Error.Diagnostics say where.
func (c *Client) PolicyImpact(ctx context.Context, org, text string) (Impact, error) {
	var out Impact
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/policy/impact", body: api.ImpactRequest{Text: text}}, &out)
	return out, err
}

// BindingImpact reports what a binding would grant if it were created (a
// dry run: nothing is stored). Needs bindings:read.
func (c *Client) BindingImpact(ctx context.Context, org string, spec BindingSpec) (Impact, error) {
	var out Impact
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/bindings/impact", body: spec}, &out)
	return out, err
}
