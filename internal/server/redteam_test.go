package server_test

import (
	"strings"
	"testing"
)

// TestRemovingAPrincipalComparesEveryScopeAndTeam: deleting a service or
// an agent, or removing a member from the org, takes away every grant it
// holds — its own bindings and, with its team memberships, its teams'.
// An admin who outranks the target at org scope but not where one of its
// teams makes it an owner (a namespace, one resource) may not do it, as
// it may neither suspend it nor mint it a key (rows 36, 37), nor take it
// out of that team (RemoveTeamMember). The owner may.
func TestRemovingAPrincipalComparesEveryScopeAndTeam(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newTokWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			for _, name := range []string{"nsheld", "resheld", "plain"} {
				e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": name, "role": "viewer"}, nil)
			}
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Steward", "role": "viewer", "sponsors": []string{"user:apvann"}}, nil)
			// stewards own namespace prod; keepers own one chain there.
			e.must(201, "POST", org+"/teams", w.owner, map[string]any{"slug": "stewards",
				"members": []string{"service:nsheld", "user:apvop", "agent:Steward"}}, nil)
			e.must(201, "POST", org+"/teams", w.owner, map[string]any{"slug": "keepers", "members": []string{"service:resheld", "user:apvviewer"}}, nil)
			e.must(201, "POST", org+"/bindings", w.owner, map[string]any{"principal": "team:stewards", "role": "owner",
				"scope": map[string]any{"namespace": "prod"}}, nil)
			e.must(201, "POST", org+"/bindings", w.owner, map[string]any{"principal": "team:keepers", "role": "owner",
				"scope": map[string]any{"namespace": "prod", "type": "chains", "id": "deploy"}}, nil)

			e.expect(t, []call{
				{"admin service deletes a service whose team owns a namespace", "DELETE", org + "/services/nsheld", w.platform, nil, 403},
				{"admin service deletes a service whose team owns a chain", "DELETE", org + "/services/resheld", w.platform, nil, 403},
				{"admin user removes a member whose team owns a namespace", "DELETE", org + "/members/apvop", w.ann, nil, 403},
				{"admin user removes a member whose team owns a chain", "DELETE", org + "/members/apvviewer", w.ann, nil, 403},
				// An agent's role is its ceiling: its team's owner binding
				// gives it nothing above viewer, so the admin outranks it.
				{"admin user deletes an agent capped below its team's role", "DELETE", org + "/agents/Steward", w.ann, nil, 200},
				{"admin service deletes a service holding nothing more", "DELETE", org + "/services/plain", w.platform, nil, 200},
				{"owner deletes a service whose team owns a namespace", "DELETE", org + "/services/nsheld", w.owner, nil, 200},
				{"owner removes a member whose team owns a chain", "DELETE", org + "/members/apvviewer", w.owner, nil, 200},
				{"a member whose team owns a namespace leaves", "DELETE", org + "/members/apvop", w.op, nil, 200},
			})
		})
	}
}

// TestPolicyChangesComparePermissionsAndApprovals: replacing the policy
// text is a change of every role and agent whose effect it changes — the
// `ask before` rules a role or an agent carries included (an approval
// that owners or an owner-level agent need is part of what they may do).
// An admin (policy:update, level 80) may not drop or add an approval
// rule on the owner's role, nor change an agent declared with the owner's
// role (its conditions, approvals, obligations); it may change those of
// roles and agents at or below its level. The owner may do both.
func TestPolicyChangesComparePermissionsAndApprovals(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend)
			e := w.e
			path := "/v1/orgs/" + w.org + "/policy"
			base := withAsk(t)
			ownerAsk := strings.Replace(base, "role owner level 100 {\n", "role owner level 100 {\n    ask before delete chains\n", 1)
			deployer := "\nagent Deployer: owner {\n    can delete chains when in_prod\n    ask before update chains\n}\n"
			helper := "\nagent Helper: viewer {\n    can read chains when in_prod\n}\n"
			start := ownerAsk + deployer + helper
			e.must(200, "PUT", path, w.owner, map[string]any{"text": start}, nil)

			for _, tc := range []struct {
				name, by, text string
				want           int
			}{
				{"admin drops the owner role's approval rule", w.ann, base + deployer + helper, 403},
				{"admin adds an approval rule to the owner role", w.ann, strings.Replace(start, "ask before delete chains\n", "ask before delete chains\n    ask before run chains\n", 1), 403},
				{"admin drops an owner-level agent's condition", w.ann, strings.Replace(start, "can delete chains when in_prod", "can delete chains", 1), 403},
				{"admin drops an owner-level agent's approval rule", w.ann, strings.Replace(start, "    ask before update chains\n", "", 1), 403},
				{"admin drops an owner-level agent", w.ann, ownerAsk + helper, 403},
				{"admin declares a new owner-level agent", w.ann, start + "\nagent Rogue: owner {\n    can delete chains\n}\n", 403},
				{"admin drops the operator role's approval rule", w.ann, strings.Replace(start, "    ask before run chains when in_prod from admin quorum 2\n", "", 1), 200},
				{"admin changes a viewer-level agent", w.ann, strings.Replace(start, "can read chains when in_prod", "can read chains", 1), 200},
				{"owner drops the owner role's approval rule", w.owner, base + deployer + helper, 200},
			} {
				if r := e.do("PUT", path, tc.by, map[string]any{"text": tc.text}); r.Status != tc.want {
					t.Errorf("%s: PUT policy = %d %s, want %d", tc.name, r.Status, r.Body, tc.want)
				}
				if tc.want == 200 { // back to the start for the next case
					e.must(200, "PUT", path, w.owner, map[string]any{"text": start}, nil)
				}
			}
		})
	}
}

