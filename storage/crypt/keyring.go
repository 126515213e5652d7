package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the size of master and data keys.
const KeySize = 32

// Errors for decisions.
var (
	ErrUnknownKey = errors.New("unknown master key id")
	// ErrWrongKey is returned when a wrapped key does not open with the
	// master key its id names: the key file holds a different key.
	ErrWrongKey = errors.New("wrapped data key does not open with this master key")
)

// Keyring holds master keys by id; Active names the one new data keys are
// wrapped with. Keys never appear in String, errors or logs.
type Keyring struct {
	active string
	keys   map[string][]byte
}

// NewKeyring returns a keyring whose active key is id.
func NewKeyring(active string, keys map[string][]byte) (*Keyring, error) {
	if _, ok := keys[active]; !ok {
		return nil, fmt.Errorf("master key %q: %w", active, ErrUnknownKey)
	}
	k := &Keyring{active: active, keys: map[string][]byte{}}
	for id, key := range keys {
		if len(key) != KeySize {
			return nil, fmt.Errorf("master key %q is %d bytes, want %d", id, len(key), KeySize)
		}
		if id == "" || strings.ContainsAny(id, " \t\n") {
			return nil, fmt.Errorf("master key id %q: want a non-empty word", id)
		}
		k.keys[id] = append([]byte(nil), key...)
	}
	return k, nil
}

// ParseKey reads a 32-byte key written as 64 hex digits or base64 (a key
// file's content, surrounding white space ignored).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	return nil, fmt.Errorf("a master key is %d bytes written as 64 hex digits or base64", KeySize)
}

// LoadKeyFile reads a key from path.
func LoadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return k, nil
}

// Active is the id of the key new data keys are wrapped with.
func (k *Keyring) Active() string { return k.active }

// String never shows key material.
func (k *Keyring) String() string {
	return fmt.Sprintf("keyring(active=%s, %d keys)", k.active, len(k.keys))
}

// NewDataKey returns a fresh random data key.
func NewDataKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return key, nil
}

// Wrap seals a data key with the active master key, bound to context (the
// recording id), and returns the key id and the wrapped key.
func (k *Keyring) Wrap(dataKey []byte, context string) (string, []byte, error) {
	aead, err := gcm(k.keys[k.active])
	if err != nil {
		return "", nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("wrap: %w", err)
	}
	return k.active, aead.Seal(nonce, nonce, dataKey, []byte(context)), nil
}

// Unwrap opens a wrapped data key with the master key named id.
func (k *Keyring) Unwrap(id string, wrapped []byte, context string) ([]byte, error) {
	mk, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("unwrap with %q: %w", id, ErrUnknownKey)
	}
	aead, err := gcm(mk)
	if err != nil {
		return nil, err
	}
	if len(wrapped) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("unwrap with %q: %w", id, ErrWrongKey)
	}
	key, err := aead.Open(nil, wrapped[:aead.NonceSize()], wrapped[aead.NonceSize():], []byte(context))
	if err != nil {
		return nil, fmt.Errorf("unwrap with %q: %w", id, ErrWrongKey)
	}
	return key, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cipher: %w", err)
	}
	return cipher.NewGCM(block)
}

// ManifestKey derives the key that seals the manifests stored beside the
// recordings from master key id. Manifests are metadata needed to rebuild
// the catalog, so they are sealed with a key derived from the master key
// rather than with a recording's own data key.
func (k *Keyring) ManifestKey(id string) ([]byte, error) {
	mk, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("manifest key of %q: %w", id, ErrUnknownKey)
	}
	m := hmac.New(sha256.New, mk)
	m.Write([]byte("kiroku manifest key v1"))
	return m.Sum(nil), nil
}

// NonceKey derives the key that signs SIP digest nonces from the active
// master key, so that every node sharing the master key takes the
// nonces of the others (behind a load balancer, the authenticated retry
// of an INVITE may reach another node than the challenge came from).
func (k *Keyring) NonceKey() []byte {
	m := hmac.New(sha256.New, k.keys[k.active])
	m.Write([]byte("kiroku sip digest nonce key v1"))
	return m.Sum(nil)
}

// AuditKey derives the key that signs audit checkpoints from the active
// master key.
func (k *Keyring) AuditKey() []byte {
	m := hmac.New(sha256.New, k.keys[k.active])
	m.Write([]byte("kiroku audit checkpoint key v1"))
	return m.Sum(nil)
}
