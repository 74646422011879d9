package vault

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestParseKeyring(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1, 2}, 16), bytes.Repeat([]byte{3, 4}, 16)
	tests := []struct {
		name string
		text string
		want []uint32 // ids; nil means an error
	}{
		{"one bare key is key 1", b64(k1) + "\n", []uint32{1}},
		{"URL alphabet, unpadded", base64.RawURLEncoding.EncodeToString(k1), []uint32{1}},
		{"numbered lines with comments", "# keys\n1 " + b64(k1) + "\n\n2 " + b64(k2) + "\n", []uint32{1, 2}},
		{"comma-separated id:key (the env form)", "2:" + b64(k2) + ",1:" + b64(k1), []uint32{1, 2}},
		{"tab separator", "5\t" + b64(k1), []uint32{5}},
		{"empty", "", nil},
		{"only comments", "# nothing\n", nil},
		{"not base64", "1 not-a-key!!", nil},
		{"16 bytes", b64(k1[:16]), nil},
		{"33 bytes", b64(append(k1, 0)), nil},
		{"id 0", "0 " + b64(k1), nil},
		{"duplicate id", "1 " + b64(k1) + "\n1 " + b64(k2), nil},
		{"two bare keys", b64(k1) + "\n" + b64(k2), nil},
		{"id too large", "4294967296 " + b64(k1), nil},
	}
	for _, tc := range tests {
		keys, err := ParseKeyring(tc.text)
		if tc.want == nil {
			if !errors.Is(err, ErrBadMasterKey) {
				t.Errorf("%s: %v, want ErrBadMasterKey", tc.name, err)
			}
			if err != nil && (strings.Contains(err.Error(), b64(k1)) || strings.Contains(err.Error(), "not-a-key")) {
				t.Errorf("%s: the error quotes key material: %v", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var ids []uint32
		for _, id := range tc.want {
			if _, ok := keys[id]; !ok {
				t.Errorf("%s: key %d missing", tc.name, id)
			}
			ids = append(ids, id)
		}
		if len(keys) != len(tc.want) {
			t.Errorf("%s: %d keys, want %v", tc.name, len(keys), ids)
		}
	}
}

func TestNewKeyring(t *testing.T) {
	k, err := NewKeyring(map[uint32][]byte{3: bytes.Repeat([]byte{9, 1}, 16), 1: bytes.Repeat([]byte{8, 2}, 16)})
	if err != nil {
		t.Fatal(err)
	}
	if k.Active() != 3 || fmt.Sprint(k.IDs()) != "[1 3]" || !k.Has(1) || k.Has(2) {
		t.Errorf("keyring: active %d, ids %v", k.Active(), k.IDs())
	}
	for name, keys := range map[string]map[uint32][]byte{
		"empty":          {},
		"short key":      {1: make([]byte, 31)},
		"id 0":           {0: bytes.Repeat([]byte{1, 2}, 16)},
		"constant bytes": {1: make([]byte, 32)},
	} {
		if _, err := NewKeyring(keys); err == nil {
			t.Errorf("NewKeyring(%s) succeeded", name)
		}
	}
}

// A keyring never prints key material, with any verb.
func TestKeyringNeverPrintsKeys(t *testing.T) {
	k, keys := testKeyring(t, 1, 2)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, k)
		for _, key := range keys {
			for _, enc := range []string{b64(key), fmt.Sprintf("%x", key), string(key)} {
				if strings.Contains(out, enc) {
					t.Errorf("%s prints a key: %s", verb, out)
				}
			}
		}
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadKeyring(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{5, 6, 7, 8}, 8)
	file := filepath.Join(dir, "master.key")
	if err := os.WriteFile(file, []byte("1 "+b64(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open.key")
	if err := os.WriteFile(open, []byte(b64(key)), 0o644); err != nil {
		t.Fatal(err)
	}

	k, err := LoadKeyring(KeyringOptions{Getenv: env(map[string]string{EnvMasterKeyFile: file})})
	if err != nil || k.Active() != 1 || !strings.Contains(k.Source(), file) {
		t.Errorf("from the key file: %v, %v", k, err)
	}
	k, err = LoadKeyring(KeyringOptions{Getenv: env(map[string]string{EnvMasterKey: b64(key)})})
	if err != nil || k.Active() != 1 || k.Source() != EnvMasterKey {
		t.Errorf("from the environment: %v, %v", k, err)
	}
	var warn bytes.Buffer
	if _, err := LoadKeyring(KeyringOptions{Getenv: env(map[string]string{EnvMasterKeyFile: open}), Warn: &warn}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), "readable by other users") {
		t.Errorf("no warning for a world-readable key file: %q", warn.String())
	}

	for name, tc := range map[string]struct {
		env  map[string]string
		want error
	}{
		"nothing set":          {nil, ErrNoMasterKey},
		"both set":             {map[string]string{EnvMasterKeyFile: file, EnvMasterKey: b64(key)}, ErrBadMasterKey},
		"missing file":         {map[string]string{EnvMasterKeyFile: filepath.Join(dir, "nope")}, ErrNoMasterKey},
		"malformed inline key": {map[string]string{EnvMasterKey: "c2hvcnQ="}, ErrBadMasterKey},
	} {
		_, err := LoadKeyring(KeyringOptions{Getenv: env(tc.env)})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), b64(key)) {
			t.Errorf("%s: the error quotes the key", name)
		}
	}
	// The "nothing set" message says how to fix it.
	_, err = LoadKeyring(KeyringOptions{Getenv: env(nil)})
	for _, want := range []string{EnvMasterKeyFile, EnvMasterKey, "--dev"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the no-key error %q does not mention %s", err, want)
		}
	}
}

