package server

import (
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/runs"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Run routes (DESIGN §1.4): thin; package runs decides and records.

func (s *Server) runRoutes() []*Route {
	rs := runs.New(s.dir, s.store, s.vault)
	return []*Route{
		route("POST", "/v1/orgs/{org}/runs", "runs", "Start a run: authorizes <type>:run on the resource for the caller (with on_behalf_of), records who ran which spec version with a digest and summary of the input, and can issue the run token for secret injection. 202 with result approval_required (no run) when a person must approve first.",
			func(c *call, in *api.RunStartRequest) (api.RunStartResponse, error) {
				typ, id, ok := strings.Cut(in.Resource, "/")
				if !ok || typ == "" || id == "" || strings.Contains(id, "/") {
					return api.RunStartResponse{}, invalidField("resource", "resource must be <type>/<id>, e.g. \"chains/triage\" (got %q)", in.Resource)
				}
				st, err := rs.Start(c.ctx, c.actor(), c.org(), runs.Start{OnBehalfOf: in.OnBehalfOf, Resource: authz.ResourceRef{Namespace: in.Namespace, Type: typ, ID: id},
					Input: in.Input, ApprovalID: strings.TrimSpace(in.ApprovalID), IssueToken: in.IssueToken, Runtime: in.Runtime})
				if err != nil {
					return api.RunStartResponse{}, err
				}
				if st.Run == nil {
					c.status = http.StatusAccepted
					return api.RunStartResponse{Result: api.ResultApprovalRequired, Approval: approvalOut(st.Approval)}, nil
				}
				out := api.RunStartResponse{Result: "started", Run: apiRunOf(*st.Run), Approval: approvalOut(st.Approval)}
				if st.Token != nil {
					g := apiRunGrant(*st.Token)
					out.RunToken = &g
				}
				return out, nil
			}).created(),
		route("POST", "/v1/orgs/{org}/runs/{id}/finish", "runs", "Finish a run (its caller or runtime, once): status, error and output. The server computes the duration and redacts every value of a secret released to the run from what it stores.",
			func(c *call, in *api.RunFinishRequest) (api.Run, error) {
				r, err := rs.Finish(c.ctx, c.actor(), c.org(), c.path("id"), runs.Finish{Status: in.Status, Error: in.Error, Output: in.Output})
				if err != nil {
					return api.Run{}, err
				}
				return *apiRunOf(r), nil
			}).maxBody(runs.MaxOutputBytes + 64<<10),
		route("GET", "/v1/orgs/{org}/runs", "runs", "List runs newest first (results:read in their namespace, or the caller's own).",
			func(c *call, _ *noBody) (List[api.Run], error) {
				p, err := c.page()
				if err != nil {
					return List[api.Run]{}, err
				}
				q := c.r.URL.Query()
				f := store.RunFilter{Status: q.Get("status"), Namespace: q.Get("namespace")}
				if res := q.Get("resource"); res != "" {
					typ, id, ok := strings.Cut(res, "/")
					if !ok || typ == "" || id == "" {
						return List[api.Run]{}, invalidField("resource", "resource must be <type>/<id>")
					}
					f.Type, f.ID = typ, id
					if f.Namespace == "" {
						f.Namespace = authz.DefaultNamespace
					}
				}
				list, next, err := rs.List(c.ctx, c.actor(), c.org(), f, p)
				return listOf(each(list, func(r store.Run) api.Run { return *apiRunOf(r) }), next), err
			}).query(append([]Param{{"resource", "string", "<type>/<id>"}, {"namespace", "string", "the resource's namespace"}, {"status", "string", "running, succeeded or failed"}}, pageParams...)...),
		route("GET", "/v1/orgs/{org}/runs/{id}", "runs", "One run (results:read in its namespace, or the caller's own).",
			func(c *call, _ *noBody) (api.Run, error) {
				r, err := rs.Get(c.ctx, c.actor(), c.org(), c.path("id"))
				if err != nil {
					return api.Run{}, err
				}
				return *apiRunOf(r), nil
			}),
	}
}

func apiRunOf(r store.Run) *api.Run {
	return &api.Run{ID: r.ID, Org: r.Org, Namespace: r.Namespace, Resource: r.ResourceType + "/" + r.ResourceID, SpecVersion: r.SpecVersion,
		Principal: r.Principal, OnBehalfOf: r.OnBehalfOf, TriggeredBy: r.TriggeredBy, ApprovalID: r.ApprovalID, Runtime: r.Runtime,
		Status: r.Status, InputDigest: r.InputDigest, InputSize: r.InputSize, InputSummary: r.InputSummary, Error: r.Error,
		OutputDigest: r.OutputDigest, OutputSize: r.OutputSize, OutputSummary: r.OutputSum,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, DurationMS: r.DurationMS}
}
