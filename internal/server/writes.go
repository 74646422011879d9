package server

import (
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// Bulk writes and user provisioning (issue 19): thin adapters to
// directory.Write and directory.ProvisionUser.

// maxWritesBody bounds a batch's body: 1,000 changes of a few hundred
// bytes, with room for some resource specs.
const maxWritesBody = 8 << 20

func (s *Server) writeRoutes() []*Route {
	return []*Route{
		route("POST", "/v1/users", "members", "Provision a new user as a member of an org with a role, without an invitation (members:create in that org; escalation rules apply). Never an existing user: an id taken is 409; an email that another user has is not attached to the new user, and the answer (which never carries the email) does not say so. No credential is returned.",
			func(c *call, req *api.ProvisionUserRequest) (Written[api.User], error) {
				if req.Org == "" {
					return Written[api.User]{}, invalidField("org", "org is required: the org the user joins")
				}
				if c.id.Org != "" && c.id.Org != req.Org {
					// A credential confined to one org does not act outside it:
					// the other org does not exist for it.
					return Written[api.User]{}, problem(ProblemNotFound, "org %q: not found", req.Org)
				}
				u, rev, err := s.dir.ProvisionUser(c.ctx, c.actor(), req.Org, directory.UserSpec{
					ID: req.ID, Email: req.Email, DisplayName: req.DisplayName, Role: req.Role,
				})
				if err != nil {
					return Written[api.User]{}, err
				}
				// Never the email: a user provisioned with an address that
				// another user has is created without it, and the answer
				// must not say so (docs/threat-model.md row 90). The caller
				// sent the address; it learns nothing from its echo.
				item := apiUser(u)
				item.Email = ""
				return Written[api.User]{Revision: rev, Item: item}, nil
			}).perm("members:create").created(),
		route("POST", "/v1/orgs/{org}/writes", "writes", "Make up to 1,000 changes (namespaces, resources, users, members, bindings, shares) in one transaction under one revision, all or none; each is authorized and audited as if sent alone, against the org as it was before the batch.",
			func(c *call, req *api.WriteRequest) (api.WriteResult, error) {
				changes := make([]directory.WriteChange, len(req.Changes))
				for i, w := range req.Changes {
					var err error
					if changes[i], err = writeChange(w); err != nil {
						var p *Problem
						if errors.As(err, &p) && p.Field != "" {
							p.Field = directory.ChangeField(i, p.Field)
						}
						return api.WriteResult{}, err
					}
				}
				// Only what the batch touches is judged: the keys of the
				// principals it bound or shared to, and, when it deleted a
				// binding (whose principal the change does not name), every
				// minted key — once for the batch, not per change.
				var touched auth.Touched
				for _, ch := range req.Changes {
					switch ch.Op {
					case api.WriteBindingCreate, api.WriteShareCreate:
						touched.Raised = append(touched.Raised, ch.Principal)
					case api.WriteBindingDelete:
						touched.All = true
					}
				}
				before := s.refusedBefore(touched)
				keys, rev, err := s.dir.Write(c.ctx, c.actor(), c.org(), changes)
				var be *directory.BatchError
				if errors.As(err, &be) {
					// The problem says which change failed; its type and
					// details are that change's error's.
					p := toProblem(err)
					p.Detail = fmt.Sprintf("change %d: %s", be.Index, p.Detail)
					if p.Field == "" {
						// Located even when the change's error names no
						// member (a 403, 404 or 409): the change itself.
						p.Field = fmt.Sprintf("changes[%d]", be.Index)
					}
					return api.WriteResult{}, p
				}
				if err != nil {
					return api.WriteResult{}, err
				}
				return api.WriteResult{Revision: rev, Keys: keys, Warnings: s.outrankWarnings(c, "writes", touched, before)}, nil
			}).maxBody(maxWritesBody),
	}
}

// writeChange is w as the directory takes it; a malformed expires_in is
// the only error.
func writeChange(w api.WriteChange) (directory.WriteChange, error) {
	ref := authz.ResourceRef{Namespace: w.Namespace, Type: w.Type, ID: w.ID}
	life, err := lifetime(w.Lifetime)
	if err != nil {
		return directory.WriteChange{}, err
	}
	return directory.WriteChange{
		Op:        w.Op,
		Namespace: w.Namespace,
		Resource: directory.ResourceSpec{Namespace: w.Namespace, Type: w.Type, ID: w.ID,
			Labels: w.Labels, Attributes: w.Attributes, Spec: w.Spec},
		User:      directory.UserSpec{ID: w.User, Email: w.Email, DisplayName: w.DisplayName, Role: w.Role},
		Binding:   directory.BindingSpec{Principal: w.Principal, Role: w.Role, Scope: authz.Scope(w.Scope), Condition: w.Condition, Lifetime: life},
		BindingID: w.Binding,
		Ref:       ref,
		Principal: w.Principal,
		Actions:   w.Actions,
	}, nil
}
