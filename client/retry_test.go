package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// script is a fake server answering a fixed sequence of statuses (the
// last one repeats) and counting attempts.
type script struct {
	mu       sync.Mutex
	answers  []answer
	attempts int
	bodies   []string
}

type answer struct {
	status     int
	kind       string // problem kind for non-2xx
	retryAfter string
	body       string // for 2xx
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a := s.answers[min(s.attempts, len(s.answers)-1)]
	s.attempts++
	// The whole body: a single Read may return only part of it.
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			s.mu.Unlock()
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	s.bodies = append(s.bodies, string(body))
	s.mu.Unlock()
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	if a.status < 300 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		fmt.Fprint(w, a.body)
		return
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Request-Id", "req-1")
	w.WriteHeader(a.status)
	fmt.Fprintf(w, `{"type":%q,"title":"t","status":%d,"detail":"scripted"}`, ProblemBase+a.kind, a.status)
}

// TestRetries is the retry contract: which answers are retried, how many
// times, and how long the client waits.
func TestRetries(t *testing.T) {
	unavailable := answer{status: 503, kind: KindUnavailable}
	notCaughtUp := answer{status: 503, kind: KindNotCaughtUp, retryAfter: "1"}
	okDecision := answer{status: 200, body: `{"allowed":true,"revision":7}`}
	okRev := answer{status: 200, body: `{"revision":9}`}
	type call func(ctx context.Context, c *Client) error
	check := func(ctx context.Context, c *Client) error {
		_, err := c.Check(ctx, "acme", CheckRequest{Action: "chains:run"})
		return err
	}
	create := func(ctx context.Context, c *Client) error {
		_, _, err := c.CreateNamespace(ctx, "acme", "dev")
		return err
	}
	patch := func(ctx context.Context, c *Client) error { _, err := c.RenameOrg(ctx, "acme", "x"); return err }
	del := func(ctx context.Context, c *Client) error { _, err := c.DeleteBinding(ctx, "acme", "b1"); return err }
	get := func(ctx context.Context, c *Client) error { _, err := c.GetOrg(ctx, "acme"); return err }
	policy := RetryPolicy{MaxAttempts: 4, BaseDelay: 10 * time.Millisecond, MaxDelay: 2 * time.Second}

	tests := []struct {
		name     string
		answers  []answer
		call     call
		policy   RetryPolicy
		deadline time.Duration // context deadline (0: none)
		attempts int
		waits    []time.Duration // exact waits, when the jitter cannot move them
		minWaits []time.Duration // lower bounds otherwise
		wantErr  error           // nil: success
	}{{
		name: "a decision is retried on 503 until it succeeds", answers: []answer{unavailable, unavailable, okDecision},
		call: check, policy: policy, attempts: 3, minWaits: []time.Duration{0, 0},
	}, {
		name: "retries stop at MaxAttempts", answers: []answer{unavailable},
		call: check, policy: policy, attempts: 4, minWaits: []time.Duration{0, 0, 0}, wantErr: ErrUnavailable,
	}, {
		name: "Retry-After is honoured", answers: []answer{notCaughtUp, okDecision},
		call: check, policy: policy, attempts: 2, minWaits: []time.Duration{time.Second},
	}, {
		name: "a Retry-After beyond MaxDelay ends the retries", answers: []answer{{status: 503, kind: KindUnavailable, retryAfter: "30"}},
		call: check, policy: policy, attempts: 1, wantErr: ErrUnavailable,
	}, {
		name: "no retry when the deadline comes before the wait ends", answers: []answer{notCaughtUp, okDecision},
		call: check, policy: policy, deadline: 500 * time.Millisecond, attempts: 1, wantErr: ErrNotCaughtUp,
	}, {
		name: "a create is not retried after a 503 that may have come mid-write", answers: []answer{unavailable, okRev},
		call: create, policy: policy, attempts: 1, wantErr: ErrUnavailable,
	}, {
		name: "a create is retried after not-caught-up, answered before any write", answers: []answer{notCaughtUp, {status: 201, body: `{"revision":9,"item":{"org":"acme","name":"dev"}}`}},
		call: create, policy: policy, attempts: 2, minWaits: []time.Duration{time.Second},
	}, {
		name: "a PATCH is not retried after unavailable", answers: []answer{unavailable, okRev},
		call: patch, policy: policy, attempts: 1, wantErr: ErrUnavailable,
	}, {
		name: "a DELETE is idempotent and retried", answers: []answer{unavailable, okRev},
		call: del, policy: policy, attempts: 2, minWaits: []time.Duration{0},
	}, {
		name: "a 500 is not retried", answers: []answer{{status: 500, kind: KindInternal}, okRev},
		call: get, policy: policy, attempts: 1, wantErr: ErrServer,
	}, {
		name: "a 429 is not retried", answers: []answer{{status: 429, kind: KindRateLimited, retryAfter: "1"}, okRev},
		call: get, policy: policy, attempts: 1, wantErr: ErrRateLimited,
	}, {
		name: "MaxAttempts 1 disables retries", answers: []answer{unavailable, okDecision},
		call: check, policy: RetryPolicy{MaxAttempts: 1}, attempts: 1, wantErr: ErrUnavailable,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{answers: tt.answers}
			hs := httptest.NewServer(s)
			defer hs.Close()
			c, err := New(hs.URL, WithToken("gth_test"), WithRetry(tt.policy))
			if err != nil {
				t.Fatal(err)
			}
			var waits []time.Duration
			c.sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			err = tt.call(ctx, c)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("want success, got %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("want %v, got %v", tt.wantErr, err)
			}
			if s.attempts != tt.attempts {
				t.Errorf("%d attempts, want %d", s.attempts, tt.attempts)
			}
			if len(waits) != len(tt.minWaits) {
				t.Fatalf("waits %v, want %d of them", waits, len(tt.minWaits))
			}
			for i, w := range waits {
				ceil := max(tt.policy.BaseDelay<<i, tt.minWaits[i])
				if w < tt.minWaits[i] || w > ceil {
					t.Errorf("wait %d is %v, want within [%v, %v]", i, w, tt.minWaits[i], ceil)
				}
			}
			for i := 1; i < len(s.bodies); i++ {
				if s.bodies[i] != s.bodies[0] {
					t.Errorf("attempt %d sent another body: %q vs %q", i+1, s.bodies[i], s.bodies[0])
				}
			}
		})
	}
}

