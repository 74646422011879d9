package vault

import (
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
)

// Environment variables naming the master key. Exactly one may be set.
const (
	EnvMasterKeyFile = "GATEHOUSE_MASTER_KEY_FILE"
	EnvMasterKey     = "GATEHOUSE_MASTER_KEY"
)

// DevKeyFile is the file --dev keeps its generated master key in, inside
// the data directory.
const DevKeyFile = "master.key"

// Keyring is a numbered set of AES-256 master keys. The highest-numbered
// key is active: it wraps the data keys of everything sealed from now on.
// The others still unwrap what they wrapped until rotate-master re-wraps
// it. A Keyring holds ciphers, not key bytes, and is safe for concurrent
// use; it never prints key material (String and GoString show ids only).
type Keyring struct {
	keys   map[uint32]cipher.AEAD
	ids    []uint32 // ascending
	active uint32
	source string // where the keys came from, for messages
}

// NewKeyring builds a keyring from numbered 32-byte keys (ids ≥ 1). The
// caller may clear keys afterwards.
func NewKeyring(keys map[uint32][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: the keyring is empty", ErrNoMasterKey)
	}
	k := &Keyring{keys: make(map[uint32]cipher.AEAD, len(keys)), source: "keyring"}
	for id, key := range keys {
		if id == 0 {
			return nil, fmt.Errorf("%w: key ids start at 1", ErrBadMasterKey)
		}
		if len(key) != keyLen {
			return nil, fmt.Errorf("%w: key %d is %d bytes, want %d", ErrBadMasterKey, id, len(key), keyLen)
		}
		if allSame(key) {
			return nil, fmt.Errorf("%w: key %d is a constant byte string, not a random key", ErrBadMasterKey, id)
		}
		aead, err := newGCM(key)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d", ErrBadMasterKey, id)
		}
		k.keys[id] = aead
		k.ids = append(k.ids, id)
	}
	slices.Sort(k.ids)
	k.active = k.ids[len(k.ids)-1]
	return k, nil
}

func allSame(b []byte) bool {
	for _, c := range b[1:] {
		if c != b[0] {
			return false
		}
	}
	return true
}

// Active is the id of the key that wraps new data keys.
func (k *Keyring) Active() uint32 { return k.active }

// IDs lists the key ids, ascending.
func (k *Keyring) IDs() []uint32 { return slices.Clone(k.ids) }

// Has reports whether the keyring holds key id.
func (k *Keyring) Has(id uint32) bool { _, ok := k.keys[id]; return ok }

// Source says where the keys came from ("GATEHOUSE_MASTER_KEY_FILE
// /etc/gatehouse/master.key", "GATEHOUSE_MASTER_KEY", ...).
func (k *Keyring) Source() string { return k.source }

// String shows the key ids and the source, never key material.
func (k *Keyring) String() string {
	ids := make([]string, len(k.ids))
	for i, id := range k.ids {
		ids[i] = strconv.FormatUint(uint64(id), 10)
	}
	return fmt.Sprintf("keyring{ids: [%s], active: %d, from %s}", strings.Join(ids, " "), k.active, k.source)
}

// GoString is String, so %#v cannot print ciphers either.
func (k *Keyring) GoString() string { return k.String() }

// ParseKeyring reads keyring text: either one base64 key (id 1), or lines
// "<id> <base64 key>" (or "<id>:<base64 key>"), separated by newlines or
// commas; blank lines and lines starting with '#' are ignored. Each key
// decodes (standard or URL alphabet, padded or not) to exactly 32 bytes.
// Errors name the line or key id, never the key.
func ParseKeyring(text string) (map[uint32][]byte, error) {
	keys := map[uint32][]byte{}
	fields := strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' })
	var entries []string
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" || strings.HasPrefix(f, "#") {
			continue
		}
		entries = append(entries, f)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: no key found", ErrBadMasterKey)
	}
	for i, e := range entries {
		idText, keyText, numbered := cutIDKey(e)
		id := uint64(1)
		if numbered {
			var err error
			id, err = strconv.ParseUint(idText, 10, 32)
			if err != nil || id == 0 {
				return nil, fmt.Errorf("%w: entry %d: key id must be a number from 1", ErrBadMasterKey, i+1)
			}
		} else if len(entries) > 1 {
			return nil, fmt.Errorf("%w: entry %d: with several keys, write each as \"<id> <base64 key>\"", ErrBadMasterKey, i+1)
		}
		key, err := decodeKey(keyText)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrBadMasterKey, id, err)
		}
		if _, dup := keys[uint32(id)]; dup {
			return nil, fmt.Errorf("%w: key id %d appears twice", ErrBadMasterKey, id)
		}
		keys[uint32(id)] = key
	}
	return keys, nil
}

func cutIDKey(e string) (id, key string, ok bool) {
	if i := strings.IndexAny(e, " \t:"); i > 0 {
		id, key = e[:i], strings.TrimLeft(e[i+1:], " \t:")
		if _, err := strconv.ParseUint(id, 10, 64); err == nil {
			return id, key, true
		}
	}
	return "", e, false
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != keyLen {
				return nil, fmt.Errorf("decodes to %d bytes, want %d (generate one with: head -c 32 /dev/urandom | base64)", len(b), keyLen)
			}
			return b, nil
		}
	}
	return nil, errors.New("is not base64 (generate one with: head -c 32 /dev/urandom | base64)")
}

