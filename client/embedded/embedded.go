// Package embedded lets the client middleware decide in-process with an
// authz engine (no network). It is apart from package client so that a
// program that only talks to a Gatehouse server does not link the policy
// engine (cel-go, antlr, protobuf).
//
//	guard, err := client.NewGuard(embedded.Engine(e), client.InOrg("demo"),
//	    client.PrincipalFrom(session))
package embedded

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Engine decides with an in-process engine (no network). The engine must
// be fed by the host (for example from a directory follower); it needs
// client.PrincipalFrom.
func Engine(e *authz.Engine) client.MiddlewareOption {
	if e == nil {
		return client.Local(nil)
	}
	return client.Local(decider{e: e})
}

// ApprovalSource finds (or opens) the approval an approval_required
// answer of q needs. FromServer asks a Gatehouse server.
type ApprovalSource func(ctx context.Context, q client.LocalCheck) (*client.Approval, error)

// EngineWithApprovals is Engine whose approval_required answers carry
// the approval src names: the middleware then answers, as the remote
// one does, a problem of type approval-required (status ApprovalStatus)
// with its approval_id. The engine keeps no approval records, so only
// those answers go to src; the decision stays the engine's: src never
// turns an answer into an allow, and when src fails or names nothing the
// answer is approval_required without an id.
func EngineWithApprovals(e *authz.Engine, src ApprovalSource) client.MiddlewareOption {
	if e == nil {
		return client.Local(nil)
	}
	return client.Local(decider{e: e, src: src})
}

// FromServer is the ApprovalSource of a Gatehouse server: it asks c the
// same question (POST /check, with the principal) and takes the approval
// of the answer. The server opens an approval only for a principal
// asking about itself; asking about another (c's credential needs
// bindings:read) returns the approval pending or granted for the
// question, if any — the requester opens it with its own check (the SDK's
// Check, gatehouse policy check) and the middleware then names it.
func FromServer(c *client.Client) ApprovalSource {
	return func(ctx context.Context, q client.LocalCheck) (*client.Approval, error) {
		req := client.CheckRequest{Principal: q.Principal, Action: q.Type + ":" + q.Action, Namespace: q.Namespace,
			Context: q.Context, OnBehalfOf: q.OnBehalfOf}
		if q.ID != "" {
			req.Resource = q.Type + "/" + q.ID
		}
		d, err := c.Check(ctx, q.Org, req)
		if err != nil {
			return nil, err
		}
		if !client.NeedsApproval(d) {
			return nil, nil
		}
		return d.Approval, nil
	}
}

type decider struct {
	e   *authz.Engine
	src ApprovalSource
}

func (d decider) DecideLocal(c client.LocalCheck) client.Decision {
	return d.DecideLocalContext(context.Background(), c)
}

func (d decider) DecideLocalContext(ctx context.Context, c client.LocalCheck) client.Decision {
	ad := d.e.Check(&authz.Request{Org: c.Org, Principal: c.Principal, Namespace: c.Namespace,
		ResourceType: c.Type, ResourceID: c.ID, Action: c.Action, Context: c.Context, OnBehalfOf: c.OnBehalfOf})
	if ad.ApprovalRequired {
		// No store, so no approval record here: the answer says approval
		// is needed and stays a deny, naming the approval src finds.
		out := client.Decision{Revision: ad.Revision, Result: api.ResultApprovalRequired, Reason: string(authz.ReasonApprovalRequired)}
		if d.src != nil {
			if ap, err := d.src(ctx, c); err == nil && ap != nil && ap.ID != "" {
				out.Approval = ap
			}
		}
		return out
	}
	if !ad.Allowed {
		return client.Decision{}
	}
	return client.Decision{Allowed: true, Revision: ad.Revision, Obligations: rulesOf(ad.Obligations), Advice: rulesOf(ad.Advice)}
}

func rulesOf(rs []*policy.Rule) []client.Rule {
	if len(rs) == 0 {
		return nil
	}
	out := make([]client.Rule, 0, len(rs))
	for _, r := range rs {
		out = append(out, client.Rule{Kind: r.Kind.String(), Text: r.Text(), Action: r.Action, Resource: r.Resource, Condition: r.Condition})
	}
	return out
}
