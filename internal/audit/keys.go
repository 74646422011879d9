package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"hash"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
)

// KeyEnv is the environment variable a server reads its checkpoint signing
// key from when no key file is given.
const KeyEnv = "GATEHOUSE_AUDIT_KEY"

// Signer signs checkpoints with an Ed25519 key that is not in the database,
// and authenticates entries with the MAC key derived from it.
type Signer struct {
	priv ed25519.PrivateKey
	pub  PublicKey
	mac  MACKey
}

// MACKey authenticates entries and heads (HMAC-SHA-256): the key is
// derived from the signing key's seed with HKDF-SHA-256 (no salt, info
// "gatehouse.audit.mac.v1"), so every replica that signs checkpoints has
// it and the database does not. Its ID is the signing key's.
type MACKey struct {
	key [32]byte
	ID  string
	// macs keeps keyed HMAC states for reuse (nil: a new one per MAC).
	// hmac.New hashes the padded key on every call; a reset HMAC restores
	// its keyed state from a copy. Two MACs per audit entry were ~3% of a
	// bulk load's CPU (issue 19).
	macs *sync.Pool
}

// The MAC messages (docs/audit.md, "Entry and head MACs").
const (
	macInfo       = "gatehouse.audit.mac.v1"
	entryMACLabel = "gatehouse.audit.entry-mac.v1\x00"
	headMACLabel  = "gatehouse.audit.head-mac.v1\x00"
)

func deriveMACKey(priv ed25519.PrivateKey, id string) MACKey {
	k, err := hkdf.Key(sha256.New, priv.Seed(), nil, macInfo, 32)
	out := MACKey{ID: id}
	if err == nil { // cannot fail for 32 bytes of SHA-256
		copy(out.key[:], k)
	}
	key := out.key
	out.macs = &sync.Pool{New: func() any { return hmac.New(sha256.New, key[:]) }}
	return out
}

// mac returns HMAC-SHA-256(key, msg).
func (k MACKey) mac(msg ...[]byte) []byte {
	var m hash.Hash
	if k.macs != nil {
		m = k.macs.Get().(hash.Hash)
		m.Reset()
		defer k.macs.Put(m)
	} else {
		m = hmac.New(sha256.New, k.key[:])
	}
	for _, b := range msg {
		m.Write(b)
	}
	return m.Sum(nil)
}

// EntryMAC is the MAC of an entry: HMAC-SHA-256(key, label ‖ hash). The
// hash commits to the entry's org, sequence number, content and
// predecessor.
func (k MACKey) EntryMAC(h Hash) []byte {
	return k.mac([]byte(entryMACLabel), h[:])
}

// HeadMAC is the MAC of an org's recorded head: HMAC-SHA-256(key, label ‖
// string(org) ‖ seq ‖ hash), with another label than EntryMAC, so that no
// entry's MAC is a valid head.
func (k MACKey) HeadMAC(org string, seq uint64, h Hash) []byte {
	e := encoder{buf: make([]byte, 0, len(headMACLabel)+4+len(org)+8+len(h))}
	e.buf = append(e.buf, headMACLabel...)
	e.str(org)
	e.u64(seq)
	e.buf = append(e.buf, h[:]...)
	return k.mac(e.buf)
}

// MACKey returns the key that authenticates this signer's entries.
func (s *Signer) MACKey() MACKey { return s.mac }

// PublicKey verifies checkpoints. Its ID is the first 8 bytes of the
// SHA-256 of the raw 32-byte key, in hex; checkpoints name it.
type PublicKey struct {
	Key ed25519.PublicKey
	ID  string
}

func newPublicKey(k ed25519.PublicKey) PublicKey {
	sum := sha256.Sum256(k)
	return PublicKey{Key: k, ID: hex.EncodeToString(sum[:8])}
}

// NewSigner wraps an Ed25519 private key.
func NewSigner(priv ed25519.PrivateKey) (*Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: Ed25519 private key is %d bytes, want %d", ErrInvalid, len(priv), ed25519.PrivateKeySize)
	}
	pub, _ := priv.Public().(ed25519.PublicKey)
	pk := newPublicKey(pub)
	return &Signer{priv: priv, pub: pk, mac: deriveMACKey(priv, pk.ID)}, nil
}

// GenerateSigner makes a new random key (for --dev and `audit keygen`).
func GenerateSigner() (*Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return NewSigner(priv)
}

// Public returns the key that verifies this signer's checkpoints.
func (s *Signer) Public() PublicKey { return s.pub }

