package jsonstr

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestAppend(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // the value appended after "dst:"
		n        int    // the literal's length, or where it went wrong
		err      error
	}{
		{"empty", `""`, "", 2, nil},
		{"plain", `"abc"`, "abc", 5, nil},
		{"stops at the closing quote", `"a"b"`, "a", 3, nil},
		{"short escapes", `"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t", 18, nil},
		{"unicode escape", `"\u00e9\u00E9"`, "éé", 14, nil},
		{"control escape", `"\u0000\u001f"`, "\x00\x1f", 14, nil},
		{"surrogate pair", `"\ud834\udd1e"`, "𝄞", 14, nil},
		{"lone high surrogate", `"\ud834x"`, "\uFFFDx", 9, nil},
		{"lone low surrogate", `"\udd1e"`, "\uFFFD", 8, nil},
		{"high then not low", `"\ud834\u0041"`, "\uFFFDA", 14, nil},
		{"two highs", `"\ud834\ud834\udd1e"`, "\uFFFD𝄞", 20, nil},
		{"high then short escape", `"\ud834\n"`, "\uFFFD\n", 10, nil},
		{"raw UTF-8", `"é𝄞"`, "é𝄞", 8, nil},
		{"raw invalid UTF-8 kept", "\"\xff\xfe\"", "\xff\xfe", 4, nil},
		{"escape then raw", `"a\tb"`, "a\tb", 6, nil},

		{"no input", ``, "", 0, ErrSyntax},
		{"no opening quote", `abc"`, "", 0, ErrSyntax},
		{"truncated", `"abc`, "abc", 4, ErrSyntax},
		{"truncated after backslash", `"ab\`, "ab", 4, ErrSyntax},
		{"control byte", "\"a\nb\"", "a", 2, ErrSyntax},
		{"unknown escape", `"a\x"`, "a", 3, ErrSyntax},
		{"short unicode escape", `"\u12"`, "", 3, ErrSyntax},
		{"bad hex", `"\u12g4"`, "", 3, ErrSyntax},
		{"surrogate then bad escape", `"\ud834\u12g4"`, "\uFFFD", 9, ErrSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, n, err := Append([]byte("dst:"), []byte(tc.in))
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("Append(%q): error %v, want %v", tc.in, err, tc.err)
			}
			if d := cmp.Diff("dst:"+tc.want, string(out)); d != "" {
				t.Errorf("Append(%q) value (-want +got):\n%s", tc.in, d)
			}
			if n != tc.n {
				t.Errorf("Append(%q): n = %d, want %d", tc.in, n, tc.n)
			}
			if err != nil {
				return
			}
			var s string
			if jerr := json.Unmarshal([]byte(tc.in)[:n], &s); jerr != nil {
				t.Fatalf("encoding/json refuses %q: %v", tc.in[:n], jerr)
			}
			if utf8.Valid(out) && s != tc.want {
				t.Errorf("encoding/json reads %q as %q, want %q", tc.in[:n], s, tc.want)
			}
		})
	}
}

// FuzzAppend compares Append with encoding/json on any input: a literal
// one accepts the other does, with the same value (raw bytes that are not
// valid UTF-8 apart: encoding/json puts U+FFFD for them, Append keeps
// them), and neither panics.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{
		`""`, `"abc"`, `"\"\\\/\b\f\n\r\t"`, `"\u00e9\u00E9"`, `"\ud834\udd1e"`, `"\ud834x"`, `"\udd1e"`,
		`"\ud834\u0041"`, `"\ud834\ud834\udd1e"`, `"\ud834\u12g4"`, `"\u12"`, `"a\x"`, "\"a\nb\"", `"ab\`, `"abc`,
		"\"\xff\xfe\"", `"é𝄞"`, `"a"b"`, `abc`, ``, `"\u0000"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, n, err := Append(nil, b)
		if n < 0 || n > len(b) {
			t.Fatalf("Append(%q): n = %d outside 0..%d", b, n, len(b))
		}
		var s string
		if err == nil {
			if jerr := json.Unmarshal(b[:n], &s); jerr != nil {
				t.Fatalf("Append(%q) accepted %q, encoding/json refuses it: %v", b, b[:n], jerr)
			}
			if utf8.Valid(b[:n]) && s != string(out) {
				t.Fatalf("Append(%q) = %q, encoding/json %q", b, out, s)
			}
			if !utf8.Valid(b[:n]) && utf8.Valid(out) {
				t.Fatalf("Append(%q) = %q: the raw bytes that are not UTF-8 were not kept", b, out)
			}
			return
		}
		// Refused: b is no literal encoding/json reads either, whatever
		// follows the byte Append stopped at.
		if len(b) > 0 && b[0] == '"' && json.Unmarshal(b, &s) == nil {
			t.Fatalf("Append(%q) refused it (%v at %d), encoding/json reads %q", b, err, n, s)
		}
		if !errors.Is(err, ErrSyntax) {
			t.Fatalf("Append(%q): error %v, want ErrSyntax", b, err)
		}
	})
}
