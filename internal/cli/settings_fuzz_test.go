package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzServeSettings: any settings file is applied or refused as bad
// input (exit 2), never a panic or another error.
func FuzzServeSettings(f *testing.F) {
	for _, s := range []string{
		"addr: 127.0.0.1:8080\nlog-format: json\n",
		"trusted-proxy: [10.0.0.0/8, 192.168.1.1]\ndev: true\n",
		"log_level: debug\nshutdown-timeout: 5s\n",
		"adress: x\n",
		"addr: [1, 2]\n",
		"- a\n- b\n",
		"addr: {a: b}\n",
		"shutdown-timeout: forever\n",
		"",
		"\t:",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(dir, "s.yaml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := newServeCmd(&env{})
		err := applySettings(cmd.Flags(), p)
		if err != nil && exitCodeOf(err) != ExitBadInput {
			t.Fatalf("settings %q: %v (exit %d), want applied or bad input", text, err, exitCodeOf(err))
		}
	})
}

// FuzzCLIConfig: any contexts file is read or refused as bad input.
func FuzzCLIConfig(f *testing.F) {
	for _, s := range []string{
		`{"current_context":"demo","contexts":[{"name":"demo","server":"http://127.0.0.1:8080","org":"demo","token":"gth_x"}]}`,
		`{"contexts":null}`,
		`{"current_context":"missing","contexts":[]}`,
		`[]`,
		`{`,
		``,
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(dir, "config.json")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv(configEnv, p)
		t.Setenv(contextEnv, "")
		c, err := activeContext("")
		if err != nil && exitCodeOf(err) != ExitBadInput {
			t.Fatalf("config %q: %v", text, err)
		}
		if err == nil && c != nil && c.Name == "" && text != "" {
			// A context found has the name it was found by.
			cfg, _, _ := loadConfig()
			if cfg.Current != "" {
				t.Fatalf("config %q: current %q found a context without a name", text, cfg.Current)
			}
		}
	})
}
