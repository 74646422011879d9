// Package client is the Go SDK of the Gatehouse HTTP API (docs/api.md,
// /v1/openapi.json) and net/http middleware that protects a host
// platform's routes with Gatehouse decisions.
//
// A Client is safe for concurrent use. Every method takes a context, sends
// the client's bearer token, and returns either the decoded answer or an
// error; an error from the server is a *Error carrying the RFC 9457
// problem document (errors.As), and the package's sentinels classify it
// (errors.Is(err, client.ErrNotFound), client.IsNotFound(err)).
//
// Invariants:
//
//   - Fail closed: a decision method never reports an allow it did not
//     decode from a 2xx answer; every error, timeout or malformed answer is
//     an error, and the middleware turns errors into 401 or 503, never
//     into a pass-through.
//   - Retries are bounded and only where they cannot repeat a write: a 503
//     is retried (exponential backoff with full jitter, honouring
//     Retry-After, at most RetryPolicy.MaxAttempts attempts and never past
//     the context's deadline) for reads, decisions and the idempotent
//     methods PUT and DELETE; a non-idempotent write (POST that creates,
//     PATCH) is retried only on a 503 whose problem type is
//     "not-caught-up", which the server answers before it starts the
//     write. Nothing else (network errors, 5xx other than 503, 429) is
//     retried.
//   - Consistency: every write returns the revision it committed; decision
//     methods accept AtLeast(rev) so that a decision is made at a revision
//     at least that fresh (the server waits, bounded, or answers 503).
//   - The token never appears in an error message.
//
// The package depends on the standard library and the engine package
// (authz, for its plain data types and the middleware's embedded mode);
// it does not import the server.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls one Gatehouse server. Create it with New.
type Client struct {
	base      *url.URL
	token     string
	hc        *http.Client
	retry     RetryPolicy
	userAgent string
	// forwardedFor is sent as X-Forwarded-For (ForwardingFor).
	forwardedFor string
	// sleep waits between attempts (replaced in tests).
	sleep func(ctx context.Context, d time.Duration) error
}

// RetryPolicy bounds retries of 503 answers. The zero value means the
// defaults (DefaultRetryPolicy); MaxAttempts 1 disables retries.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, the first included.
	MaxAttempts int
	// BaseDelay is the backoff before the second attempt; it doubles for
	// each further attempt, and each wait is drawn uniformly from
	// [0, backoff] (full jitter).
	BaseDelay time.Duration
	// MaxDelay caps each wait. A Retry-After longer than MaxDelay ends the
	// retries (the server asked for more patience than the policy has).
	MaxDelay time.Duration
}

// DefaultRetryPolicy is used when no WithRetry option is given: up to 4
// attempts, 100ms base, 2s cap.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second}

// Option configures a Client.
type Option func(*Client)

// WithToken sets the bearer credential: an API key (gth_…) or a session
// token.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient sets the HTTP client (transport, timeouts). The default
// is a client with a 30s timeout and keep-alive connections.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithRetry sets the retry policy.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// ErrBadURL is returned by New for a base URL that is not http(s)://host.
var ErrBadURL = errors.New("client: the server URL must be http:// or https:// with a host")

// New returns a client of the server at baseURL ("http://127.0.0.1:8080").
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w (got %q)", ErrBadURL, baseURL)
	}
	u.RawQuery, u.Fragment = "", ""
	c := &Client{
		base:      u,
		hc:        &http.Client{Timeout: 30 * time.Second},
		retry:     DefaultRetryPolicy,
		userAgent: "gatehouse-go-client",
		sleep:     sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	if c.retry.MaxAttempts <= 0 {
		c.retry.MaxAttempts = DefaultRetryPolicy.MaxAttempts
	}
	if c.retry.BaseDelay <= 0 {
		c.retry.BaseDelay = DefaultRetryPolicy.BaseDelay
	}
	if c.retry.MaxDelay <= 0 {
		c.retry.MaxDelay = DefaultRetryPolicy.MaxDelay
	}
	return c, nil
}

// WithToken returns a copy of the client that sends another credential
// (sharing the HTTP client and its connections).
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// ForwardingFor returns a copy of the client that tells the server, in
// X-Forwarded-For, that it relays a request of the end user at addr (the
// middleware's token mode does this). The server believes it only when
// this host is one of its trusted proxies (gatehouse serve
// --trusted-proxy); failed authentications are then rate-limited per end
// user rather than for the whole host. An empty addr sends nothing.
func (c *Client) ForwardingFor(addr string) *Client {
	cp := *c
	cp.forwardedFor = addr
	return &cp
}

// BaseURL is the server's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// idempotency says which 503 answers a request may be retried after.
type idempotency int

const (
	// safe: reads, decisions, PUT and DELETE — retried on any 503.
	safe idempotency = iota
	// write: a non-idempotent write — retried only on not-caught-up.
	write
)

