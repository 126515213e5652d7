package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// keyring builds the master keyring from the configuration: the global
// keys, then each client's own (clientKeys).
func keyring(cfg *config.Config, log *zap.Logger) (*crypt.Keyring, error) {
	k, err := globalKeyring(cfg, log)
	if err != nil {
		return nil, err
	}
	if err := clientKeys(k, cfg, log); err != nil {
		return nil, err
	}
	return k, nil
}

// clientKeys adds each client's own master keys to k. A client whose key
// file says its key was destroyed (its contract ended) gets none: its
// recordings can no longer be opened, and a new one of it stays in the
// spool (crypt.ErrKeyDestroyed) until the client has a new key.
func clientKeys(k *crypt.Keyring, cfg *config.Config, log *zap.Logger) error {
	for _, cl := range cfg.Clients {
		e := cl.Encryption
		if len(e.Keys) == 0 {
			continue
		}
		keys := map[string][]byte{}
		destroyed := ""
		for _, mk := range e.Keys {
			key, err := crypt.LoadKeyFile(mk.File)
			switch {
			case errors.Is(err, crypt.ErrKeyDestroyed):
				destroyed = err.Error()
			case err != nil:
				return fmt.Errorf("client %s: encryption key %q: %w", cl.ID, mk.ID, err)
			default:
				keys[mk.ID] = key
			}
		}
		if destroyed != "" {
			log.Warn("a master key of the client was destroyed: its recordings cannot be opened, and it takes none",
				zap.String("client", cl.ID), zap.String("why", destroyed))
			k.MarkDestroyed(cl.ID)
			continue
		}
		if err := k.AddClient(cl.ID, e.ActiveKey, keys); err != nil {
			return err
		}
	}
	return nil
}

// globalKeyring builds the keyring of the global keys. With no keys
// configured, encryption stays on: a key is created once in
// <data_dir>/keys/master.key (mode 0600) and used from then on.
func globalKeyring(cfg *config.Config, log *zap.Logger) (*crypt.Keyring, error) {
	e := cfg.Encryption
	if len(e.Keys) == 0 {
		path := filepath.Join(cfg.DataDir, "keys", "master.key")
		key, err := crypt.LoadKeyFile(path)
		if errors.Is(err, os.ErrNotExist) {
			key, err = createKey(path)
			if err == nil {
				log.Warn("created a master key for recording encryption; back it up, recordings cannot be read without it",
					zap.String("path", path))
			}
		}
		if err != nil {
			return nil, err
		}
		return crypt.NewKeyring("master", map[string][]byte{"master": key})
	}
	keys := map[string][]byte{}
	for _, k := range e.Keys {
		var (
			key []byte
			err error
		)
		if k.File != "" {
			key, err = crypt.LoadKeyFile(k.File)
		} else {
			v, ok := os.LookupEnv(k.Env)
			if !ok {
				return nil, fmt.Errorf("encryption key %q: environment variable %s is not set", k.ID, k.Env)
			}
			key, err = crypt.ParseKey(v)
		}
		if err != nil {
			return nil, fmt.Errorf("encryption key %q: %w", k.ID, err)
		}
		keys[k.ID] = key
	}
	return crypt.NewKeyring(e.ActiveKey, keys)
}

func createKey(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	key := make([]byte, crypt.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return key, nil
}
