package sqlite

import "testing"

func TestPositional(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1 FROM orgs WHERE id = $1`, `SELECT 1 FROM orgs WHERE id = ?`},
		{`INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)`, `INSERT INTO t (a, b) VALUES (?, ?), (?, ?)`},
		{`SELECT 1 FROM t WHERE a = $10`, `SELECT 1 FROM t WHERE a = $10`},                         // not in order
		{`SELECT 1 FROM t WHERE a = $1 OR b = $1`, `SELECT 1 FROM t WHERE a = $1 OR b = $1`},       // reused
		{`SELECT 1 FROM t WHERE a = $2 AND b = $1`, `SELECT 1 FROM t WHERE a = $2 AND b = $1`},     // out of order
		{`SELECT 1 FROM t WHERE a = $1 AND b = '$2'`, `SELECT 1 FROM t WHERE a = $1 AND b = '$2'`}, // a literal
		{`SELECT $1x`, `SELECT $1x`}, // not a parameter
		{`SELECT $`, `SELECT $`},
		{`SELECT 1`, `SELECT 1`},
	} {
		if got := positional(tc.in); got != tc.want {
			t.Errorf("positional(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := positional(tc.in); got != tc.want { // from the cache
			t.Errorf("positional(%q) again = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzPositional(f *testing.F) {
	for _, s := range []string{`SELECT $1, $2`, `$1$2$3`, `$10 $1`, `'$1'`, `$`, `$1a`, `x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := toPositional(s)
		if out == s {
			return
		}
		// A rewrite only replaces each $n by "?", n counting up from 1.
		n := 0
		for i := 0; i < len(out); i++ {
			if out[i] == '?' {
				n++
			}
		}
		if n == 0 {
			t.Fatalf("toPositional(%q) = %q: changed without parameters", s, out)
		}
	})
}