// request is one API call.
type request struct {
	method string
	path   string // already escaped
	query  url.Values
	body   any // JSON-encoded when not nil
	idem   idempotency
	public bool // send no credential
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// do sends r and decodes a 2xx JSON answer into out (when not nil). Any
// other answer is a *Error.
func (c *Client) do(ctx context.Context, r request, out any) error {
	res, body, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return errorFrom(r, res, body)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("client: %s %s: decode the answer: %w", r.method, r.path, err)
	}
	return nil
}

// maxAnswer bounds how much of an answer is read (a lookup page of 10,000
// resources is well below it).
const maxAnswer = 64 << 20

// send performs r with retries and returns the final answer with its body
// read.
func (c *Client) send(ctx context.Context, r request) (*http.Response, []byte, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, nil, fmt.Errorf("client: %s %s: encode the request: %w", r.method, r.path, err)
		}
	}
	u := c.base.String() + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, r.method, u, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
		}
		if payload != nil {
			req.Body = io.NopCloser(bytes.NewReader(payload))
			req.ContentLength = int64(len(payload))
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json, application/problem+json")
		if c.userAgent != "" {
			req.Header.Set("User-Agent", c.userAgent)
		}
		if c.token != "" && !r.public {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		if c.forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", c.forwardedFor)
		}
		res, err := c.hc.Do(req)
		if err != nil {
			return nil, nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, scrub(err))
		}
		body, rerr := io.ReadAll(io.LimitReader(res.Body, maxAnswer+1))
		res.Body.Close()
		if rerr != nil {
			return nil, nil, fmt.Errorf("client: %s %s: read the answer: %w", r.method, r.path, rerr)
		}
		if len(body) > maxAnswer {
			return nil, nil, fmt.Errorf("client: %s %s: the answer is larger than %d bytes", r.method, r.path, maxAnswer)
		}
		if res.StatusCode != http.StatusServiceUnavailable || attempt >= c.retry.MaxAttempts || !c.retryable(r, body) {
			return res, body, nil
		}
		wait, ok := c.backoff(attempt, res.Header.Get("Retry-After"))
		if !ok {
			return res, body, nil
		}
		if dl, has := ctx.Deadline(); has && time.Until(dl) < wait {
			return res, body, nil // no time left to wait: the 503 stands
		}
		if err := c.sleep(ctx, wait); err != nil {
			return res, body, nil
		}
	}
}

// retryable says whether a 503 answer to r may be retried.
func (c *Client) retryable(r request, body []byte) bool {
	if r.idem == safe {
		return true
	}
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &p)
	return kindOf(p.Type) == KindNotCaughtUp
}

// backoff is the wait before attempt+1: full jitter over the exponential
// backoff, but at least Retry-After. ok is false when Retry-After asks for
// more than the policy's MaxDelay.
func (c *Client) backoff(attempt int, retryAfter string) (time.Duration, bool) {
	ceil := c.retry.BaseDelay << min(attempt-1, 30)
	if ceil <= 0 || ceil > c.retry.MaxDelay {
		ceil = c.retry.MaxDelay
	}
	wait := time.Duration(rand.Int64N(int64(ceil) + 1))
	if ra, ok := parseRetryAfter(retryAfter); ok {
		if ra > c.retry.MaxDelay {
			return 0, false
		}
		wait = max(wait, ra)
	}
	return wait, true
}

// parseRetryAfter reads a Retry-After header in seconds or as an HTTP date.
func parseRetryAfter(h string) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(0, time.Until(t)), true
	}
	return 0, false
}

// scrub removes the request URL's query from transport errors (it holds no
// secret, but keeps messages short); the token is never in a URL.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// CallOption tunes one decision call.
type CallOption func(*callOptions)

type callOptions struct {
	atLeast    uint64
	atTime     time.Time
	atRevision uint64
	// Approvals (Check only; approvals.go).
	arguments  json.RawMessage
	argErr     error
	approvalID string
}

// AsOf asks Check, Explain or a lookup about the past: the answer as it would have
// been at instant t (forensics: "could Bob read the prod secret last
// Tuesday?"), rebuilt by the server from its changelog.
func AsOf(t time.Time) CallOption { return func(o *callOptions) { o.atTime = t } }

// AsOfRevision is AsOf for a revision.
func AsOfRevision(rev uint64) CallOption { return func(o *callOptions) { o.atRevision = rev } }

// AtLeast asks for an answer made at a revision ≥ rev (a revision a write
// returned): the server waits (bounded) for its engine to reach it, or
// answers 503 not-caught-up (IsNotCaughtUp) — never an answer from older
// data.
func AtLeast(rev uint64) CallOption { return func(o *callOptions) { o.atLeast = max(o.atLeast, rev) } }

func applyCall(opts []CallOption) callOptions {
	var o callOptions
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

func (o callOptions) consistency() *Consistency {
	if o.atLeast == 0 {
		return nil
	}
	return &Consistency{AtLeast: o.atLeast}
}
