package storetest

import (
	"context"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// checkChangeOrgs holds the changelog-org rule that every reader of the
// changelog relies on: a change is logged under the org its object belongs
// to (an org's own changes under its id), and deployment-wide objects
// (users, API keys, invitations) under "". The engine's follower and a bulk
// write's early prefetch (sqlcore PrefetchOutside: "nothing of that org, or
// of org "", committed since") decide which org a change touches by this
// column alone, so a change logged under the wrong org would be a stale
// read that no interleaving test is sure to catch. RunConformance applies
// it to the whole changelog each check left behind, so every write path the
// suite exercises is covered.
func checkChangeOrgs(t *testing.T, s store.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	var after uint64
	for {
		page, err := s.ChangesSince(ctx, after, 500)
		if err != nil {
			t.Fatalf("changelog-org rule: ChangesSince(%d): %v", after, err)
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			want, err := changeOwner(c)
			if err != nil {
				t.Errorf("changelog-org rule: revision %d seq %d (%s %q): %v", c.Revision, c.Seq, c.Kind, c.Key, err)
				continue
			}
			if c.Org != want {
				t.Errorf("changelog-org rule: revision %d seq %d (%s %q) is logged under org %q, its object belongs to %q",
					c.Revision, c.Seq, c.Kind, c.Key, c.Org, want)
			}
		}
		after = page[len(page)-1].Revision
	}
}

// changeOwner is the org a change's object belongs to, read from its payload.
func changeOwner(c store.Change) (string, error) {
	v, err := c.Decode()
	if err != nil {
		return "", err
	}
	switch x := v.(type) {
	case store.Org:
		return x.ID, nil
	case store.User, store.APIKey, store.Invitation:
		return "", nil
	case store.Namespace:
		return x.Org, nil
	case store.Member:
		return x.Org, nil
	case store.Agent:
		return x.Org, nil
	case store.Service:
		return x.Org, nil
	case store.Team:
		return x.Org, nil
	case store.Binding:
		return x.Org, nil
	case store.Resource:
		return x.Org, nil
	case store.Policy:
		return x.Org, nil
	case store.Secret:
		return x.Org, nil
	case store.AgentToken:
		return x.Org, nil
	case store.AuditSettingsChange:
		return x.Org, nil
	}
	return "", store.Errorf(store.ErrInvalid, "changelog-org rule", "no owner rule for this kind", nil)
}
