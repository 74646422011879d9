package directory_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// TestNewResourceIDScripts: the restriction on the resource ids a write
// creates (row 93, after row 82): every letter from one script, Common and
// Inherited aside, or one of the CJK combinations with Latin; and no id
// written wholly in Cyrillic or Greek letters that look like Latin ones.
func TestNewResourceIDScripts(t *testing.T) {
	tests := []struct {
		name string
		id   string
		why  string // a phrase of the refusal; "" accepted
	}{
		{"ASCII", "payroll-2026_q1.v2", ""},
		{"Latin with accents, NFC", "caf\u00e9-cr\u00e8me", ""},
		{"not NFC", "cafe\u0301", "normal form C"},
		{"all Cyrillic words", "\u043f\u0430\u0440\u043e\u043b\u044c", ""},
		{"all Greek with digits", "\u03b1\u03b2\u03b3-1", ""},
		{"Latin + Cyrillic (row 82)", "p\u0430yroll", "mixes Latin and Cyrillic"},
		{"Latin + Greek (row 82)", "r\u03bfot", "mixes Latin and Greek"},
		{"Latin + Armenian o", "r\u0585ot", "mixes Latin and Armenian"},
		{"Latin + Cherokee A", "\u13aadmin", "mixes Cherokee and Latin"},
		{"Latin + Georgian", "ad\u10ddin", "mixes Latin and Georgian"},
		{"Cyrillic + Greek", "\u043f\u03b1", "mixes Cyrillic and Greek"},
		{"Latin + Han + Hiragana + Katakana", "report-\u5831\u544a\u3072\u30ab", ""},
		{"Latin + Han + Hangul", "q1-\u4fdd\u5b58-\ubcf4\uace0", ""},
		{"Latin + Han + Bopomofo", "zh-\u4e2d\u3105", ""},
		{"Hangul + Hiragana", "\ubcf4\u3072", "mixes Hangul and Hiragana"},
		{"Hangul + Bopomofo", "\ubcf4\u3105", "mixes Hangul and Bopomofo"},
		{"Cyrillic reading as Latin", "\u0440\u0430\u0443\u0440\u0430" + "1", "reads as Latin"},
		{"Greek reading as Latin", "\u03bf\u03bd\u03bf", "reads as Latin"},
		{"Inherited marks and Common digits", "\u043f\u0430\u0440\u043e\u043b\u044c-2\u0301", ""},
		{"Arabic", "\u0645\u0644\u0641", ""},
		{"Latin + Arabic", "file-\u0645", "mixes Latin and Arabic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Helper()
			err := directory.CheckNewResourceIDForTest(tc.id)
			switch {
			case tc.why == "" && err != nil:
				t.Errorf("%q refused: %v", tc.id, err)
			case tc.why != "" && (err == nil || !errors.Is(err, directory.ErrInvalid) || !strings.Contains(err.Error(), tc.why)):
				t.Errorf("%q: error %v, want invalid with %q", tc.id, err, tc.why)
			}
		})
	}
}
