package directory

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Confusable resource ids (docs/threat-model.md rows 82 and 93). Two ids
// that render alike but differ in bytes are two resources to the engine:
// a share or a binding on "pаyroll" (with a Cyrillic а) grants nothing on
// "payroll", and a reviewer reading the policy, a binding list or an
// audit entry sees the same word. The writes that name a new resource id
// — creating a resource (alone, in a batch, in an MCP import), a binding
// scoped to one, a share — refuse:
//
//   - an id not in Unicode normal form C: "é" written as e + U+0301 and
//     as U+00E9 are the same text to a reader and two ids to Gatehouse;
//   - an id whose characters come from more than one script, Common
//     (digits, punctuation) and Inherited (combining marks) aside, except
//     the combinations Unicode TS #39's "highly restrictive" level allows
//     for CJK: Latin with Han, Hiragana and Katakana; Latin with Han and
//     Hangul; Latin with Han and Bopomofo (allowedScriptSets);
//   - an id written wholly in Cyrillic or Greek whose every letter looks
//     like a Latin one ("раура1", "ονο"): it reads as a Latin id
//     (latinLookalikes, a hand-made subset of TS #39's whole-script
//     confusables; Gatehouse carries no confusables data, so look-alikes
//     between two ids of one script, and other scripts' look-alikes of
//     Latin, are not caught: the row's residual risk).
//
// Other ids (users, teams, agents, services, orgs, namespaces, roles,
// types) are ASCII identifiers (ident.IsIdent, IsSlug): one script. Reads,
// updates, deletes and decisions are not refused (ident.IsResourceID is
// their rule): ids written before this check still load and can be read,
// shared again under their own id only if they pass, and deleted.

// scriptTables are Go's script tables (unicode.Scripts), Common and
// Inherited left out, in name order.
var scriptTables = func() []struct {
	name  string
	table *unicode.RangeTable
} {
	var out []struct {
		name  string
		table *unicode.RangeTable
	}
	for name, t := range unicode.Scripts {
		if name != "Common" && name != "Inherited" {
			out = append(out, struct {
				name  string
				table *unicode.RangeTable
			}{name, t})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}()

// scriptOf is the script of r, "" for Common, Inherited or unassigned.
func scriptOf(r rune) string {
	for _, s := range scriptTables {
		if unicode.Is(s.table, r) {
			return s.name
		}
	}
	return ""
}

// allowedScriptSets are the sets of scripts one id may mix (TS #39,
// highly restrictive): any subset of one of them.
var allowedScriptSets = []map[string]bool{
	{"Latin": true, "Han": true, "Hiragana": true, "Katakana": true},
	{"Latin": true, "Han": true, "Hangul": true},
	{"Latin": true, "Han": true, "Bopomofo": true},
}

func scriptsAllowed(set map[string]bool) bool {
	if len(set) <= 1 {
		return true
	}
outer:
	for _, allowed := range allowedScriptSets {
		for s := range set {
			if !allowed[s] {
				continue outer
			}
		}
		return true
	}
	return false
}

// latinLookalikes are the Cyrillic and Greek letters that render as a
// Latin letter, with it.
var latinLookalikes = map[rune]rune{
	// Cyrillic
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's',
	'һ': 'h', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l', 'ѵ': 'v',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T',
	'Х': 'X', 'У': 'Y', 'Ү': 'Y', 'І': 'I', 'Ј': 'J', 'Ѕ': 'S',
	// Greek
	'ο': 'o', 'α': 'a', 'ν': 'v', 'ι': 'i', 'κ': 'k', 'ρ': 'p', 'υ': 'u', 'χ': 'x',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O',
	'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
}

// checkNewResourceID refuses a resource id a write would create that is
// not NFC, mixes scripts beyond what allowedScriptSets allow, or is a
// Cyrillic or Greek id that reads as Latin, naming the id and why (400).
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
	set := map[string]bool{}
	first, firstScript := rune(0), ""
	for _, r := range id {
		sc := scriptOf(r)
		if sc == "" || set[sc] {
			continue
		}
		set[sc] = true
		if firstScript == "" {
			first, firstScript = r, sc
			continue
		}
		if !scriptsAllowed(set) {
			return invalid(field, "resource id %q mixes %s and %s letters (%s, %s), which can look alike; write it in one script (Latin may go with Han and Hiragana, Katakana, Hangul or Bopomofo)",
				id, firstScript, sc, runeName(first), runeName(r))
		}
	}
	if len(set) == 1 && (set["Cyrillic"] || set["Greek"]) {
		var latin strings.Builder
		for _, r := range id {
			if l, ok := latinLookalikes[r]; ok {
				latin.WriteRune(l)
			} else if unicode.IsLetter(r) {
				return nil // a letter with no Latin look-alike: it does not read as Latin
			} else {
				latin.WriteRune(r)
			}
		}
		return invalid(field, "resource id %q is written in %s letters that all look like Latin ones: it reads as Latin %q, a different id; write it in Latin, or with letters of its own script",
			id, firstScript, latin.String())
	}
	return nil
}

func runeName(r rune) string { return fmt.Sprintf("%q U+%04X", r, r) }
