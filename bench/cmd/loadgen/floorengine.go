package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/gctune"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// engineHandler is `loadgen floor -engine`: the floor's bare net/http
// server, but each check is decided by Gatehouse's engine, loaded from
// the data directory's store the way `gatehouse serve` loads it
// (directory.Open into a new authz.Engine; the directory is then closed,
// so nothing runs beside the requests) and with the collector headroom
// serve has by default. No authentication, no right-to-ask, no decision
// log, no audit, no metrics: read the body, decode its four fields,
// CheckWithReason, write {"allowed":…,"revision":…} (and the reason of a
// deny, as serve does). It says what a server that only decides can
// reach on this machine; it is never a server to deploy.
func engineHandler(data string) (http.Handler, func(), error) {
	ctx := context.Background()
	tuner := gctune.Start(gctune.DefaultHeadroom(gctune.MemoryLimit(os.ReadFile)), os.Getenv)
	st, err := sqlite.Open(ctx, filepath.Join(data, "gatehouse.db"), sqlite.Options{})
	if err != nil {
		tuner.Stop()
		return nil, nil, err
	}
	eng := authz.New()
	dir, err := directory.Open(ctx, st, eng, directory.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		st.Close()
		tuner.Stop()
		return nil, nil, err
	}
	dir.Close()
	st.Close()
	logf("floor -engine: engine at revision %d", eng.Revision())
	pool := sync.Pool{New: func() any { return new(engineCall) }}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/v1/orgs/")
		org, ok2 := strings.CutSuffix(rest, "/check")
		if !ok || !ok2 || r.Method != http.MethodPost {
			http.Error(w, "not a check", http.StatusNotFound)
			return
		}
		c := pool.Get().(*engineCall)
		defer pool.Put(c)
		c.buf.Reset()
		if _, err := io.Copy(&c.buf, io.LimitReader(r.Body, 1<<16)); err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		c.req = authz.Request{Org: org}
		if err := decodeCheck(c.buf.Bytes(), &c.req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		d := eng.CheckWithReason(&c.req)
		c.out = append(c.out[:0], `{"allowed":`...)
		c.out = strconv.AppendBool(c.out, d.Allowed)
		c.out = append(c.out, `,"revision":`...)
		c.out = strconv.AppendUint(c.out, d.Revision, 10)
		if d.Reason != "" {
			c.out = append(c.out, `,"reason":"`...)
			c.out = append(c.out, d.Reason...)
			c.out = append(c.out, '"')
		}
		c.out = append(c.out, '}', '\n')
		w.Header()["Content-Type"] = jsonCT
		_, _ = w.Write(c.out)
	})
	return h, tuner.Stop, nil
}

var jsonCT = []string{"application/json"}

// engineCall is one request's scratch, pooled (nothing of it outlives
// the request: the engine keeps no pointer to its request).
type engineCall struct {
	buf bytes.Buffer
	req authz.Request
	out []byte
}

// decodeCheck reads the mix's bodies, {"principal":"…","action":"t:a",
// "resource":"t/id","namespace":"…"} with plain strings (no escapes), into
// req. Anything else is an error: the floor serves only its own mix.
// Strings are substrings of one copy of the body (one allocation).
func decodeCheck(b []byte, req *authz.Request) error {
	s := strings.TrimSpace(string(b))
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return errors.New("not an object")
	}
	s = s[1 : len(s)-1]
	var action, resource string
	for s != "" {
		var k, v string
		var err error
		if k, s, err = jsonPlainString(s); err != nil {
			return err
		}
		if s = strings.TrimLeft(s, " "); s == "" || s[0] != ':' {
			return errors.New("want ':'")
		}
		if v, s, err = jsonPlainString(strings.TrimLeft(s[1:], " ")); err != nil {
			return err
		}
		switch k {
		case "principal":
			req.Principal = v
		case "action":
			action = v
		case "resource":
			resource = v
		case "namespace":
			req.Namespace = v
		default:
			return fmt.Errorf("unknown field %q", k)
		}
		if s = strings.TrimLeft(s, " "); s != "" {
			if s[0] != ',' {
				return errors.New("want ','")
			}
			s = strings.TrimLeft(s[1:], " ")
		}
	}
	var ok bool
	if req.ResourceType, req.Action, ok = strings.Cut(action, ":"); !ok {
		return fmt.Errorf("action %q is not type:action", action)
	}
	if resource != "" {
		typ, id, ok := strings.Cut(resource, "/")
		if !ok || typ != req.ResourceType {
			return fmt.Errorf("resource %q does not match the action", resource)
		}
		req.ResourceID = id
	}
	if req.Namespace == "" {
		req.Namespace = authz.DefaultNamespace
	}
	return nil
}

// jsonPlainString reads a JSON string without escapes at the start of s.
func jsonPlainString(s string) (v, rest string, err error) {
	if s == "" || s[0] != '"' {
		return "", s, errors.New("want a string")
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", s, errors.New("unterminated string")
	}
	v = s[1 : 1+end]
	if strings.IndexByte(v, '\\') >= 0 {
		return "", s, errors.New("escapes are not served")
	}
	return v, s[2+end:], nil
}