// SignCheckpoint signs (org, seq, head, at) and returns the checkpoint.
func (s *Signer) SignCheckpoint(org string, seq uint64, head Hash, at int64) Checkpoint {
	sig := ed25519.Sign(s.priv, CheckpointMessage(org, seq, head, at))
	return Checkpoint{Org: org, Seq: seq, Head: head, At: at, Time: time.UnixMicro(at).UTC(), KeyID: s.pub.ID, Signature: sig}
}

// MarshalPEM encodes the private key as a PKCS#8 "PRIVATE KEY" PEM block.
func (s *Signer) MarshalPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(s.priv)
	if err != nil { // cannot happen for a valid Ed25519 key
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// MarshalPEM encodes the public key as a PKIX "PUBLIC KEY" PEM block.
func (k PublicKey) MarshalPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(k.Key)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// ParseSigner reads a private key: a PKCS#8 PEM block, or the base64 of
// the 32-byte seed (what GATEHOUSE_AUDIT_KEY usually holds).
func ParseSigner(data []byte) (*Signer, error) {
	data = bytes.TrimSpace(data)
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("%w: PEM block %q is not a PRIVATE KEY", ErrInvalid, block.Type)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: audit key: %v", ErrInvalid, err)
		}
		priv, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: audit key is not Ed25519", ErrInvalid)
		}
		return NewSigner(priv)
	}
	seed, err := base64.StdEncoding.DecodeString(string(data))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: audit key is neither a PKCS#8 PEM block nor the base64 of a 32-byte Ed25519 seed", ErrInvalid)
	}
	return NewSigner(ed25519.NewKeyFromSeed(seed))
}

// LoadSigner reads the signing key from the file at path, or, if path is
// empty, from the environment variable KeyEnv. ErrNoKey if neither is set.
func LoadSigner(path string) (*Signer, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("audit key: %w", err)
		}
		return ParseSigner(b)
	}
	if v := os.Getenv(KeyEnv); v != "" {
		return ParseSigner([]byte(v))
	}
	return nil, fmt.Errorf("%w: give a key file or set %s", ErrNoKey, KeyEnv)
}

// WriteNewKey generates a key and writes it to path (mode 0600, atomically
// and durably, refusing to overwrite: fs.ErrExist), returning the signer; for `serve --dev` and `audit keygen`.
func WriteNewKey(path string) (*Signer, error) {
	s, err := GenerateSigner()
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Create(path, s.MarshalPEM(), 0o600); err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	return s, nil
}

// ParsePublicKeys reads verification keys: PEM blocks ("PUBLIC KEY", or
// "PRIVATE KEY" whose public half is used), or lines holding the base64 of
// a raw 32-byte public key. Several keys (after a rotation) may be given.
func ParsePublicKeys(data []byte) ([]PublicKey, error) {
	out, _, err := ParseVerifyKeys(data)
	return out, err
}

// ParseVerifyKeys is ParsePublicKeys also returning the MAC keys of the
// private keys among them: with a private key, verification also checks
// every entry's MAC.
func ParseVerifyKeys(data []byte) ([]PublicKey, []MACKey, error) {
	var (
		out  []PublicKey
		macs []MACKey
	)
	rest := bytes.TrimSpace(data)
	for len(rest) > 0 {
		block, r := pem.Decode(rest)
		if block == nil {
			break
		}
		rest = bytes.TrimSpace(r)
		switch block.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: public key: %v", ErrInvalid, err)
			}
			pub, ok := k.(ed25519.PublicKey)
			if !ok {
				return nil, nil, fmt.Errorf("%w: public key is not Ed25519", ErrInvalid)
			}
			out = append(out, newPublicKey(pub))
		case "PRIVATE KEY":
			s, err := ParseSigner(pem.EncodeToMemory(block))
			if err != nil {
				return nil, nil, err
			}
			out = append(out, s.Public())
			macs = append(macs, s.MACKey())
		default:
			return nil, nil, fmt.Errorf("%w: PEM block %q is not a key", ErrInvalid, block.Type)
		}
	}
	for _, line := range strings.Fields(string(rest)) {
		raw, err := base64.StdEncoding.DecodeString(line)
		switch {
		case err == nil && len(raw) == ed25519.PublicKeySize:
			out = append(out, newPublicKey(ed25519.PublicKey(raw)))
		default:
			return nil, nil, fmt.Errorf("%w: %q is not a PEM key or the base64 of a 32-byte Ed25519 public key", ErrInvalid, line)
		}
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%w: no key found", ErrInvalid)
	}
	return out, macs, nil
}
