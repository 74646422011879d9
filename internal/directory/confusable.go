package directory

import (
	"fmt"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Confusable resource ids (docs/threat-model.md row 82). Two ids that
// render alike but differ in bytes are two resources to the engine: a
// share or a binding on "pаyroll" (with a Cyrillic а) grants nothing on
// "payroll", and a reviewer reading the policy, a binding list or an
// audit entry sees the same word. The writes that name a new resource id
// — creating a resource, a binding scoped to one, a share — refuse:
//
//   - an id not in Unicode normal form C: "é" written as e + U+0301 and
//     as U+00E9 are the same text to a reader and two ids to Gatehouse;
//   - an id that mixes letters of Latin, Cyrillic and Greek, the scripts
//     whose letters look alike (a/а/α, o/о/ο, p/р/ρ).
//
// Reads, updates, deletes and decisions are not refused (ident.IsResourceID
// is their rule): ids written before this check still load and can be
// read, shared again under their own id only if they pass, and deleted.

// confusableScripts are the scripts one id may not mix.
var confusableScripts = []struct {
	name  string
	table *unicode.RangeTable
}{
	{"Latin", unicode.Latin},
	{"Cyrillic", unicode.Cyrillic},
	{"Greek", unicode.Greek},
}

// checkNewResourceID refuses a resource id a write would create that is
// not NFC or mixes the confusable scripts, naming the id and why (400).
func checkNewResourceID(field, id string) error {
	if err := checkResourceID(field, id); err != nil {
		return err
	}
	ascii := true
	for i := 0; i < len(id); i++ {
		if id[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return nil // ASCII is NFC and Latin only
	}
	if !norm.NFC.IsNormalString(id) {
		return invalid(field, "resource id %q is not in Unicode normal form C (NFC): the same text is written %q in NFC, and the two would be different resources; write the NFC form", id, norm.NFC.String(id))
	}
	first := -1 // index in confusableScripts of the first script seen
	var firstRune rune
	for _, r := range id {
		for i, sc := range confusableScripts {
			if !unicode.Is(sc.table, r) {
				continue
			}
			switch {
			case first < 0:
				first, firstRune = i, r
			case first != i:
				return invalid(field, "resource id %q mixes %s and %s letters (%s, %s), which look alike; write it in one script",
					id, confusableScripts[first].name, sc.name, runeName(firstRune), runeName(r))
			}
			break
		}
	}
	return nil
}

func runeName(r rune) string { return fmt.Sprintf("%q U+%04X", r, r) }
