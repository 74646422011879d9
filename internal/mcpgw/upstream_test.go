package mcpgw

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	mcpspec "github.com/gatehouse-dev/gatehouse/internal/mcp"
)

// TestUpstreamConnectionsKept: after a burst of concurrent calls, the
// default upstream client keeps their connections, so that the next
// burst of the same size dials none (with the 64 idle per host it kept
// before, a burst of 200 dialed 136 again, and an overloaded gateway
// spent its CPU dialing).
func TestUpstreamConnectionsKept(t *testing.T) {
	const burst = 200
	var dials atomic.Int64
	var gate sync.WaitGroup // every request of a burst waits for all of them: burst connections in flight
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		gate.Done()
		gate.Wait()
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	hc := defaultUpstreamClient(mcpspec.UpstreamPolicy{Allow: mcpspec.LoopbackPrefixes})
	defer hc.CloseIdleConnections()
	wave := func() {
		t.Helper()
		gate.Add(burst)
		var wg sync.WaitGroup
		errs := make(chan error, burst)
		for range burst {
			wg.Go(func() {
				res, err := hc.Get(srv.URL)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	wave()
	first := dials.Load()
	wave()
	if again := dials.Load() - first; first != burst || again != 0 {
		t.Errorf("dials: %d for the first burst of %d (want %d), %d for the second (want 0: the first's connections kept)", first, burst, burst, again)
	}
}
