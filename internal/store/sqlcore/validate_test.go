package sqlcore

import (
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/ident"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func TestIdentifierShapes(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) bool
		ok    []string
		bad   []string
	}{
		{"slug", validSlug,
			[]string{"a", "acme", "data-pipelines", "prod_2", "0day"},
			[]string{"", "Acme", "-a", "_a", "a b", "a/b", "é", string(make([]byte, 64))}},
		{"name", validName,
			[]string{"Triage", "chains", "kb", "a.b-c_d", "x1"},
			[]string{"", "1a", ".a", "a b", "a:b", "*"}},
		{"key", validKey,
			[]string{"alice", "alice@example.com", "0f8c-22", "a+b", "A_1"},
			[]string{"", "@a", "a b", "a/b", "a:b", "ä"}},
		{"resource id", ident.IsResourceID,
			[]string{"escalation-triage", "web search", "ｃｈａｉｎ", "a'b", "%"},
			[]string{"", " a", "a ", "a/b", "a\nb", "a\x00", "\xff", "\u202e"}},
	}
	for _, tc := range tests {
		for _, s := range tc.ok {
			if !tc.check(s) {
				t.Errorf("%s: %q rejected", tc.name, s)
			}
		}
		for _, s := range tc.bad {
			if tc.check(s) {
				t.Errorf("%s: %q accepted", tc.name, s)
			}
		}
	}
}

func TestSplitPrincipal(t *testing.T) {
	tests := []struct {
		in         string
		kind, name string
		ok         bool
	}{
		{"user:alice", "user", "alice", true},
		{"team:support", "team", "support", true},
		{"agent:Triage", "agent", "Triage", true},
		{"service:ci", "service", "ci", true},
		{"team:Support", "", "", false}, // team slugs are lower case
		{"robot:x", "", "", false},
		{"user:", "", "", false},
		{"alice", "", "", false},
		{"user:a:b", "", "", false},
	}
	for _, tc := range tests {
		kind, name, ok := splitPrincipal(tc.in)
		if ok != tc.ok || (ok && (kind != tc.kind || name != tc.name)) {
			t.Errorf("splitPrincipal(%q) = %q, %q, %v; want %q, %q, %v", tc.in, kind, name, ok, tc.kind, tc.name, tc.ok)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := encodeCursor("resources", "acme", []string{"prod", "chains", "a/b"})
	size, keys, err := pageArgs("op", "resources", "acme", store.Page{Size: 5, Cursor: c}, 3)
	if err != nil || size != 5 || len(keys) != 3 || keys[2] != "a/b" {
		t.Fatalf("pageArgs = %d, %v, %v", size, keys, err)
	}
	for _, tc := range []struct {
		list, scope string
		n           int
	}{{"bindings", "acme", 3}, {"resources", "other", 3}, {"resources", "acme", 1}} {
		if _, _, err := pageArgs("op", tc.list, tc.scope, store.Page{Cursor: c}, tc.n); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("cursor accepted for %+v: %v", tc, err)
		}
	}
	if size, keys, err := pageArgs("op", "x", "", store.Page{}, 1); err != nil || size != store.DefaultPageSize || keys != nil {
		t.Errorf("zero page = %d, %v, %v", size, keys, err)
	}
}
