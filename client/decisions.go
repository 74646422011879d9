package client

import (
	"context"
	"fmt"
	"github.com/gatehouse-dev/gatehouse/api"
	"net/http"
	"net/url"
	"strconv"
)

// Decision endpoints (DESIGN §5). They are reads: a 503 is retried
// whatever its kind. Each accepts AtLeast(rev).

// Check asks whether req.Principal (default: the caller) may do req.Action
// on req.Resource. A deny is a Decision with Allowed false and a nil
// error; an error means no decision was made (never treat it as allow).
// A request that needs a person's approval is a deny with Result
// "approval_required" and the Approval (see WaitForApproval); pass
// WithArguments to bind it to the call's arguments and WithApproval to
// present a granted one.
func (c *Client) Check(ctx context.Context, org string, req CheckRequest, opts ...CallOption) (Decision, error) {
	o := applyCall(opts)
	if o.argErr != nil {
		return Decision{}, o.argErr
	}
	body := req.Check(o.consistency())
	body.Arguments, body.ApprovalID = o.arguments, o.approvalID
	var out Decision
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/check", body: o.asOf(body)}, &out)
	if err != nil {
		return Decision{}, err
	}
	return out, nil
}

// BatchResult is one answer of a batch (api.BatchResult with the
// problem as an *Error): Err is set iff the item could not be decided
// (then Allowed is false).
type BatchResult struct {
	Allowed     bool
	Obligations []Rule
	Advice      []Rule
	Reason      string // as Decision.Reason
	// Warnings never change the decision (as Decision.Warnings).
	Warnings []CheckWarning
	Err      *Error
}

// Batch is the answer to Checks, in request order.
type Batch struct {
	Results  []BatchResult
	Revision uint64
}

// ErrBatchTooLarge is returned by Checks for more than MaxBatch checks
// (nothing is sent).
var ErrBatchTooLarge = fmt.Errorf("client: a batch holds at most %d checks", MaxBatch)

// Checks asks up to MaxBatch questions in one call. Each is answered
// independently, in order: an item the server could not decide has its Err
// set (and Allowed false). The answer is checked to hold exactly one
// result per check.
func (c *Client) Checks(ctx context.Context, org string, reqs []CheckRequest, opts ...CallOption) (Batch, error) {
	if len(reqs) > MaxBatch {
		return Batch{}, ErrBatchTooLarge
	}
	o := applyCall(opts)
	if reqs == nil {
		reqs = []CheckRequest{}
	}
	var wire api.BatchCheckResponse
	r := request{method: http.MethodPost, path: orgPath(org) + "/checks", body: batchBody{Checks: reqs, Consistency: o.consistency()}}
	if err := c.do(ctx, r, &wire); err != nil {
		return Batch{}, err
	}
	if len(wire.Results) != len(reqs) {
		return Batch{}, fmt.Errorf("client: POST %s: %d results for %d checks", r.path, len(wire.Results), len(reqs))
	}
	out := Batch{Results: make([]BatchResult, len(wire.Results)), Revision: wire.Revision}
	for i, w := range wire.Results {
		out.Results[i] = BatchResult{Allowed: w.Allowed, Obligations: w.Obligations, Advice: w.Advice, Reason: w.Reason, Warnings: w.Warnings}
		if w.Error != nil {
			e := errorOf(w.Error)
			e.Method, e.Path = r.method, r.path
			out.Results[i].Allowed, out.Results[i].Err = false, e
		}
	}
	return out, nil
}

// Explain decides req and says why: the bindings, roles, patterns and
// conditions that decided it, or what came closest.
func (c *Client) Explain(ctx context.Context, org string, req CheckRequest, opts ...CallOption) (Explanation, error) {
	o := applyCall(opts)
	var out Explanation
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/explain",
		body: o.asOf(req.Check(o.consistency()))}, &out)
	if err != nil {
		return Explanation{}, err
	}
	return out, nil
}

// LookupResources lists one page of the resources req.Principal may do
// req.Action on ("what can Alice run?"); with AsOf or AsOfRevision, as it
// would have been then (follow the cursor with the same option).
func (c *Client) LookupResources(ctx context.Context, org string, req LookupResourcesRequest, opts ...CallOption) (ResourcePage, error) {
	o := applyCall(opts)
	var out ResourcePage
	body := req.Request(o.consistency())
	body.AtTime, body.AtRevision = o.atTime, o.atRevision
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/lookup/resources", body: body}, &out)
	return out, err
}

// LookupSubjects lists who may do req.Action on req.Resource ("who can
// run this chain?"; needs bindings:read); with AsOf or AsOfRevision, as
// it would have been then.
func (c *Client) LookupSubjects(ctx context.Context, org string, req LookupSubjectsRequest, opts ...CallOption) (Subjects, error) {
	o := applyCall(opts)
	var out Subjects
	body := req.Request(o.consistency())
	body.AtTime, body.AtRevision = o.atTime, o.atRevision
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/lookup/subjects", body: body}, &out)
	return out, err
}

// Permissions lists what principal holds in namespace ("" = "default"),
// for UIs that hide what one cannot do.
func (c *Client) Permissions(ctx context.Context, org, principal, namespace string, opts ...CallOption) (Permissions, error) {
	o := applyCall(opts)
	q := url.Values{}
	if namespace != "" {
		q.Set("namespace", namespace)
	}
	if o.atLeast > 0 {
		q.Set("at_least", strconv.FormatUint(o.atLeast, 10))
	}
	return get[Permissions](ctx, c, orgPath(org)+"/principals/"+seg(principal)+"/permissions", q)
}
