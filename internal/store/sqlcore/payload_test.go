package sqlcore

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestBindingPayloadIsJSONMarshal: a binding's changelog payload is the
// bytes json.Marshal made before the hand-written encoder, whatever the
// binding's shape and text (the feed, replicas and the snapshotter decode
// it; a run row copies it verbatim).
func TestBindingPayloadIsJSONMarshal(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 123456000, time.UTC)
	plus := time.FixedZone("plus", 5*3600+30*60)
	odd := time.FixedZone("odd", 3600+7) // an offset in seconds: falls back to json.Marshal
	tests := []struct {
		name string
		b    store.Binding
	}{
		{"role at org scope", store.Binding{Org: "acme", Binding: authz.Binding{ID: "b1", Principal: "user:u1", Role: "viewer"}, CreatedAt: now}},
		{"share with actions", store.Binding{Org: "acme", CreatedBy: "user:alice", CreatedAt: now,
			Binding: authz.Binding{ID: "b2", Principal: "team:t", Actions: []string{"run", "*"}, Scope: authz.Scope{Namespace: "ns", Type: "chains", ID: "c/1"}}}},
		{"namespace scope, condition, expiry", store.Binding{Org: "acme", CreatedAt: now,
			Binding: authz.Binding{ID: "b3", Principal: "agent:A", Role: "op", Scope: authz.Scope{Namespace: "ns"}, Condition: "hours", ExpiresAt: now.Add(time.Hour)}}},
		{"empty actions slice", store.Binding{Org: "acme", CreatedAt: now, Binding: authz.Binding{ID: "b4", Principal: "user:u", Role: "r", Actions: []string{}}}},
		{"text needing escapes", store.Binding{Org: "a<b>&c", CreatedBy: "x\"y\\z\n\u2028é\xff", CreatedAt: now,
			Binding: authz.Binding{ID: "\x00id", Principal: "user:<script>", Role: "r", Scope: authz.Scope{Namespace: "n", Type: "t", ID: "\t&"}}}},
		{"zero created_at", store.Binding{Org: "acme", Binding: authz.Binding{ID: "b5", Principal: "user:u", Role: "r"}}},
		{"non-UTC times", store.Binding{Org: "acme", CreatedAt: now.In(plus), Binding: authz.Binding{ID: "b6", Principal: "user:u", Role: "r", ExpiresAt: now.In(odd)}}},
		{"nanoseconds", store.Binding{Org: "acme", CreatedAt: now.Add(7), Binding: authz.Binding{ID: "b7", Principal: "user:u", Role: "r", ExpiresAt: now.Add(time.Second)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.b)
			if err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			got, err := appendBindingPayload([]byte("prefix"), tt.b)
			if err != nil {
				t.Fatalf("appendBindingPayload: %v", err)
			}
			if diff := cmp.Diff(string(want), string(got[len("prefix"):])); diff != "" {
				t.Errorf("payload differs from json.Marshal (-json.Marshal +appendBindingPayload):\n%s", diff)
			}
		})
	}
	t.Run("a year json.Marshal refuses is still refused", func(t *testing.T) {
		b := store.Binding{Org: "acme", CreatedAt: now, Binding: authz.Binding{ID: "b", Principal: "user:u", Role: "r", ExpiresAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}
		if _, err := appendBindingPayload(nil, b); err == nil {
			t.Error("appendBindingPayload accepted year 10000; json.Marshal refuses it")
		}
	})
}

// BenchmarkBindingPayload: a share's changelog payload by json.Marshal
// (before) and by appendBindingPayload (record's), CPU per payload.
func BenchmarkBindingPayload(b *testing.B) {
	x := store.Binding{Org: "org-0042", CreatedBy: "user:loader", CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
		Binding: authz.Binding{ID: "bq3xk2m4n5p6r7s8t", Principal: "user:u12345", Actions: []string{"run"},
			Scope: authz.Scope{Namespace: "bulk", Type: "chains", ID: "chain-000123"}}}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appendBindingPayload", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := appendBindingPayload(make([]byte, 0, bindingPayloadSize(x)), x); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestActionsJSONIsJSONMarshal: a binding's actions column holds the bytes
// json.Marshal made before actionsJSON (reads decode it; existing rows
// were written by json.Marshal).
func TestActionsJSONIsJSONMarshal(t *testing.T) {
	for _, actions := range [][]string{
		{"run"},
		{"run", "*", "read"},
		{""},
		{"a<b>&c", "x\"y\\z\n\u2028é\xff", "\x00"},
	} {
		want, err := json.Marshal(actions)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), actionsJSON(actions)); diff != "" {
			t.Errorf("actionsJSON(%q) differs from json.Marshal (-want +got):\n%s", actions, diff)
		}
	}
}
