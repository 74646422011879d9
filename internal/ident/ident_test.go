package ident

import "testing"

func TestIdentifiers(t *testing.T) {
	long := "a"
	for len(long) < 64 {
		long += "b"
	}
	tests := []struct {
		s           string
		ident, slug bool
	}{
		{"alice", true, true},
		{"Alice", true, false},
		{"a-b_c9", true, true},
		{"9lives", false, false},
		{"-x", false, false},
		{"_x", false, false},
		{"", false, false},
		{"a b", false, false},
		{"a:b", false, false},
		{"é", false, false},
		{long, true, false}, // 64 bytes: an identifier, too long for a slug
		{long[:63], true, true},
	}
	for _, tt := range tests {
		if got := IsIdent(tt.s); got != tt.ident {
			t.Errorf("IsIdent(%q) = %v, want %v", tt.s, got, tt.ident)
		}
		if got := IsSlug(tt.s); got != tt.slug {
			t.Errorf("IsSlug(%q) = %v, want %v", tt.s, got, tt.slug)
		}
	}
}

func TestIdentifiersDoNotAllocate(t *testing.T) {
	var ok bool
	if n := testing.AllocsPerRun(100, func() { ok = IsIdent("chains-run_1") && IsSlug("prod") }); n != 0 || !ok {
		t.Errorf("%v allocations per run (ok %v), want 0 and true", n, ok)
	}
}
