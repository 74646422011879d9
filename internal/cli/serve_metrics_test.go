package cli

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var metricsRE = regexp.MustCompile(`serving the metrics on (http://[0-9.:]+/metrics)`)

// getStatus GETs url with an optional bearer token and returns the status
// and whether the body holds Gatehouse metrics.
func getStatus(t *testing.T, url, token string) (int, bool) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return res.StatusCode, strings.Contains(b.String(), "gatehouse_engine_revision ")
}

// TestServeMetrics: by default /metrics is served nowhere; with a token
// it is on the API listener behind it; with --metrics-addr it moves to
// its own listener (open, or behind the token) and leaves the API
// listener. An API key never opens it.
func TestServeMetrics(t *testing.T) {
	const tok = "a-metrics-token-of-some-length"
	tokFile := writeFile(t, "metrics-token", tok+"\n")
	type probe struct {
		where string // "api" or "metrics"
		token string
		want  int
	}
	tests := []struct {
		name   string
		env    string // $GATEHOUSE_METRICS_TOKEN
		args   []string
		probes []probe
	}{
		{"default: nowhere", "", nil, []probe{{"api", "", 404}, {"api", tok, 404}}},
		{"token from the environment: on the API listener", tok, nil,
			[]probe{{"api", "", 401}, {"api", "wrong-token-wrong-token", 401}, {"api", tok, 200}}},
		{"token file: on the API listener", "", []string{"--metrics-token-file", tokFile},
			[]probe{{"api", "", 401}, {"api", tok, 200}}},
		{"own listener, open", "", []string{"--metrics-addr", "127.0.0.1:0"},
			[]probe{{"metrics", "", 200}, {"api", "", 404}}},
		{"own listener, token", "", []string{"--metrics-addr", "127.0.0.1:0", "--metrics-token-file", tokFile},
			[]probe{{"metrics", "", 401}, {"metrics", tok, 200}, {"api", tok, 404}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(metricsTokenEnv, tt.env)
			data := filepath.Join(t.TempDir(), "d")
			base, out, _ := startServe(t, append([]string{"--dev", "--no-demo", "--data", data}, tt.args...)...)
			metricsURL := ""
			if m := metricsRE.FindStringSubmatch(out.String()); m != nil {
				metricsURL = m[1]
			}
			for _, p := range tt.probes {
				url := base + "/metrics"
				if p.where == "metrics" {
					if metricsURL == "" {
						t.Fatalf("no metrics listener announced:\n%s", out)
					}
					url = metricsURL
				}
				code, hasMetrics := getStatus(t, url, p.token)
				if code != p.want || hasMetrics != (p.want == 200) {
					t.Errorf("%s with token %q: %d (metrics in the body: %v), want %d", url, p.token, code, hasMetrics, p.want)
				}
			}
		})
	}
}

// TestServeMetricsTokenChecks: a short or empty token refuses the start.
func TestServeMetricsTokenChecks(t *testing.T) {
	t.Setenv(metricsTokenEnv, "short")
	if r := run(t, "", "serve", "--dev", "--data", t.TempDir(), "--addr", "127.0.0.1:0"); r.code != ExitBadInput || !strings.Contains(r.stderr, "at least 16") {
		t.Errorf("short token: %d %q", r.code, r.stderr)
	}
	t.Setenv(metricsTokenEnv, "")
	empty := writeFile(t, "empty", "\n")
	if r := run(t, "", "serve", "--dev", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--metrics-token-file", empty); r.code != ExitBadInput || !strings.Contains(r.stderr, "is empty") {
		t.Errorf("empty token file: %d %q", r.code, r.stderr)
	}
}
