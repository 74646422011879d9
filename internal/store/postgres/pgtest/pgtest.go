// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema on the server named by GATEHOUSE_TEST_POSTGRES, dropped when the
// test ends.
//
// Invariants: without GATEHOUSE_TEST_POSTGRES a test that asks for
// PostgreSQL skips and says why — unless GATEHOUSE_REQUIRE_POSTGRES is set
// (CI sets it), in which case it fails, so a CI run can never pass by
// skipping the PostgreSQL suites. Schemas are random per test, so packages
// testing in parallel never share tables.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Env names the variables this package reads.
const (
	EnvDSN     = "GATEHOUSE_TEST_POSTGRES"
	EnvRequire = "GATEHOUSE_REQUIRE_POSTGRES"
)

// Available reports whether PostgreSQL tests should run. Without a DSN it
// fails the test when they are required, and otherwise returns false.
func Available(t testing.TB) bool {
	t.Helper()
	if os.Getenv(EnvDSN) != "" {
		return true
	}
	if os.Getenv(EnvRequire) != "" {
		t.Fatalf("%s is set but %s is not: the PostgreSQL tests must run", EnvRequire, EnvDSN)
	}
	return false
}

// DSN returns the server's connection string, skipping the test (with a
// message) when there is none and PostgreSQL is not required.
func DSN(t testing.TB) string {
	t.Helper()
	if !Available(t) {
		t.Skipf("%s is not set: PostgreSQL tests skipped", EnvDSN)
	}
	return os.Getenv(EnvDSN)
}

// FreshSchema creates a schema named prefix_<random> on the server, drops
// it when the test ends, and returns a DSN whose search_path is that schema.
func FreshSchema(t testing.TB, prefix string) string {
	t.Helper()
	base := DSN(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := prefix + "_" + hex.EncodeToString(b[:])
	exec := func(sql string) error {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("%s: create schema %s: %v", EnvDSN, schema, err)
	}
	t.Cleanup(func() {
		if err := exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("%s: %v", EnvDSN, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " search_path=" + schema
}
