// Package migrations embeds the store's schema migrations, one directory
// per SQL dialect, applied with pressly/goose when a store opens.
//
// Invariants: migrations are forward-only and append-only. A released file
// is never edited or removed; every schema change is a new file with the
// next number, in both dialects, and the two dialects always describe the
// same tables and columns (the backends' schema tests check it).
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql
var sqliteFS embed.FS

//go:embed postgres/*.sql
var postgresFS embed.FS

// SQLite returns the SQLite migrations, at the root of the returned FS.
func SQLite() fs.FS { return sub(sqliteFS, "sqlite") }

// Postgres returns the PostgreSQL migrations, at the root of the returned FS.
func Postgres() fs.FS { return sub(postgresFS, "postgres") }

func sub(f embed.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil { // cannot happen: dir is embedded above
		panic("migrations: " + err.Error())
	}
	return s
}
