// Package embedded lets the client middleware decide in-process with an
// authz engine (no network). It is apart from package client so that a
// program that only talks to a Gatehouse server does not link the policy
// engine (cel-go, antlr, protobuf).
//
//	guard, err := client.NewGuard(embedded.Engine(e), client.InOrg("demo"),
//	    client.PrincipalFrom(session))
package embedded

import (
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
	return client.Local(decider{e})
}

type decider struct{ e *authz.Engine }

func (d decider) DecideLocal(c client.LocalCheck) client.Decision {
	ad := d.e.Check(&authz.Request{Org: c.Org, Principal: c.Principal, Namespace: c.Namespace,
		ResourceType: c.Type, ResourceID: c.ID, Action: c.Action, Context: c.Context, OnBehalfOf: c.OnBehalfOf})
	if ad.ApprovalRequired {
		// No store, so no approval record: the answer says approval is
		// needed and stays a deny.
		return client.Decision{Revision: ad.Revision, Result: api.ResultApprovalRequired, Reason: string(authz.ReasonApprovalRequired)}
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
