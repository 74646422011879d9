package main

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// TestInproc: `loadgen inproc` on a small `loadgen load` data directory
// asks every question of the mix through the server's handler and checks
// each answer against its label (an unexpected answer is an error), then
// measures both orders of questions.
func TestInproc(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a data directory")
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "mk")
	if err := os.WriteFile(key, []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GATEHOUSE_MASTER_KEY_FILE", key)
	data := filepath.Join(dir, "data")
	if err := cmdLoad([]string{"-data", data, "-orgs", "2", "-checks", "64", "-batches", "1", "-batch-size", "8"}); err != nil {
		t.Fatalf("load: %v", err)
	}
	// The bootstrap's audit entry carries a MAC under the data
	// directory's audit key (serve's checkpointer refuses to sign an
	// entry it cannot authenticate).
	signer, err := audit.LoadSigner(filepath.Join(data, "audit-key.pem"))
	if err != nil {
		t.Fatalf("audit key: %v", err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(context.Background(), st, "_system", audit.VerifyOptions{Keys: []audit.PublicKey{signer.Public()}, MACKeys: []audit.MACKey{signer.MACKey()}})
	st.Close()
	if err != nil || !rep.MACsChecked || rep.Entries == 0 {
		t.Fatalf("_system log: %+v, %v; want its entries' MACs checked", rep, err)
	}
	if err := cmdInproc([]string{"-data", data, "-n", "200", "-rounds", "1"}); err != nil {
		t.Fatalf("inproc: %v", err)
	}
	// A wrong label is reported, not measured.
	var mix []Mix
	if err := readJSONFile(filepath.Join(data, "checks.json"), &mix); err != nil {
		t.Fatal(err)
	}
	mix[0].Want = !mix[0].Want
	if err := writeJSONFile(filepath.Join(data, "checks.json"), mix); err != nil {
		t.Fatal(err)
	}
	if err := cmdInproc([]string{"-data", data, "-n", "200", "-rounds", "1"}); err == nil {
		t.Fatal("inproc with a wrong label: no error")
	}
}
