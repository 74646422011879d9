package client

import (
	"context"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/api"
)

// Runs (DESIGN §1.4): a runtime records each execution of a runnable
// resource. StartRun authorizes <type>:run and may answer
// approval_required (Run nil: wait for the approval, then start again
// presenting it); FinishRun reports how it ended (the server redacts any
// secret value released to the run from what it stores).

// Run is a recorded execution.
type Run = api.Run

// RunStart is the body of StartRun; RunStarted its answer.
type (
	RunStart   = api.RunStartRequest
	RunStarted = api.RunStartResponse
	RunFinish  = api.RunFinishRequest
)

// StartRun starts a run. Not retried after an ambiguous failure: a retry
// could record the run twice.
func (c *Client) StartRun(ctx context.Context, org string, req RunStart) (RunStarted, error) {
	var out RunStarted
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/runs", body: req, idem: write}, &out)
	return out, err
}

// FinishRun reports how a run ended (its caller or runtime, once).
func (c *Client) FinishRun(ctx context.Context, org, id string, req RunFinish) (Run, error) {
	var out Run
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/runs/" + seg(id) + "/finish", body: req, idem: write}, &out)
	return out, err
}

// GetRun reads a run (results:read in its namespace, or the caller's own).
func (c *Client) GetRun(ctx context.Context, org, id string) (Run, error) {
	var out Run
	err := c.do(ctx, request{method: http.MethodGet, path: orgPath(org) + "/runs/" + seg(id)}, &out)
	return out, err
}
