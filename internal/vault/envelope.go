package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
)

// Envelope encryption.
//
// A secret version's value is sealed with AES-256-GCM under a data key
// drawn fresh from crypto/rand for that version alone; the data key is
// itself sealed ("wrapped") with AES-256-GCM under a master key of the
// keyring. Both seals use random 96-bit nonces. Because every data key
// seals exactly one plaintext, a (key, nonce) pair can never repeat and the
// NIST limit of 2^32 random-nonce encryptions per key is never approached
// for data keys; a master key wraps one data key per secret version and is
// rotated (rotate-master) long before 2^32 wraps.
//
// The additional authenticated data of both seals binds them to the row
// they belong to — org, namespace, name and version, plus the master key
// id for the wrap — so a ciphertext or wrapped key copied to another row,
// version or org fails to open.
//
// Formats (all integers big-endian):
//
//	sealed value: 0x01 | nonce (12) | GCM(ciphertext ‖ tag)
//	wrapped key:  0x01 | master key id (4) | nonce (12) | GCM(data key (32) ‖ tag (16))
//	key check:    0x01 | nonce (12) | GCM(keyCheckPlain ‖ tag)

const (
	formatV1  = 0x01
	keyLen    = 32 // AES-256
	nonceLen  = 12 // GCM standard nonce
	tagLen    = 16
	wrapLen   = 1 + 4 + nonceLen + keyLen + tagLen
	minSealed = 1 + nonceLen + tagLen
	// MaxValueBytes is the largest secret value the vault seals.
	MaxValueBytes = 64 << 10
	// maxSealed bounds what open will look at.
	maxSealed = minSealed + MaxValueBytes
)

// keyCheckPlain is the known plaintext sealed under each master key so
// that a wrong key is found at start-up, before anything is written.
var keyCheckPlain = []byte("gatehouse vault master key check v1")

// Row names the secret version a ciphertext belongs to. It is the
// additional authenticated data of the seal: opening with any other Row
// fails.
type Row struct {
	Org, Namespace, Name string
	Version              uint64
}

// aad renders the additional data: a purpose label, then each field
// length-prefixed (so no two different rows render alike), then the
// version and, for wraps, the master key id.
func (r Row) aad(purpose string, keyID uint32) []byte {
	b := make([]byte, 0, 64+len(r.Org)+len(r.Namespace)+len(r.Name))
	b = append(b, "gatehouse-vault/v1/"...)
	b = append(b, purpose...)
	b = append(b, 0)
	for _, s := range []string{r.Org, r.Namespace, r.Name} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, r.Version)
	if purpose == "wrap" {
		b = binary.BigEndian.AppendUint32(b, keyID)
	}
	return b
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("%w: reading random bytes", ErrCrypto)
	}
	return b, nil
}

// Sealed is a sealed secret version: the wrapped data key, the id of the
// master key that wraps it, and the sealed value.
type Sealed struct {
	KeyID      uint32
	WrappedKey []byte
	Ciphertext []byte
}

// seal encrypts value for row under a fresh data key wrapped by the
// keyring's active master key.
func (k *Keyring) seal(row Row, value []byte) (Sealed, error) {
	if len(value) > MaxValueBytes {
		return Sealed{}, fmt.Errorf("%w: value is larger than %d bytes", ErrInvalid, MaxValueBytes)
	}
	dk, err := randomBytes(keyLen)
	if err != nil {
		return Sealed{}, err
	}
	defer clear(dk)
	aead, err := newGCM(dk)
	if err != nil {
		return Sealed{}, fmt.Errorf("%w: data key cipher", ErrCrypto)
	}
	nonce, err := randomBytes(nonceLen)
	if err != nil {
		return Sealed{}, err
	}
	ct := make([]byte, 0, 1+nonceLen+len(value)+tagLen)
	ct = append(ct, formatV1)
	ct = append(ct, nonce...)
	ct = aead.Seal(ct, nonce, value, row.aad("value", 0))
	wrapped, err := k.wrap(row, k.active, dk)
	if err != nil {
		return Sealed{}, err
	}
	return Sealed{KeyID: k.active, WrappedKey: wrapped, Ciphertext: ct}, nil
}

