package server_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCreateRoleAnswersItem: POST /roles answers like every write,
// {revision, item}; the item is the role as GET /roles/{role} describes it
// (flattened permissions, custom), at the revision answered.
func TestCreateRoleAnswersItem(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			w := buildWorld(t, e, "")
			type roleInfo struct {
				Name        string   `json:"name"`
				Level       int      `json:"level"`
				Parents     []string `json:"parents"`
				Permissions []string `json:"permissions"`
				Custom      bool     `json:"custom"`
			}
			var created struct {
				Revision uint64    `json:"revision"`
				Item     *roleInfo `json:"item"`
			}
			e.must(201, "POST", "/v1/orgs/acme/roles", w.owner,
				map[string]any{"name": "inspector", "level": 15, "parents": []string{"viewer"}, "permissions": []string{"audit:read"}}, &created)
			if created.Revision == 0 || created.Item == nil {
				t.Fatalf("POST /roles answered revision %d, item %v", created.Revision, created.Item)
			}
			var got roleInfo
			e.must(200, "GET", "/v1/orgs/acme/roles/inspector", w.owner, nil, &got)
			if diff := cmp.Diff(got, *created.Item); diff != "" {
				t.Errorf("item (-GET +POST):\n%s", diff)
			}
			if !got.Custom || got.Level != 15 || len(got.Permissions) < 2 {
				t.Errorf("role: %+v", got)
			}
		})
	}
}
