package ident

import (
	"strings"
	"testing"
)

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

// TestResourceIDs: what a resource id may be, on the check path and in
// the store alike.
func TestResourceIDs(t *testing.T) {
	long := string(make([]byte, 256))
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"deploy", true},
		{"déploy-ü-日本", true},
		{"a b", true},
		{"v1.2@main+x", true},
		{"", false},
		{" deploy", false},
		{"deploy ", false},
		{"a/b", false},
		{"tab\there", false},
		{"del\x7f", false},
		{"x\u009b31m", false},     // C1 CSI
		{"prod\u202eyolp", false}, // right-to-left override
		{"dep\u200bloy", false},   // zero-width space
		{"nb\u00a0sp", false},     // a separator other than the ASCII space
		{"line\u2028break", false},
		{"bad\xffutf8", false},
		{"\uFFFD", false}, // the replacement character reads as invalid UTF-8
		{strings.Repeat("x", 256), true},
		{strings.Repeat("x", 257), false},
		{long, false}, // 256 NULs
	} {
		if got := IsResourceID(tt.s); got != tt.want {
			t.Errorf("IsResourceID(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestIdentifiersDoNotAllocate(t *testing.T) {
	var ok bool
	if n := testing.AllocsPerRun(100, func() {
		ok = IsIdent("chains-run_1") && IsSlug("prod") && IsResourceID("deploy") && IsResourceID("déploy")
	}); n != 0 || !ok {
		t.Errorf("%v allocations per run (ok %v), want 0 and true", n, ok)
	}
}

// TestFoldIsEqualFold: two names have one Fold exactly when
// strings.EqualFold says they are equal (encoding/json's matching).
func TestFoldIsEqualFold(t *testing.T) {
	names := []string{"role", "Role", "ROLE", "rolE", "status", "ſtatus", "STATUS", "kind", "\u212Aind", "KIND",
		"straße", "STRASSE", "strasse", "ẞ", "ß", "σ", "ς", "Σ", "", "a-b_c", "A-B_C", "ﬀ", "ff", "é", "É", "e"}
	for _, a := range names {
		for _, b := range names {
			if got, want := Fold(a) == Fold(b), strings.EqualFold(a, b); got != want {
				t.Errorf("Fold(%q) == Fold(%q) is %v; strings.EqualFold says %v", a, b, got, want)
			}
		}
	}
}