func TestLoadKeyringDev(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var warn bytes.Buffer
	k1, err := LoadKeyring(KeyringOptions{Getenv: env(nil), Dev: true, DataDir: dir, Warn: &warn})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), "WARNING") || !strings.Contains(warn.String(), "generated") || !strings.Contains(warn.String(), "production") {
		t.Errorf("the dev warning is not loud: %q", warn.String())
	}
	st, err := os.Stat(filepath.Join(dir, DevKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("dev key file: %v, %v (want mode 0600)", st, err)
	}
	// A second start reuses the key: what the first sealed, the second opens.
	s, err := k1.seal(row, []byte("sk-dev"))
	if err != nil {
		t.Fatal(err)
	}
	warn.Reset()
	k2, err := LoadKeyring(KeyringOptions{Getenv: env(nil), Dev: true, DataDir: dir, Warn: &warn})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k2.open(row, s); err != nil || string(got) != "sk-dev" {
		t.Errorf("the second dev start cannot open the first's seal: %v", err)
	}
	if !strings.Contains(warn.String(), "WARNING") {
		t.Errorf("no warning on reuse: %q", warn.String())
	}
	// An explicit key wins over --dev.
	key := bytes.Repeat([]byte{1, 9}, 16)
	k3, err := LoadKeyring(KeyringOptions{Getenv: env(map[string]string{EnvMasterKey: b64(key)}), Dev: true, DataDir: dir})
	if err != nil || k3.Source() != EnvMasterKey {
		t.Errorf("explicit key with --dev: %v, %v", k3, err)
	}
	if _, err := LoadKeyring(KeyringOptions{Getenv: env(nil), Dev: true}); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("--dev without a data directory: %v", err)
	}
}

func TestAddKeyToFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	key := bytes.Repeat([]byte{4, 2}, 16)
	if err := os.WriteFile(path, []byte(b64(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := AddKeyToFile(path)
	if err != nil || id != 2 {
		t.Fatalf("AddKeyToFile = %d, %v; want 2", id, err)
	}
	b, _ := os.ReadFile(path)
	keys, err := ParseKeyring(string(b))
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[1], key) || len(keys[2]) != 32 || bytes.Equal(keys[2], key) {
		t.Errorf("keyring after adding: %d keys, %v", len(keys), err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode after adding = %v", st.Mode().Perm())
	}
	if _, err := AddKeyToFile(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("AddKeyToFile of a missing file succeeded")
	}
}
