package directory

import (
	"context"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/secretref"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Reach is a principal's blast radius (docs/agents.md): the engine's
// reach (authz.Reach, whose entries carry the ask rules that apply), the
// secrets it could cause to be injected — those referenced by the specs
// of resources it may run, with or without a person's approval — and the
// MCP tools (resources of type "tools", action call) it may call, each
// with the ask rules that make a call need approval.
type Reach struct {
	authz.Reach
	// Secrets lists, per secret, the runnable resources whose spec
	// references it. Only namespaces where the actor may list secrets are
	// shown (HiddenSecrets counts the others).
	Secrets       []SecretReach
	HiddenSecrets int
	// Tools are the resources of type "tools" it may call (Asks set: only
	// with approval).
	Tools []ToolReach
	// Truncated: more than maxReachScan resources were in scope; the
	// secrets and tools lists cover the first ones only.
	Truncated bool
}

// SecretReach is one secret a principal could cause to be injected.
type SecretReach struct {
	Namespace string              `json:"namespace"`
	Name      string              `json:"name"`
	Via       []authz.ResourceRef `json:"via"` // runnable resources referencing it
	// ViaApproval are runnable only with a person's approval.
	ViaApproval []authz.ResourceRef `json:"via_approval,omitempty"`
}

// ToolReach is an MCP tool a principal may call; Asks are the ask rules
// that make each call need approval (none: it may call it at will).
type ToolReach struct {
	authz.ResourceRef
	Asks []*policy.AskRule
}

// maxReachScan bounds the resources a reach reads specs of.
const maxReachScan = 2000

// Reach computes what principal could do in org if hijacked. Asking about
// yourself needs nothing; about another principal, bindings:read at org
// scope (it shows every grant the principal holds).
func (d *Directory) Reach(ctx context.Context, actor Actor, org, principal string) (Reach, error) {
	if err := checkPrincipal("principal", principal, false); err != nil {
		return Reach{}, err
	}
	var out Reach
	err := d.read(ctx, "reach", org, actor, func(o *op) error {
		if !o.self(principal) {
			if err := o.need("bindings:read", authz.Scope{}); err != nil {
				return err
			}
		}
		r, err := d.eng.Reach(org, principal, time.Time{})
		if err != nil {
			return errorf(ErrNotFound, o.name, "%s is not a member of org %s", principal, org)
		}
		out.Reach = r
		if r.Status != "" {
			return nil
		}
		return d.reachSecretsAndTools(ctx, o, principal, &out)
	})
	return out, err
}

// reachSecretsAndTools scans the resources of the namespaces the
// principal reaches: those it may run give their specs' secrets, tools
// it may call are listed.
func (d *Directory) reachSecretsAndTools(ctx context.Context, o *op, principal string, out *Reach) error {
	secrets := map[[2]string]*SecretReach{}
	scanned := 0
	for _, nr := range out.Namespaces {
		ns := nr.Namespace
		showSecrets := d.eng.Check(&authz.Request{Org: o.org, Principal: o.actor.Principal, Namespace: ns, ResourceType: "secrets", Action: "list"}).Allowed
		p := store.Page{Size: 500}
		for {
			rs, next, err := o.r.ListResources(ctx, o.org, store.ResourceFilter{Namespace: ns}, p)
			if err != nil {
				return err
			}
			for _, r := range rs {
				if scanned == maxReachScan {
					out.Truncated = true
					return nil
				}
				scanned++
				ref := r.Ref()
				// May it, with or without approval (asks: the rules
				// when only with)?
				may := func(action string) (ok bool, asks []*policy.AskRule) {
					dec := d.eng.Check(&authz.Request{Org: o.org, Principal: principal, Namespace: ns, ResourceType: ref.Type, ResourceID: ref.ID, Action: action})
					return dec.Allowed || dec.ApprovalRequired, dec.Asks
				}
				if ref.Type == "tools" {
					if ok, asks := may("call"); ok {
						out.Tools = append(out.Tools, ToolReach{ResourceRef: ref, Asks: asks})
					}
				}
				runs, runAsks := may("run")
				if !runs {
					continue
				}
				full, err := o.r.GetResource(ctx, o.org, ref)
				if err != nil {
					continue // deleted meanwhile
				}
				names, _ := secretref.Names(full.Spec)
				if len(names) > 0 && !showSecrets {
					out.HiddenSecrets += len(names)
					continue
				}
				for _, n := range names {
					k := [2]string{ns, n}
					if secrets[k] == nil {
						secrets[k] = &SecretReach{Namespace: ns, Name: n, Via: []authz.ResourceRef{}}
					}
					if len(runAsks) > 0 {
						secrets[k].ViaApproval = append(secrets[k].ViaApproval, ref)
					} else {
						secrets[k].Via = append(secrets[k].Via, ref)
					}
				}
			}
			if next == "" {
				break
			}
			p.Cursor = next
		}
	}
	for _, s := range secrets {
		out.Secrets = append(out.Secrets, *s)
	}
	slices.SortFunc(out.Secrets, func(a, b SecretReach) int {
		if a.Namespace != b.Namespace {
			if a.Namespace < b.Namespace {
				return -1
			}
			return 1
		}
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return nil
}
