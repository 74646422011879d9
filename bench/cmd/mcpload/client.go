package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Errors of a call, by what went wrong.
var (
	errStatus   = errors.New("HTTP status not 200")
	errAnswer   = errors.New("malformed answer")
	errRPC      = errors.New("JSON-RPC error")
	errToolFail = errors.New("tool result with isError")
)

// protocolVersion is the MCP version the session asks for.
const protocolVersion = "2025-06-18"

// session is one MCP session over streamable HTTP: initialized once, then
// every tools/call carries its Mcp-Session-Id.
type session struct {
	url, token, id string
	hc             *http.Client
}

// loopbackURL accepts only http URLs on the loopback interface.
func loopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%q: want http://127.0.0.1:<port>/<path>", raw)
	}
	h := u.Hostname()
	if h == "localhost" {
		return nil
	}
	ip := net.ParseIP(h)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q: the load generator only targets the loopback interface", raw)
	}
	return nil
}

func newHTTPClient(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
}

// open initializes an MCP session at u.
func open(ctx context.Context, hc *http.Client, u, token string) (*session, error) {
	s := &session{url: u, token: token, hc: hc}
	body := `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"` + protocolVersion +
		`","capabilities":{},"clientInfo":{"name":"mcpload","version":"1"}}}`
	res, err := s.post(ctx, []byte(body))
	if err != nil {
		return nil, fmt.Errorf("initialize %s: %w", u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("initialize %s: %w", u, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("initialize %s: %w: %d %s", u, errStatus, res.StatusCode, strings.TrimSpace(string(b)))
	}
	if _, err := parseAnswer(res.Header.Get("Content-Type"), b, false); err != nil {
		return nil, fmt.Errorf("initialize %s: %w", u, err)
	}
	s.id = res.Header.Get("Mcp-Session-Id") // "" for a stateless server
	res2, err := s.post(ctx, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	if err != nil {
		return nil, fmt.Errorf("initialized %s: %w", u, err)
	}
	_, _ = io.Copy(io.Discard, res2.Body)
	res2.Body.Close()
	if res2.StatusCode >= 300 {
		return nil, fmt.Errorf("initialized %s: %w: %d", u, errStatus, res2.StatusCode)
	}
	return s, nil
}

func (s *session) post(ctx context.Context, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
		req.Header.Set("Mcp-Protocol-Version", protocolVersion)
	}
	return s.hc.Do(req)
}

// callTemplate is the tools/call request, the same bytes for both sides
// but for the request id: a session refuses two requests in flight with
// one id. The id is appended to the first part, the rest closes it.
type callTemplate struct{ head, tail []byte }

func newCallTemplate(tool string, args json.RawMessage) (callTemplate, error) {
	p := map[string]any{"name": tool}
	if len(args) > 0 {
		p["arguments"] = args
	}
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "tools/call", "params": p})
	if err != nil {
		return callTemplate{}, err
	}
	// {"jsonrpc":"2.0","method":...} → {"id":N,"jsonrpc":"2.0","method":...}
	return callTemplate{head: []byte(`{"id":`), tail: append([]byte(","), b[1:]...)}, nil
}

// body is the request with id n, written into dst.
func (t callTemplate) body(dst []byte, n int64) []byte {
	dst = append(dst[:0], t.head...)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, t.tail...)
}

// call sends one tools/call and checks its answer.
func (s *session) call(ctx context.Context, body []byte, buf *bytes.Buffer) error {
	res, err := s.post(ctx, body)
	if err != nil {
		return err
	}
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(res.Body, 4<<20))
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %d", errStatus, res.StatusCode)
	}
	_, err = parseAnswer(res.Header.Get("Content-Type"), buf.Bytes(), true)
	return err
}

// answer is what is checked of a JSON-RPC response.
type answer struct {
	Result *struct {
		IsError bool `json:"isError"`
	} `json:"result"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// parseAnswer reads a JSON-RPC response sent as application/json or as a
// text/event-stream whose first "message" event holds it, and checks it is
// a result (and, for a tool call, not a tool error).
func parseAnswer(contentType string, b []byte, toolCall bool) (answer, error) {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	switch mt {
	case "application/json":
	case "text/event-stream":
		data, err := firstEventData(b)
		if err != nil {
			return answer{}, err
		}
		b = data
	default:
		return answer{}, fmt.Errorf("%w: content type %q", errAnswer, contentType)
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		return answer{}, fmt.Errorf("%w: %v", errAnswer, err)
	}
	switch {
	case a.Error != nil:
		return a, fmt.Errorf("%w %d: %s", errRPC, a.Error.Code, a.Error.Message)
	case a.Result == nil:
		return a, fmt.Errorf("%w: neither result nor error", errAnswer)
	case toolCall && a.Result.IsError:
		return a, errToolFail
	}
	return a, nil
}

// firstEventData is the data of the first event of an event stream that
// has any (its "data:" lines joined by newlines, as the SSE spec says).
func firstEventData(b []byte) ([]byte, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var data []byte
	seen := false
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if seen {
				return data, nil
			}
			continue
		}
		v, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue // event:, id:, retry:, comments
		}
		v = bytes.TrimPrefix(v, []byte(" "))
		if seen {
			data = append(data, '\n')
		}
		data = append(data, v...)
		seen = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", errAnswer, err)
	}
	if !seen {
		return nil, fmt.Errorf("%w: an event stream without data", errAnswer)
	}
	return data, nil
}

// procCPU is the CPU time (user + system) a process has used so far, from
// /proc/PID/stat; 0 when it cannot be read.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := readFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: fields count from ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks
}
