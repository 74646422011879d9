package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMimicAnswers: `floor -mimic` asks the server each question of the
// mix once, with the data's token, at the question's org, and keeps each
// answer's body under the request body the generator will send; an answer
// other than 200 stops it.
func TestMimicAnswers(t *testing.T) {
	mix := []Mix{
		{Org: "org-1", Principal: "user:a", Namespace: "prod", Action: "chains:run", Resource: "chains/c1", Want: true},
		{Org: "org-2", Principal: "user:b", Namespace: "dev", Action: "tools:rnu", Resource: "tools/t1"},
	}
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "loadgen.token"), []byte("gth_test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		status  int
		want    map[string]string // request body → answer body
		wantErr bool
	}{
		{"answers kept", http.StatusOK, map[string]string{
			`{"action":"chains:run","namespace":"prod","principal":"user:a","resource":"chains/c1"}`: `/v1/orgs/org-1/check`,
			`{"action":"tools:rnu","namespace":"dev","principal":"user:b","resource":"tools/t1"}`:    `/v1/orgs/org-2/check`,
		}, false},
		{"an answer not 200", http.StatusNotFound, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer gth_test" || r.Method != http.MethodPost {
					http.Error(w, "unauthenticated", http.StatusUnauthorized)
					return
				}
				var q map[string]string
				if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&q); err != nil {
					http.Error(w, "bad body", http.StatusBadRequest)
					return
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, r.URL.Path) // the answer names where it was asked
			}))
			defer srv.Close()
			got, err := mimicAnswers(srv.URL, data, mix)
			if (err != nil) != tt.wantErr {
				t.Fatalf("mimicAnswers: error %v, want error %v", err, tt.wantErr)
			}
			gotS := map[string]string{}
			for k, v := range got {
				gotS[k] = string(v)
			}
			if tt.want == nil {
				tt.want = map[string]string{}
			}
			if diff := cmp.Diff(tt.want, gotS); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
		})
	}
}
