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
	cks, err := loadClientKeys(cfg)
	if err != nil {
		return err
	}
	for _, ck := range cks {
		if ck.destroyed != "" {
			log.Warn("a master key of the client was destroyed: its recordings cannot be opened, and it takes none",
				zap.String("client", ck.client), zap.String("why", ck.destroyed))
			k.MarkDestroyed(ck.client)
			continue
		}
		if err := k.AddClient(ck.client, ck.active, ck.keys); err != nil {
			return err
		}
	}
	return nil
}

// clientKey is a client's own keys as its configuration names them.
type clientKey struct {
	client, active string
	keys           map[string][]byte
	destroyed      string // why, when a key file says the key was destroyed
}

// loadClientKeys reads the key files of every client with keys of its
// own.
func loadClientKeys(cfg *config.Config) ([]clientKey, error) {
	var out []clientKey
	for _, cl := range cfg.Clients {
		e := cl.Encryption
		if len(e.Keys) == 0 {
			continue
		}
		ck := clientKey{client: cl.ID, active: e.ActiveKey, keys: map[string][]byte{}}
		for _, mk := range e.Keys {
			key, err := crypt.LoadKeyFile(mk.File)
			switch {
			case errors.Is(err, crypt.ErrKeyDestroyed):
				ck.destroyed = err.Error()
			case err != nil:
				return nil, fmt.Errorf("client %s: encryption key %q: %w", cl.ID, mk.ID, err)
			default:
				ck.keys[mk.ID] = key
			}
		}
		out = append(out, ck)
	}
	return out, nil
}

// reloadClientKeys reads the clients' key files of a configuration being
// reloaded and checks them against k: a client new to the configuration,
// or a key added or made active, takes effect with the reload (its next
// recordings are wrapped with its own key, and a contract end can
// destroy it). It changes nothing; apply, called once the reload is
// accepted, does. A key file that cannot be read, a key id already
// another key's, or a key id whose file now holds another key refuse the
// reload. A client whose key file says its key was destroyed is left as
// it is; keys a client no longer names are kept until the next start.
func reloadClientKeys(k *crypt.Keyring, cfg *config.Config, log *zap.Logger) (apply func(), err error) {
	cks, err := loadClientKeys(cfg)
	if err != nil {
		return nil, err
	}
	var set []clientKey
	for _, ck := range cks {
		if ck.destroyed != "" {
			continue
		}
		if err := k.CheckClient(ck.client, ck.active, ck.keys); err != nil {
			return nil, err
		}
		set = append(set, ck)
	}
	return func() {
		for _, ck := range set {
			before, _ := k.ActiveFor(ck.client)
			if err := k.SetClient(ck.client, ck.active, ck.keys); err != nil {
				// Checked above, under the same reload lock.
				log.Error("a client's keys were not reloaded", zap.String("client", ck.client), zap.Error(err))
				continue
			}
			if before != ck.active {
				log.Info("the client's recordings are now wrapped with its own key", zap.String("client", ck.client),
					zap.String("key", ck.active), zap.String("was", before))
			}
		}
	}, nil
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
