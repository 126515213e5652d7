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
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
	mu     sync.RWMutex // Forget and AddClient change the maps while they are read
	active string
	keys   map[string][]byte
	// clients maps a client to the key its recordings' data keys are
	// wrapped with (AddClient); owner maps each client key to its client.
	clients map[string]string
	owner   map[string]string
	// destroyed are the clients whose keys were destroyed (Forget): their
	// recordings get no key any more (WrapFor fails).
	destroyed map[string]bool
}

// NewKeyring returns a keyring whose active key is id.
func NewKeyring(active string, keys map[string][]byte) (*Keyring, error) {
	if _, ok := keys[active]; !ok {
		return nil, fmt.Errorf("master key %q: %w", active, ErrUnknownKey)
	}
	k := &Keyring{active: active, keys: map[string][]byte{}, clients: map[string]string{}, owner: map[string]string{}, destroyed: map[string]bool{}}
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

// ErrKeyDestroyed is returned by WrapFor for a client whose keys were
// destroyed (its contract ended).
var ErrKeyDestroyed = errors.New("the client's master keys were destroyed")

// AddClient gives client master keys of its own, active being the one
// new data keys of its recordings are wrapped with. Key ids are unique
// in the keyring.
func (k *Keyring) AddClient(client, active string, keys map[string][]byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := keys[active]; !ok {
		return fmt.Errorf("client %s: master key %q: %w", client, active, ErrUnknownKey)
	}
	for id, key := range keys {
		if len(key) != KeySize {
			return fmt.Errorf("client %s: master key %q is %d bytes, want %d", client, id, len(key), KeySize)
		}
		if _, dup := k.keys[id]; dup || id == "" || strings.ContainsAny(id, " \t\n") {
			return fmt.Errorf("client %s: master key id %q: want a word no other key has", client, id)
		}
	}
	for id, key := range keys {
		k.keys[id] = append([]byte(nil), key...)
		k.owner[id] = client
	}
	k.clients[client] = active
	delete(k.destroyed, client)
	return nil
}

// CheckClient reports whether SetClient(client, active, keys) would be
// accepted, changing nothing.
func (k *Keyring) CheckClient(client, active string, keys map[string][]byte) error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.checkClient(client, active, keys)
}

func (k *Keyring) checkClient(client, active string, keys map[string][]byte) error {
	if _, ok := keys[active]; !ok {
		return fmt.Errorf("client %s: master key %q: %w", client, active, ErrUnknownKey)
	}
	for id, key := range keys {
		if len(key) != KeySize {
			return fmt.Errorf("client %s: master key %q is %d bytes, want %d", client, id, len(key), KeySize)
		}
		if id == "" || strings.ContainsAny(id, " \t\n") {
			return fmt.Errorf("client %s: master key id %q: want a non-empty word", client, id)
		}
		have, ok := k.keys[id]
		switch {
		case !ok:
		case k.owner[id] != client:
			return fmt.Errorf("client %s: master key id %q: want a word no other key has", client, id)
		case !hmac.Equal(have, key):
			// A key id names one key for good: what it wrapped must open.
			return fmt.Errorf("client %s: master key %q: its file now holds another key; give a new key a new id", client, id)
		}
	}
	return nil
}

// SetClient is AddClient for a client that may have keys already (a
// configuration reloaded): the keys it does not have yet are added, the
// ones it has must be the same, and active becomes the one its new data
// keys are wrapped with. Keys the client has and keys does not name are
// kept: what they wrapped still opens until the next start.
func (k *Keyring) SetClient(client, active string, keys map[string][]byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.checkClient(client, active, keys); err != nil {
		return err
	}
	for id, key := range keys {
		if _, ok := k.keys[id]; !ok {
			k.keys[id] = append([]byte(nil), key...)
			k.owner[id] = client
		}
	}
	k.clients[client] = active
	delete(k.destroyed, client)
	return nil
}

// MarkDestroyed records that client's keys were destroyed before this
// keyring was made (its key files say so): WrapFor refuses the client.
func (k *Keyring) MarkDestroyed(client string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.destroyed[client] = true
}

// ActiveFor is the id of the key a recording of client gets: the
// client's own active key, else the keyring's active key. It fails for
// a client whose keys were destroyed.
func (k *Keyring) ActiveFor(client string) (string, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.destroyed[client] {
		return "", fmt.Errorf("client %s: %w", client, ErrKeyDestroyed)
	}
	if id, ok := k.clients[client]; ok {
		return id, nil
	}
	return k.active, nil
}