// FormatKeyring renders keys as keyring text, ascending by id.
func FormatKeyring(keys map[uint32][]byte) string {
	ids := make([]uint32, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	b.WriteString("# Gatehouse master keyring: \"<id> <base64 key>\" per line; the highest id is active.\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "%d %s\n", id, base64.StdEncoding.EncodeToString(keys[id]))
	}
	return b.String()
}

// GenerateKey returns 32 random bytes.
func GenerateKey() ([]byte, error) { return randomBytes(keyLen) }

// KeyringOptions say where LoadKeyring looks.
type KeyringOptions struct {
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Dev, when no key is configured, generates one into DataDir/master.key
	// (or reuses the one there) and prints a loud warning to Warn.
	Dev     bool
	DataDir string
	// Warn receives warnings (dev keys, key files readable by others); nil
	// discards them.
	Warn io.Writer
}

// LoadKeyring reads the master keyring from GATEHOUSE_MASTER_KEY_FILE (a
// file of keyring text) or GATEHOUSE_MASTER_KEY (keyring text itself: one
// base64 key, or "<id>:<key>,<id>:<key>"); setting both is an error. With
// neither, Dev generates or reuses DataDir/master.key; otherwise it fails
// with ErrNoMasterKey. The key never comes from the database.
func LoadKeyring(opts KeyringOptions) (*Keyring, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	warn := opts.Warn
	if warn == nil {
		warn = io.Discard
	}
	file, inline := strings.TrimSpace(getenv(EnvMasterKeyFile)), getenv(EnvMasterKey)
	var (
		text   string
		source string
	)
	switch {
	case file != "" && strings.TrimSpace(inline) != "":
		return nil, fmt.Errorf("%w: both %s and %s are set; set one", ErrBadMasterKey, EnvMasterKeyFile, EnvMasterKey)
	case file != "":
		b, err := readKeyFile(file, warn)
		if err != nil {
			return nil, err
		}
		text, source = string(b), EnvMasterKeyFile+" "+file
	case strings.TrimSpace(inline) != "":
		text, source = inline, EnvMasterKey
	case opts.Dev:
		if opts.DataDir == "" {
			return nil, fmt.Errorf("%w: --dev needs a data directory for its generated key", ErrNoMasterKey)
		}
		path := filepath.Join(opts.DataDir, DevKeyFile)
		b, created, err := devKey(path)
		if err != nil {
			return nil, err
		}
		verb := "using"
		if created {
			verb = "generated"
		}
		fmt.Fprintf(warn, "\n"+
			"!!! WARNING: --dev: %s a development master key at %s.\n"+
			"!!! It sits next to the database: anyone who can read the data directory can decrypt every secret.\n"+
			"!!! Never use --dev in production; set %s or %s instead.\n\n",
			verb, path, EnvMasterKeyFile, EnvMasterKey)
		text, source = string(b), "--dev key "+path
	default:
		return nil, fmt.Errorf("%w: set %s (a file holding a base64 32-byte key) or %s (the base64 key), or run with --dev; generate a key with: head -c 32 /dev/urandom | base64",
			ErrNoMasterKey, EnvMasterKeyFile, EnvMasterKey)
	}
	keys, err := ParseKeyring(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	k, err := NewKeyring(keys)
	for _, key := range keys {
		clear(key)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	k.source = source
	return k, nil
}

// maxKeyFile bounds the key file read.
const maxKeyFile = 64 << 10

func readKeyFile(path string, warn io.Writer) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: cannot open the key file %s: %v", ErrNoMasterKey, EnvMasterKeyFile, path, errors.Unwrap(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(warn, "gatehouse: warning: the master key file %s is readable by other users (mode %v); chmod 600 it\n", path, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: cannot read the key file %s", ErrNoMasterKey, EnvMasterKeyFile, path)
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("%w: the key file %s is larger than %d bytes", ErrBadMasterKey, path, maxKeyFile)
	}
	return b, nil
}

// devKey reads path, or creates it (mode 0600, exclusively) with a new key.
func devKey(path string) ([]byte, bool, error) {
	if b, err := os.ReadFile(path); err == nil {
		return b, false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("%w: cannot read the dev key %s", ErrNoMasterKey, path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("%w: cannot create %s", ErrNoMasterKey, filepath.Dir(path))
	}
	key, err := GenerateKey()
	if err != nil {
		return nil, false, err
	}
	text := []byte(FormatKeyring(map[uint32][]byte{1: key}))
	clear(key)
	err = atomicfile.Create(path, text, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process won the race
		b, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, false, fmt.Errorf("%w: cannot read the dev key %s", ErrNoMasterKey, path)
		}
		return b, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: cannot write the dev key %s", ErrNoMasterKey, path)
	}
	return text, true, nil
}

// AddKeyToFile appends a new random key, numbered one above the highest
// in the file, to the keyring file at path (written atomically, mode
// 0600) and returns its id. rotate-master uses it.
func AddKeyToFile(path string) (uint32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("%w: cannot read the key file %s", ErrNoMasterKey, path)
	}
	keys, err := ParseKeyring(string(b))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	defer func() {
		for _, k := range keys {
			clear(k)
		}
	}()
	var top uint32
	for id := range keys {
		top = max(top, id)
	}
	if top == ^uint32(0) {
		return 0, fmt.Errorf("%w: key ids are exhausted", ErrBadMasterKey)
	}
	key, err := GenerateKey()
	if err != nil {
		return 0, err
	}
	keys[top+1] = key
	text := []byte(FormatKeyring(keys))
	defer clear(text)
	if err := writeFileAtomic(path, text); err != nil {
		return 0, err
	}
	return top + 1, nil
}

func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("%w: cannot replace %s", ErrUnavailable, path)
	}
	return nil
}