// TestTakingAwayASponsorIsManagingTheSponsored: an agent whose last
// sponsor leaves the org (or its sponsoring team empties or goes) is
// suspended, sponsor_gone. An admin who may not suspend an owner-level
// agent (mayManage) may then not get the same by removing its sole
// sponsoring member, emptying its sponsoring team or deleting that team;
// it may for an agent it outranks, the owner may always, and a sponsor
// may always leave by itself.
func TestTakingAwayASponsorIsManagingTheSponsored(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			e.must(201, "POST", org+"/teams", w.owner, map[string]any{"slug": "pilots", "members": []string{"user:apvop"}}, nil)
			e.must(201, "POST", org+"/teams", w.owner, map[string]any{"slug": "crew", "members": []string{"user:apvamy"}}, nil)
			for name, sponsor := range map[string]string{"Chief": "user:apvviewer", "Pilot": "team:pilots", "Mate": "team:crew"} {
				e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": name, "role": "owner", "sponsors": []string{sponsor}}, nil)
			}
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Cabin", "role": "viewer", "sponsors": []string{"user:apvamy"}}, nil)

			e.expect(t, []call{
				{"admin removes the sole sponsor of an owner-level agent", "DELETE", org + "/members/apvviewer", w.ann, nil, 403},
				{"admin empties the sponsoring team of an owner-level agent", "DELETE", org + "/teams/pilots/members/user:apvop", w.ann, nil, 403},
				{"admin deletes the sponsoring team of an owner-level agent", "DELETE", org + "/teams/pilots", w.ann, nil, 403},
				{"admin removes the last member of an owner-level agent's sponsoring team", "DELETE", org + "/members/apvop", w.ann, nil, 403},
				{"a sponsoring team's last member leaves it by itself", "DELETE", org + "/teams/crew/members/user:apvamy", w.amy, nil, 200},
				{"admin removes the sole sponsor of a viewer-level agent", "DELETE", org + "/members/apvamy", w.ann, nil, 200},
				{"owner removes the sole sponsor of an owner-level agent", "DELETE", org + "/members/apvviewer", w.owner, nil, 200},
			})
		})
	}
}

// TestCascadeDeleteOfANamespaceComparesItsBindings: deleting a namespace
// with cascade removes every binding in it. Each removal is a binding
// removal under DESIGN §1.2: an admin may not so take away what an owner
// (or a team) holds there at a level above its own; it may when it
// outranks every holder, and the owner may.
func TestCascadeDeleteOfANamespaceComparesItsBindings(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			for _, ns := range []string{"ops", "lab", "yard"} {
				e.must(201, "POST", org+"/namespaces", w.owner, map[string]any{"name": ns}, nil)
			}
			e.must(201, "POST", org+"/bindings", w.owner, map[string]any{"principal": "user:apvop", "role": "owner", "scope": map[string]any{"namespace": "ops"}}, nil)
			e.must(201, "POST", org+"/resources", w.owner, map[string]any{"namespace": "lab", "type": "chains", "id": "probe"}, nil)
			e.must(201, "POST", org+"/teams", w.owner, map[string]any{"slug": "labrats", "members": []string{"user:apvviewer"}}, nil)
			e.must(201, "POST", org+"/bindings", w.owner, map[string]any{"principal": "team:labrats", "role": "owner",
				"scope": map[string]any{"namespace": "lab", "type": "chains", "id": "probe"}}, nil)
			e.must(201, "POST", org+"/bindings", w.owner, map[string]any{"principal": "user:apvviewer", "role": "operator", "scope": map[string]any{"namespace": "yard"}}, nil)

			for _, tc := range []struct {
				name, ns, by string
				want         int
			}{
				{"admin cascades a namespace where a user is owner", "ops", w.ann, 403},
				{"admin cascades a namespace where a team owns a chain", "lab", w.ann, 403},
				{"admin cascades a namespace where it outranks every holder", "yard", w.ann, 200},
				{"owner cascades a namespace where a user is owner", "ops", w.owner, 200},
			} {
				if r := e.do("DELETE", org+"/namespaces/"+tc.ns+"?cascade=true", tc.by, nil); r.Status != tc.want {
					t.Errorf("%s: DELETE namespace %s = %d %s, want %d", tc.name, tc.ns, r.Status, r.Body, tc.want)
				}
			}
		})
	}
}

