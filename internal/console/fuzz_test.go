package console

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext: whatever the post-sign-in destination, the console sends
// the browser somewhere inside itself, never to another host.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/console/", "/console/orgs/acme/", "//evil.example/console/", "/console/\\evil", "https://evil.example/", "/console/\r\nSet-Cookie: x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if !strings.HasPrefix(got, Prefix) || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
		if u, err := url.Parse(got); err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("safeNext(%q) = %q leaves the console", next, got)
		}
	})
}

// FuzzAuditFilter: any query string gives a filter or a sentence, never a
// panic, and a time that did not parse never filters silently.
func FuzzAuditFilter(f *testing.F) {
	for _, s := range []string{"", "actor=user:ada&since=2026-12-05T21:30", "since=yesterday", "until=2026-12-05T21:30:00Z&result=denied", "since=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/console/orgs/acme/audit", nil)
		r.URL.RawQuery = raw
		form, sf, msg := auditFilter(r)
		if msg != "" {
			return
		}
		if (form.Since != "") != !sf.Since.IsZero() || (form.Until != "") != !sf.Until.IsZero() {
			t.Fatalf("query %q: since %q → %v, until %q → %v", raw, form.Since, sf.Since, form.Until, sf.Until)
		}
	})
}

// FuzzSplitList: the role form's lists never hold an empty or padded item.
func FuzzSplitList(f *testing.F) {
	for _, s := range []string{"chains:run, results:read", " a ,, b\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, item := range splitList(s) {
			if item == "" || strings.TrimSpace(item) != item || strings.Contains(item, ",") {
				t.Fatalf("splitList(%q) has %q", s, item)
			}
		}
	})
}