// ClientKeys are the ids of client's own keys, sorted.
func (k *Keyring) ClientKeys(client string) []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var ids []string
	for id, c := range k.owner {
		if c == client {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Forget drops client's keys from the keyring (their files having been
// destroyed): what they wrapped no longer opens, and WrapFor refuses the
// client.
func (k *Keyring) Forget(client string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, c := range k.owner {
		if c == client {
			clear(k.keys[id])
			delete(k.keys, id)
			delete(k.owner, id)
		}
	}
	delete(k.clients, client)
	k.destroyed[client] = true
}

// ForgetKey drops client key id from the keyring (its file destroyed,
// here or on another node): what it wrapped no longer opens. A client
// left with no key, or whose active key it was, is refused by WrapFor
// from then on. It reports whether the keyring had the key.
func (k *Keyring) ForgetKey(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	client, ok := k.owner[id]
	if !ok {
		return false
	}
	clear(k.keys[id])
	delete(k.keys, id)
	delete(k.owner, id)
	left := slices.ContainsFunc(slices.Collect(maps.Values(k.owner)), func(c string) bool { return c == client })
	if !left || k.clients[client] == id {
		delete(k.clients, client)
		k.destroyed[client] = true
	}
	return true
}

// Fingerprint identifies key id without revealing it (for certificates
// and audit entries): 16 hex digits of an HMAC under the key itself.
func (k *Keyring) Fingerprint(id string) (string, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	mk, ok := k.keys[id]
	if !ok {
		return "", fmt.Errorf("fingerprint of %q: %w", id, ErrUnknownKey)
	}
	return Fingerprint(mk), nil
}

// Fingerprint identifies key without revealing it.
func Fingerprint(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kiroku key fingerprint v1"))
	return hex.EncodeToString(m.Sum(nil)[:8])
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
	if strings.HasPrefix(string(b), destroyedMarker) {
		return nil, fmt.Errorf("master key file %s: %w (%s)", path, ErrKeyDestroyed, strings.TrimSpace(strings.TrimPrefix(string(b), destroyedMarker)))
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return k, nil
}

// destroyedMarker starts a key file whose key was destroyed.
const destroyedMarker = "# kiroku: this master key was destroyed:"

// DestroyKeyFile destroys the key in the file at path: its bytes are
// overwritten in place and synced, then the file is replaced by one
// saying when and why (note), so that LoadKeyFile answers
// ErrKeyDestroyed rather than a missing file. A file destroyed already
// is left as it is. The disk may keep old blocks of a file it moved
// (journals, copy-on-write, SSD wear levelling): keep key files on an
// encrypted volume, or in a key manager, where that matters.
func DestroyKeyFile(path, note string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("destroy master key file: %w", err)
	}
	if strings.HasPrefix(string(b), destroyedMarker) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("destroy master key file: %w", err)
	}
	_, err = f.WriteAt(make([]byte, len(b)), 0)
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("destroy master key file %s: %w", path, err)
	}
	tmp := path + ".destroyed"
	if err := os.WriteFile(tmp, []byte(destroyedMarker+" "+note+"\n"), 0o600); err != nil {
		return fmt.Errorf("destroy master key file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("destroy master key file: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		err = errors.Join(d.Sync(), d.Close())
		if err != nil {
			return fmt.Errorf("destroy master key file: sync %s: %w", filepath.Dir(path), err)
		}
	}
	return nil
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
	return k.wrapWith(k.active, dataKey, context)
}

// WrapFor is Wrap for a recording of client: with the client's own
// active key when it has keys (ActiveFor).
func (k *Keyring) WrapFor(client string, dataKey []byte, context string) (string, []byte, error) {
	id, err := k.ActiveFor(client)
	if err != nil {
		return "", nil, err
	}
	return k.wrapWith(id, dataKey, context)
}

func (k *Keyring) wrapWith(id string, dataKey []byte, context string) (string, []byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	mk, ok := k.keys[id]
	if !ok {
		return "", nil, fmt.Errorf("wrap with %q: %w", id, ErrUnknownKey)
	}
	aead, err := gcm(mk)
	if err != nil {
		return "", nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("wrap: %w", err)
	}
	return id, aead.Seal(nonce, nonce, dataKey, []byte(context)), nil
}

// Unwrap opens a wrapped data key with the master key named id.
func (k *Keyring) Unwrap(id string, wrapped []byte, context string) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
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
	k.mu.RLock()
	defer k.mu.RUnlock()
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
	k.mu.RLock()
	defer k.mu.RUnlock()
	m := hmac.New(sha256.New, k.keys[k.active])
	m.Write([]byte("kiroku sip digest nonce key v1"))
	return m.Sum(nil)
}

// AuditKey derives the key that signs audit checkpoints from the active
// master key.
func (k *Keyring) AuditKey() []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	m := hmac.New(sha256.New, k.keys[k.active])
	m.Write([]byte("kiroku audit checkpoint key v1"))
	return m.Sum(nil)
}