// TestRedefiningAConditionComparesWhatItGates: a binding, an approval rule
// or an agent rule that names a condition grants (or asks) something else
// once the condition is redefined. An admin may not redefine (or drop) a
// condition that gates an owner-level binding — `condition on_call =
// "true"` would make it unconditional — and may redefine one that gates
// only what it outranks; the owner may.
func TestRedefiningAConditionComparesWhatItGates(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			start := withAsk(t) + "condition on_call = \"context.on_call == true\"\ncondition in_lab = \"resource.namespace == 'lab'\"\n" +
				"condition in_window = \"context.window == true\"\nagent Deployer: owner {\n    can delete chains when in_window\n}\n"
			e.must(200, "PUT", org+"/policy", w.owner, map[string]any{"text": start}, nil)
			e.must(201, "POST", org+"/bindings", w.owner, map[string]any{"principal": "user:apvviewer", "role": "owner", "condition": "on_call"}, nil)
			e.must(201, "POST", org+"/bindings", w.owner, map[string]any{"principal": "user:apvop", "role": "builder", "condition": "in_lab"}, nil)

			for _, tc := range []struct {
				name, by, text string
				want           int
			}{
				{"admin makes an owner binding's condition always true", w.ann, strings.Replace(start, `"context.on_call == true"`, `"true"`, 1), 403},
				{"admin drops an owner binding's condition", w.ann, strings.Replace(start, "condition on_call = \"context.on_call == true\"\n", "", 1), 403},
				{"admin redefines the condition of an owner-level agent's rule", w.ann, strings.Replace(start, `"context.window == true"`, `"true"`, 1), 403},
				{"admin redefines the condition of a builder binding", w.ann, strings.Replace(start, `"resource.namespace == 'lab'"`, `"true"`, 1), 200},
				{"admin redefines the condition of an operator approval rule", w.ann, strings.Replace(start, `"resource.namespace == 'prod'"`, `"true"`, 1), 200},
				{"owner makes an owner binding's condition always true", w.owner, strings.Replace(start, `"context.on_call == true"`, `"true"`, 1), 200},
			} {
				if r := e.do("PUT", org+"/policy", tc.by, map[string]any{"text": tc.text}); r.Status != tc.want {
					t.Errorf("%s: PUT policy = %d %s, want %d", tc.name, r.Status, r.Body, tc.want)
				}
				if tc.want == 200 {
					e.must(200, "PUT", org+"/policy", w.owner, map[string]any{"text": start}, nil)
				}
			}
		})
	}
}

// TestLendingSponsorshipIsManagingTheSponsored: joining a team makes the
// newcomer a sponsor of whatever the team sponsors — it may attest an
// agent, lifting attestation_due and inactive, and an emptied sponsoring
// team that gets a member back lifts sponsor_gone — which is as much as
// resuming the agent by hand. So an admin may not add anyone, itself
// included, to a team that sponsors an owner-level agent; the owner may,
// and the admin may for a team that sponsors only what it outranks.
// (Re-creating a deleted sponsoring team lends nothing: deleting it
// dropped it from every sponsor list.)
func TestLendingSponsorshipIsManagingTheSponsored(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			for _, slug := range []string{"pilots", "deck", "ghosts"} {
				e.must(201, "POST", org+"/teams", w.owner, map[string]any{"slug": slug, "members": []string{"user:apvop"}}, nil)
			}
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Pilot", "role": "owner", "sponsors": []string{"team:pilots"}}, nil)
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Ghost", "role": "owner", "sponsors": []string{"team:ghosts", "user:apvowner"}}, nil)
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Deckhand", "role": "viewer", "sponsors": []string{"team:deck"}}, nil)
			e.must(200, "DELETE", org+"/teams/ghosts", w.owner, nil, nil)

			e.expect(t, []call{
				{"admin adds itself to the sponsoring team of an owner-level agent", "POST", org + "/teams/pilots/members", w.ann, map[string]any{"principal": "user:apvann"}, 403},
				{"admin adds another to the sponsoring team of an owner-level agent", "POST", org + "/teams/pilots/members", w.ann, map[string]any{"principal": "user:apvviewer"}, 403},
				{"admin re-creates a deleted sponsoring team with members (deleting it dropped it as a sponsor)", "POST", org + "/teams", w.ann, map[string]any{"slug": "ghosts", "members": []string{"user:apvann"}}, 201},
				{"admin adds itself to the sponsoring team of a viewer-level agent", "POST", org + "/teams/deck/members", w.ann, map[string]any{"principal": "user:apvann"}, 201},
				{"owner adds the admin to the sponsoring team of an owner-level agent", "POST", org + "/teams/pilots/members", w.owner, map[string]any{"principal": "user:apvann"}, 201},
				{"admin creates an unrelated team with members", "POST", org + "/teams", w.ann, map[string]any{"slug": "fresh", "members": []string{"user:apvann"}}, 201},
			})
		})
	}
}