// wrap seals a data key under master key id.
func (k *Keyring) wrap(row Row, id uint32, dk []byte) ([]byte, error) {
	mk, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("%w: master key %d is not in the keyring", ErrKeyMissing, id)
	}
	nonce, err := randomBytes(nonceLen)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, wrapLen)
	out = append(out, formatV1)
	out = binary.BigEndian.AppendUint32(out, id)
	out = append(out, nonce...)
	return mk.Seal(out, nonce, dk, row.aad("wrap", id)), nil
}

// unwrap opens a wrapped data key of row. The key id inside the wrapped
// key must equal keyID (the column the store keeps it in).
func (k *Keyring) unwrap(row Row, keyID uint32, wrapped []byte) ([]byte, error) {
	if len(wrapped) != wrapLen || wrapped[0] != formatV1 {
		return nil, errCorrupt
	}
	id := binary.BigEndian.Uint32(wrapped[1:5])
	if id != keyID {
		return nil, errCorrupt
	}
	mk, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("%w: master key %d is not in the keyring", ErrKeyMissing, id)
	}
	nonce := wrapped[5 : 5+nonceLen]
	dk, err := mk.Open(nil, nonce, wrapped[5+nonceLen:], row.aad("wrap", id))
	if err != nil || len(dk) != keyLen {
		return nil, errCorrupt
	}
	return dk, nil
}

// open decrypts a sealed version of row.
func (k *Keyring) open(row Row, s Sealed) ([]byte, error) {
	ct := s.Ciphertext
	if len(ct) < minSealed || len(ct) > maxSealed || ct[0] != formatV1 {
		return nil, errCorrupt
	}
	dk, err := k.unwrap(row, s.KeyID, s.WrappedKey)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	aead, err := newGCM(dk)
	if err != nil {
		return nil, errCorrupt
	}
	nonce := ct[1 : 1+nonceLen]
	value, err := aead.Open(nil, nonce, ct[1+nonceLen:], row.aad("value", 0))
	if err != nil {
		return nil, errCorrupt
	}
	return value, nil
}

// rewrap re-seals a version's data key under master key newID; the sealed
// value is untouched.
func (k *Keyring) rewrap(row Row, s Sealed, newID uint32) (Sealed, error) {
	dk, err := k.unwrap(row, s.KeyID, s.WrappedKey)
	if err != nil {
		return Sealed{}, err
	}
	defer clear(dk)
	w, err := k.wrap(row, newID, dk)
	if err != nil {
		return Sealed{}, err
	}
	return Sealed{KeyID: newID, WrappedKey: w, Ciphertext: s.Ciphertext}, nil
}

// keyCheck seals the known plaintext under master key id.
func (k *Keyring) keyCheck(id uint32) ([]byte, error) {
	mk, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("%w: master key %d is not in the keyring", ErrKeyMissing, id)
	}
	nonce, err := randomBytes(nonceLen)
	if err != nil {
		return nil, err
	}
	out := append([]byte{formatV1}, nonce...)
	return mk.Seal(out, nonce, keyCheckPlain, keyCheckAAD(id)), nil
}

// verifyKeyCheck reports whether check was made by master key id of this
// keyring.
func (k *Keyring) verifyKeyCheck(id uint32, check []byte) bool {
	mk, ok := k.keys[id]
	if !ok || len(check) < minSealed || len(check) > 1024 || check[0] != formatV1 {
		return false
	}
	plain, err := mk.Open(nil, check[1:1+nonceLen], check[1+nonceLen:], keyCheckAAD(id))
	return err == nil && subtle.ConstantTimeCompare(plain, keyCheckPlain) == 1
}

func keyCheckAAD(id uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte("gatehouse-vault/v1/keycheck\x00"), id)
}
