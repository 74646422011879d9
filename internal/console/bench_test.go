package console_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/console"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// BenchmarkPages renders each console page server-side (console.ServeHTTP,
// no network) for the admin of an org of GATEHOUSE_BENCH_MEMBERS members
// (default 10,000) and GATEHOUSE_BENCH_RESOURCES resources (default
// 100,000), seeded by bulk SQL as a restore would. Goal: ≤ 50 ms a page.
//
//	go test ./internal/console -run '^$' -bench BenchmarkPages -benchtime 20x
func BenchmarkPages(b *testing.B) {
	members := benchEnvInt(b, "GATEHOUSE_BENCH_MEMBERS", 10_000)
	resources := benchEnvInt(b, "GATEHOUSE_BENCH_RESOURCES", 100_000)
	con, cookies := benchConsole(b, members, resources)
	pages := []struct{ name, path string }{
		{"overview", ""}, {"members", "members"}, {"members-page-100", "members?cursor="}, {"teams", "teams"},
		{"roles", "roles"}, {"policy", "policy"}, {"resources", "resources?namespace=prod"},
		{"resource", "resources/prod/chains/c0050000"},
		{"playground-explain", "playground?mode=explain&principal=user:u0000001&action=chains:run&namespace=prod&resource=chains/c0050000"},
		{"agents", "agents"}, {"audit", "audit"}, {"approvals", "approvals"},
	}
	for _, pg := range pages {
		path := "/console/orgs/acme/" + pg.path
		if strings.HasSuffix(path, "cursor=") {
			path += benchCursor(b, con, cookies, 100)
		}
		b.Run(pg.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", path, nil)
				for _, c := range cookies {
					req.AddCookie(c)
				}
				con.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d\n%s", path, rec.Code, rec.Body.String())
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
}

// benchCursor follows the members list n pages in.
func benchCursor(b *testing.B, con *console.Console, cookies []*http.Cookie, n int) string {
	cursor := ""
	re := regexp.MustCompile(`href="\?cursor=([^"]+)" rel="next"`)
	for range n {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/console/orgs/acme/members?cursor="+url.QueryEscape(cursor), nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		con.ServeHTTP(rec, req)
		m := re.FindStringSubmatch(rec.Body.String())
		if m == nil {
			b.Fatalf("no next page after %q", cursor)
		}
		cursor, _ = url.QueryUnescape(strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	return url.QueryEscape(cursor)
}

func benchEnvInt(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("%s=%q", name, v)
		}
		return n
	}
	return def
}

// benchConsole seeds the org and signs the admin in; it returns the
// console and the session's cookies.
func benchConsole(b *testing.B, members, resources int) (*console.Console, []*http.Cookie) {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	keys := auth.NewKeySet()
	{
		d, err := directory.Open(ctx, st, authz.New(), directory.Options{})
		if err != nil {
			b.Fatal(err)
		}
		as := auth.New(st, d, keys, auth.Options{})
		if _, _, err := as.Bootstrap(ctx, store.User{ID: "ada"}, "bench"); err != nil {
			b.Fatal(err)
		}
		if _, _, err := d.CreateOrg(ctx, directory.Actor{Principal: "user:ada"}, directory.OrgSpec{ID: "acme", Template: "mentiko"}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := d.CreateNamespace(ctx, directory.Actor{Principal: "user:ada"}, "acme", "prod"); err != nil {
			b.Fatal(err)
		}
		_ = as.Close()
		_ = d.Close()
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, q := range []struct {
		sql string
		n   int
	}{
		{`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
			INSERT INTO users (id, email, display_name, created_at) SELECT printf('u%07d', i), '', '', 0 FROM n`, members},
		{`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
			INSERT INTO members (org, user_id, attributes, created_at) SELECT 'acme', printf('u%07d', i), '{}', 0 FROM n`, members},
		{`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
			INSERT INTO bindings (org, id, principal, role, actions, scope_namespace, scope_type, scope_id, condition_name, created_by, created_at)
			SELECT 'acme', printf('s%08d', i), printf('user:u%07d', i),
			       CASE i % 3 WHEN 0 THEN 'viewer' WHEN 1 THEN 'operator' ELSE 'builder' END,
			       NULL, '', '', '', '', 'user:ada', 0 FROM n`, members},
		{`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
			INSERT INTO resources (org, namespace, type, id, labels, attributes, version, updated_by, created_at, updated_at)
			SELECT 'acme', 'prod', 'chains', printf('c%07d', i), '{}', '{}', 1, 'user:ada', 0, 0 FROM n`, resources},
		{`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
			INSERT INTO resource_versions (org, namespace, type, id, version, spec, labels, attributes, author, created_at)
			SELECT 'acme', 'prod', 'chains', printf('c%07d', i), 1, '{"steps":["a","b"]}', '{}', '{}', 'user:ada', 0 FROM n`, resources},
		{`ANALYZE`, 0},
	} {
		args := []any{}
		if q.n > 0 {
			args = append(args, q.n)
		}
		if _, err := db.Exec(q.sql, args...); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	d, err := directory.Open(ctx, st, authz.New(), directory.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close() })
	as := auth.New(st, d, keys, auth.Options{})
	b.Cleanup(func() { _ = as.Close() })
	_, key, err := as.Bootstrap(ctx, store.User{ID: "ada"}, "bench2")
	if err != nil {
		b.Fatal(err)
	}
	con, err := console.New(console.Config{Directory: d, Auth: as})
	if err != nil {
		b.Fatal(err)
	}
	return con, signInDirect(b, con, key)
}

// signInDirect signs in through the console's handler with a one-time
// link and returns the session cookies.
func signInDirect(b *testing.B, con *console.Console, key string) []*http.Cookie {
	b.Helper()
	link, err := con.SignInLink(context.Background(), key)
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	con.ServeHTTP(rec, httptest.NewRequest("GET", link, nil))
	anon := rec.Result().Cookies()
	m := csrfRE.FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatal("no csrf on the link page")
	}
	form := url.Values{"csrf": {m[1]}, "t": {strings.TrimPrefix(link, "/console/link?t=")}}
	req := httptest.NewRequest("POST", "/console/link", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range anon {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	con.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("sign in: %d %s", rec.Code, rec.Body.String())
	}
	var out []*http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Value != "" {
			out = append(out, c)
		}
	}
	return out
}
