package main

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		toolCall       bool
		err            error // nil: a good answer
	}{
		{name: "json result", ct: "application/json", body: `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`, toolCall: true},
		{name: "json with charset", ct: "application/json; charset=utf-8", body: `{"jsonrpc":"2.0","id":1,"result":{}}`, toolCall: true},
		{name: "tool error", ct: "application/json", body: `{"jsonrpc":"2.0","id":1,"result":{"isError":true}}`, toolCall: true, err: errToolFail},
		{name: "tool error is fine for initialize", ct: "application/json", body: `{"jsonrpc":"2.0","id":1,"result":{"isError":true}}`},
		{name: "rpc error", ct: "application/json", body: `{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}}`, err: errRPC},
		{name: "neither", ct: "application/json", body: `{"jsonrpc":"2.0","id":1}`, err: errAnswer},
		{name: "not json", ct: "application/json", body: `{`, err: errAnswer},
		{name: "sse", ct: "text/event-stream", body: "event: message\nid: 1_0\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n", toolCall: true},
		{name: "sse, crlf and no space", ct: "text/event-stream", body: "event: message\r\ndata:{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\r\n\r\n", toolCall: true},
		{name: "sse, data over two lines", ct: "text/event-stream", body: "data: {\"jsonrpc\":\"2.0\",\ndata: \"id\":1,\"result\":{}}\n\n", toolCall: true},
		{name: "sse, first event only", ct: "text/event-stream", body: "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\ndata: {\n\n", toolCall: true},
		{name: "sse without data", ct: "text/event-stream", body: ": keep-alive\n\n", err: errAnswer},
		{name: "other content type", ct: "text/html", body: `{"result":{}}`, err: errAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseAnswer(tc.ct, []byte(tc.body), tc.toolCall)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("parseAnswer: %v, want %v", err, tc.err)
			}
		})
	}
}

func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{"isError":false}}`,
		"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n",
		"data: a\ndata: b\n\n",
		`{"error":{"code":1,"message":"x"}}`,
		"",
	} {
		f.Add("application/json", []byte(s))
		f.Add("text/event-stream", []byte(s))
	}
	f.Fuzz(func(t *testing.T, ct string, b []byte) {
		a, err := parseAnswer(ct, b, true)
		if err == nil && (a.Result == nil || a.Error != nil || a.Result.IsError) {
			t.Errorf("accepted %q as %q: %+v", b, ct, a)
		}
	})
}

func TestLoopbackURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8090/mcp", true},
		{"http://localhost:8080/mcp/demo/prod/sample", true},
		{"http://[::1]:8080/mcp", true},
		{"http://10.0.0.1:8080/mcp", false},
		{"http://example.com/mcp", false},
		{"https://127.0.0.1/mcp", false},
		{"127.0.0.1:8080", false},
	} {
		if err := loopbackURL(tc.url); (err == nil) != tc.ok {
			t.Errorf("loopbackURL(%q) = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}

func TestCallTemplate(t *testing.T) {
	tmpl, err := newCallTemplate("search", json.RawMessage(`{"query":"invoice"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(tmpl.body(nil, 42), &got); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	want := map[string]any{"jsonrpc": "2.0", "id": 42.0, "method": "tools/call",
		"params": map[string]any{"name": "search", "arguments": map[string]any{"query": "invoice"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestParseFlags(t *testing.T) {
	base := []string{"-direct", "http://127.0.0.1:1/mcp", "-gateway", "http://127.0.0.1:2/mcp/o/n/s"}
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"serial", []string{"-rate", "0", "-serial", "10"}, true},
		{"rate too high", []string{"-rate", "50000"}, false},
		{"window too long", []string{"-window", "2m"}, false},
		{"too many rounds", []string{"-rounds", "21"}, false},
		{"args not an object", []string{"-args", `[1]`}, false},
		{"not loopback", []string{"-gateway", "http://192.0.2.1/mcp"}, false},
		{"with the proxy", []string{"-proxy", "http://127.0.0.1:3/mcp"}, true},
		{"proxy not loopback", []string{"-proxy", "http://192.0.2.1/mcp"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(append(append([]string{}, base...), tc.args...))
			if (err == nil) != tc.ok {
				t.Errorf("parseFlags: %v, want ok %v", err, tc.ok)
			}
		})
	}
	if _, err := parseFlags(nil); !errors.Is(err, errUsage) {
		t.Errorf("no flags: %v, want errUsage", err)
	}
}

func TestRoundOrder(t *testing.T) {
	d, p, g := &side{name: "direct"}, &side{name: "proxy"}, &side{name: "gateway"}
	names := func(ss []*side) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.name)
		}
		return out
	}
	var got [][]string
	for r := range 3 {
		got = append(got, names(roundOrder([]*side{d, p, g}, r)))
	}
	want := [][]string{{"direct", "proxy", "gateway"}, {"proxy", "gateway", "direct"}, {"gateway", "direct", "proxy"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("three sides (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gateway", "direct"}, names(roundOrder([]*side{d, g}, 1))); diff != "" {
		t.Errorf("two sides, round 2 (-want +got):\n%s", diff)
	}
}
