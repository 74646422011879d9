package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/vault"
	"github.com/google/go-cmp/cmp"
)

// TestRunTokenExchangedOnceUnderRace: the runtime (or a thief of the
// token racing it) sends the same run token many times at once; exactly
// one exchange releases the secrets and every other is refused 403
// without a value, on every store (the single-use check is a conditional
// update in the exchange's transaction, not a read before a write).
func TestRunTokenExchangedOnceUnderRace(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newSecretWorld(t, backend)
			e := w.e
			o := "/v1/orgs/" + sworg
			e.must(201, "POST", prodKey, w.admin, map[string]any{"name": "OPENAI_API_KEY", "value": canary}, nil)
			chain := map[string]any{"namespace": "prod", "type": "chains", "id": "race",
				"spec": map[string]any{"steps": []string{"triage"}, "secrets": []string{"OPENAI_API_KEY"}}}
			e.must(201, "POST", o+"/resources", w.builder, chain, nil)
			var g vault.RunGrant
			e.must(201, "POST", o+"/namespaces/prod/resources/chains/race/runs", w.operator, nil, &g)
			body, _ := json.Marshal(map[string]any{"token": g.Token})
			const n = 16
			statuses := make([]int, n)
			leaks := make([]bool, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					req, _ := http.NewRequest("POST", e.URL+o+"/runs/exchange", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+w.runner)
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						return
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					statuses[i] = res.StatusCode
					leaks[i] = res.StatusCode != http.StatusOK && strings.Contains(string(b), canary)
				})
			}
			close(start)
			wg.Wait()
			got := map[int]int{}
			for i, s := range statuses {
				got[s]++
				if leaks[i] {
					t.Errorf("a refused exchange answered the value")
				}
			}
			if d := cmp.Diff(map[int]int{http.StatusOK: 1, http.StatusForbidden: n - 1}, got); d != "" {
				t.Errorf("statuses of %d concurrent exchanges (-want +got):\n%s", n, d)
			}
		})
	}
}
