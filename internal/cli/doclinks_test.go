package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// TestDocLinks: every relative link of the README, docs/*.md and the SDKs'
// and examples' READMEs points at a file that exists and, for a link into
// a Markdown file with #anchor, at one of its headings (GitHub's anchors:
// lower case, punctuation dropped, spaces as hyphens).
func TestDocLinks(t *testing.T) {
	var files []string
	for _, pattern := range []string{"README.md", "docs/*.md", "sdk/*/README.md", "examples/*/README.md"} {
		m, err := filepath.Glob(filepath.Join("../..", pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("only %d documents found", len(files))
	}
	fence := regexp.MustCompile("(?s)```.*?```")
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(fence.ReplaceAllString(string(b), ""), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			file := f
			if path != "" {
				file = filepath.Join(filepath.Dir(f), path)
			}
			if _, err := os.Stat(file); err != nil {
				t.Errorf("%s: link %s: no such file", strings.TrimPrefix(f, "../../"), target)
				continue
			}
			if frag != "" && strings.HasSuffix(file, ".md") && !slices.Contains(headingAnchors(t, file), frag) {
				t.Errorf("%s: link %s: %s has no heading with that anchor", strings.TrimPrefix(f, "../../"), target, strings.TrimPrefix(file, "../../"))
			}
		}
	}
}

// headingAnchors are the anchors GitHub gives the headings of a Markdown
// file (outside code blocks).
func headingAnchors(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	src := regexp.MustCompile("(?s)```.*?```").ReplaceAllString(string(b), "")
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^#+ (.*)$`).FindAllStringSubmatch(src, -1) {
		var a strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(m[1])) {
			switch {
			case r == ' ':
				a.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				a.WriteRune(r)
			}
		}
		out = append(out, a.String())
	}
	return out
}
