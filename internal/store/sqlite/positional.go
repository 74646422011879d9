package sqlite

import (
	"strings"
	"sync"
)

// positional returns query with its parameters $1, $2, … $n written as
// SQLite's anonymous "?" when they appear exactly once each and in that
// order (and the text has no quoted literal that could hold a "$", and no "?"); any
// other text is returned as it is.
//
// sqlcore writes PostgreSQL's $n, which SQLite treats as named parameters:
// modernc.org/sqlite binds each by looking its name up
// (sqlite3_bind_parameter_name), a walk of the statement's list of names,
// so binding a statement of n named parameters costs O(n²) — for the
// multi-row INSERTs of a bulk write (1,000 parameters) that walk was 12%
// of the server's CPU (issue 19). Anonymous parameters are bound by
// position, with no name to look up.
func positional(query string) string {
	if !strings.Contains(query, "$") || strings.ContainsAny(query, `'"?`) {
		return query
	}
	if v, ok := positionalCache.Load(query); ok {
		return v.(string)
	}
	out := toPositional(query)
	rememberPositional(query, out)
	return out
}

// positionalCache maps a statement text to positional's answer. sqlcore's
// statement texts are a bounded set (constants and a few shapes of
// generated lists); a text built from more than that would only cost
// memory, so the cache stops growing at positionalCacheMax entries.
var (
	positionalCache sync.Map
	positionalCount int
	positionalMu    sync.Mutex
)

const positionalCacheMax = 4096

func rememberPositional(query, out string) {
	positionalMu.Lock()
	defer positionalMu.Unlock()
	if positionalCount < positionalCacheMax {
		positionalCount++
		positionalCache.Store(query, out)
	}
}

func toPositional(query string) string {
	var b strings.Builder
	b.Grow(len(query))
	next := 1
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c != '$' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		n := 0
		for j < len(query) && query[j] >= '0' && query[j] <= '9' && n <= 1<<20 {
			n = n*10 + int(query[j]-'0')
			j++
		}
		if j == i+1 || n != next || (j < len(query) && isIdentByte(query[j])) {
			return query // not $next: leave the text as it is
		}
		next++
		b.WriteByte('?')
		i = j - 1
	}
	return b.String()
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
