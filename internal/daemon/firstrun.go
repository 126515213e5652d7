package daemon

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kiroku-voice/kiroku/access"
	"github.com/kiroku-voice/kiroku/internal/config"
)

// firstRun is the first-run admin token of api.first_run_token: made once
// in <data_dir>/first-run-token and accepted from then on, so that the
// embedded defaults can be signed in to before any token is configured.
type firstRun struct {
	path    string
	token   string // set only in the run that created the file
	hash    []byte
	created bool
}

// openFirstRun reads the token file, creating it (mode 0600, never
// overwriting) when it does not exist. A file that does not hold a token
// is an error naming it: kirokud does not replace what it cannot read.
func openFirstRun(dataDir string) (*firstRun, error) {
	path := filepath.Join(dataDir, config.FirstRunTokenFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return createFirstRun(path)
	case err != nil:
		return nil, fmt.Errorf("api.first_run_token: %w", err)
	}
	tok := string(bytes.TrimSpace(b))
	if !validToken(tok) {
		return nil, fmt.Errorf("api.first_run_token: %s does not hold a token (krk_ and 43 base64url characters); remove it to have a new one made", path)
	}
	sum := sha256.Sum256([]byte(tok))
	return &firstRun{path: path, hash: sum[:]}, nil
}

func createFirstRun(path string) (*firstRun, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("api.first_run_token: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("api.first_run_token: %w", err)
	}
	tok := "krk_" + base64.RawURLEncoding.EncodeToString(b)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("api.first_run_token: %w", err)
	}
	_, err = f.WriteString(tok + "\n")
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("api.first_run_token: %w", err)
	}
	sum := sha256.Sum256([]byte(tok))
	return &firstRun{path: path, token: tok, hash: sum[:], created: true}, nil
}

// validToken reports whether s has the form of the tokens kirokud and
// kirokuctl token new make.
func validToken(s string) bool {
	rest, ok := strings.CutPrefix(s, "krk_")
	if !ok || len(rest) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}

// with returns cfg with the first-run token among its API tokens, holding
// every role; cfg itself is not changed.
func (f *firstRun) with(cfg *config.Config) *config.Config {
	if f == nil {
		return cfg
	}
	c := *cfg
	c.API.Tokens = append(slices.Clone(cfg.API.Tokens), config.APIToken{
		Name: config.FirstRunTokenName, Roles: access.Roles(), Hash: f.hash})
	return &c
}

// FirstRunToken returns the first-run token's file and, in the run that
// created it only, the token itself, for kirokud to show once.
func (d *Daemon) FirstRunToken() (path, token string) {
	if d.firstRun == nil {
		return "", ""
	}
	return d.firstRun.path, d.firstRun.token
}