// TestBackoffIsBoundedFullJitter: every wait lies in [0, min(MaxDelay,
// BaseDelay·2^(n-1))] and the waits are not all equal (jitter).
func TestBackoffIsBoundedFullJitter(t *testing.T) {
	c, err := New("http://127.0.0.1:1", WithRetry(RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 40; attempt++ {
		ceil := min(time.Second, 100*time.Millisecond<<min(attempt-1, 30))
		seen := map[time.Duration]bool{}
		for range 50 {
			w, ok := c.backoff(attempt, "")
			if !ok || w < 0 || w > ceil {
				t.Fatalf("attempt %d: wait %v (ok %v), want within [0, %v]", attempt, w, ok, ceil)
			}
			seen[w] = true
		}
		if len(seen) < 2 {
			t.Errorf("attempt %d: 50 waits were all %v: no jitter", attempt, seen)
		}
	}
}

// TestAnswersThatAreNotProblems: an error answer from something that is
// not Gatehouse (a proxy's HTML page) is still a classified *Error with a
// short excerpt, and a garbled success is an error, not a decision.
func TestAnswersThatAreNotProblems(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/orgs/acme":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>\n<b>bad gateway</b>"+strings.Repeat("x", 1000)+"</html>")
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"allowed": tru`)
		}
	}))
	defer hs.Close()
	c, _ := New(hs.URL, WithToken("gth_secret_token"))
	_, err := c.GetOrg(context.Background(), "acme")
	var e *Error
	if !errors.As(err, &e) || e.Status != 502 || !errors.Is(err, ErrServer) || e.Kind() != "" {
		t.Fatalf("502 from a proxy: %#v", err)
	}
	if len(e.Detail) > 200 || !strings.Contains(e.Detail, "bad gateway") || strings.ContainsAny(e.Detail, "\n") {
		t.Errorf("detail should be a short one-line excerpt: %q", e.Detail)
	}
	d, err := c.Check(context.Background(), "acme", CheckRequest{Action: "chains:run"})
	if err == nil || d.Allowed {
		t.Errorf("a garbled answer must be an error and no allow: %+v %v", d, err)
	}
	if strings.Contains(fmt.Sprint(err), "gth_secret_token") {
		t.Errorf("the token leaked into an error: %v", err)
	}
}

func TestBatchTooLargeIsRefusedLocally(t *testing.T) {
	s := &script{answers: []answer{{status: 200, body: `{"results":[],"revision":1}`}}}
	hs := httptest.NewServer(s)
	defer hs.Close()
	c, _ := New(hs.URL)
	_, err := c.Checks(context.Background(), "acme", make([]CheckRequest, MaxBatch+1))
	if !errors.Is(err, ErrBatchTooLarge) || s.attempts != 0 {
		t.Errorf("want ErrBatchTooLarge without a request; got %v after %d requests", err, s.attempts)
	}
	// A server answering fewer results than checks is not believed.
	_, err = c.Checks(context.Background(), "acme", make([]CheckRequest, 2))
	if err == nil {
		t.Errorf("0 results for 2 checks must be an error")
	}
}

func TestNewRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://x", "http://", "::"} {
		if _, err := New(u); !errors.Is(err, ErrBadURL) {
			t.Errorf("New(%q): want ErrBadURL, got %v", u, err)
		}
	}
	c, err := New("http://127.0.0.1:8080/")
	if err != nil || c.BaseURL() != "http://127.0.0.1:8080" {
		t.Errorf("New with a trailing slash: %v %v", c, err)
	}
}

func TestPathSegmentsAreEscaped(t *testing.T) {
	var got []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.EscapedPath())
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	}))
	defer hs.Close()
	c, _ := New(hs.URL)
	ctx := context.Background()
	_, _ = c.GetBinding(ctx, "acme", "a/b?c")
	_, _ = c.Permissions(ctx, "acme", "user:alice", "prod")
	want := []string{"/v1/orgs/acme/bindings/a%2Fb%3Fc", "/v1/orgs/acme/principals/user:alice/permissions"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("escaped paths (-want +got):\n%s", diff)
	}
}
