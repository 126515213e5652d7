package config

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"
)

// Storage configures where recordings are kept.
type Storage struct {
	Backend string `yaml:"backend"` // fs (default) or s3
	Dir     string `yaml:"dir"`     // fs: the folder; default <data_dir>/store
	S3      S3     `yaml:"s3"`
	// AttemptTimeout bounds one upload attempt (the put of a recording,
	// its manifest and its indexing): an attempt a hung store holds is
	// counted as failed then and tried again. Long recordings over a
	// slow link need more. Default 2m, from 10s to 6h.
	AttemptTimeout Duration `yaml:"attempt_timeout"`
	// StallTimeout fails an upload attempt whose store operation moves
	// no bytes for this long (a hung store), however long the attempt
	// could still run. Default 30s, from 1s to 10m.
	StallTimeout Duration `yaml:"stall_timeout"`
}

// DefaultStallTimeout is storage.stall_timeout's default.
const DefaultStallTimeout = 30 * time.Second

// DefaultAttemptTimeout is storage.attempt_timeout's default.
const DefaultAttemptTimeout = 2 * time.Minute

// S3 configures an S3-compatible store. Credentials never come from this
// file: they are read from the environment (KIROKU_S3_ACCESS_KEY,
// KIROKU_S3_SECRET_KEY) or from CredentialsFile.
type S3 struct {
	Endpoint        string `yaml:"endpoint"` // host:port
	Bucket          string `yaml:"bucket"`
	Region          string `yaml:"region"`
	TLS             bool   `yaml:"tls"`
	CAFile          string `yaml:"ca_file"`
	CredentialsFile string `yaml:"credentials_file"` // "ACCESS_KEY:SECRET_KEY" on one line
	ObjectLock      string `yaml:"object_lock"`      // "", GOVERNANCE or COMPLIANCE
}

// Encryption configures the master keys that wrap each recording's data
// key. With no keys, kirokud keeps one in <data_dir>/keys/master.key,
// created at first start.
type Encryption struct {
	ActiveKey string      `yaml:"active_key"`
	Keys      []MasterKey `yaml:"keys"`
}

// MasterKey names a 32-byte key held in a file or an environment variable
// (64 hex digits or base64). Old keys stay listed after a rotation so that
// the recordings they wrapped still open.
type MasterKey struct {
	ID   string `yaml:"id"`
	File string `yaml:"file"`
	Env  string `yaml:"env"`
}

// resolveStorage fills storage defaults that depend on data_dir and
// resolves relative paths against dir.
func (c *Config) resolveStorage(dir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	if c.Storage.Backend == "" {
		c.Storage.Backend = "fs"
	}
	if c.Storage.Dir == "" {
		c.Storage.Dir = filepath.Join(c.DataDir, "store")
	} else {
		c.Storage.Dir = abs(c.Storage.Dir)
	}
	c.Storage.S3.CAFile = abs(c.Storage.S3.CAFile)
	c.Storage.S3.CredentialsFile = abs(c.Storage.S3.CredentialsFile)
	c.resolveCatalog(abs)
	for i := range c.Encryption.Keys {
		c.Encryption.Keys[i].File = abs(c.Encryption.Keys[i].File)
	}
	for i := range c.Clients {
		for j := range c.Clients[i].Encryption.Keys {
			c.Clients[i].Encryption.Keys[j].File = abs(c.Clients[i].Encryption.Keys[j].File)
		}
	}
}

func (c *Config) checkStorage(r *report) {
	s := &c.Storage
	switch t := time.Duration(s.AttemptTimeout); {
	case t == 0:
		s.AttemptTimeout = Duration(DefaultAttemptTimeout)
	case t < 10*time.Second || t > 6*time.Hour:
		r.add("storage.attempt_timeout", "%s is not from 10s to 6h", t)
	}
	switch t := time.Duration(s.StallTimeout); {
	case t == 0:
		s.StallTimeout = Duration(DefaultStallTimeout)
	case t < time.Second || t > 10*time.Minute:
		r.add("storage.stall_timeout", "%s is not from 1s to 10m", t)
	}
	switch s.Backend {
	case "", "fs":
	case "s3":
		if s.S3.Endpoint == "" {
			r.add("storage.s3.endpoint", "required with backend s3, such as \"minio.example:9000\"")
		} else if _, _, err := net.SplitHostPort(s.S3.Endpoint); err != nil {
			r.add("storage.s3.endpoint", "%q is not host:port", s.S3.Endpoint)
		}
		if s.S3.Bucket == "" {
			r.add("storage.s3.bucket", "required with backend s3")
		}
		if s.S3.CAFile != "" && !s.S3.TLS {
			r.add("storage.s3.ca_file", "set, but storage.s3.tls is false")
		}
		switch s.S3.ObjectLock {
		case "", "GOVERNANCE", "COMPLIANCE":
		default:
			r.add("storage.s3.object_lock", "%q is not GOVERNANCE or COMPLIANCE", s.S3.ObjectLock)
		}
	default:
		r.add("storage.backend", "%q is not fs or s3", s.Backend)
	}
	e := &c.Encryption
	ids := map[string]bool{}
	for i, k := range e.Keys {
		key := index("encryption.keys", i)
		switch {
		case k.ID == "" || strings.ContainsAny(k.ID, " \t/"):
			r.add(child(key, "id"), "required: a word naming the key, such as \"2026-11\"")
		case ids[k.ID]:
			r.add(child(key, "id"), "%q is listed twice", k.ID)
		}
		ids[k.ID] = true
		if (k.File == "") == (k.Env == "") {
			r.add(key, "give exactly one of file and env")
		}
	}
	switch {
	case len(e.Keys) > 0 && e.ActiveKey == "":
		r.add("encryption.active_key", "required when keys are listed")
	case e.ActiveKey != "" && !ids[e.ActiveKey]:
		r.add("encryption.active_key", "%q is not one of encryption.keys", e.ActiveKey)
	}
	c.checkWebhook(r)
}

var _ = fmt.Sprint
