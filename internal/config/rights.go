package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Rights configures data-subject request handling: the keys of the
// pseudonymised metadata export. A key is named so it can rotate: add a
// new one and make it active; the same caller then maps to another value.
type Rights struct {
	PseudonymKeys []PseudonymKey `yaml:"pseudonym_keys"`
	Active        string         `yaml:"active"` // id of the key exports use
}

// PseudonymKey names a keyed-hash key held in a file or an environment
// variable (at least 16 bytes; the value is used as given, trimmed).
type PseudonymKey struct {
	ID   string `yaml:"id"`
	File string `yaml:"file"` // relative to the config file
	Env  string `yaml:"env"`
}

// checkRights checks the pseudonym keys' shape; their values are read
// when an export needs them, so a missing one fails that export, not the
// daemon.
func (c *Config) checkRights(r *report) {
	seen := map[string]bool{}
	for i, k := range c.Rights.PseudonymKeys {
		key := fmt.Sprintf("rights.pseudonym_keys[%d]", i)
		switch {
		case k.ID == "" || strings.ContainsAny(k.ID, ": \t"):
			r.add(key+".id", "%q: give an id without spaces or ':'", k.ID)
		case seen[k.ID]:
			r.add(key+".id", "%q is listed twice", k.ID)
		}
		seen[k.ID] = true
		if (k.File == "") == (k.Env == "") {
			r.add(key, "give exactly one of file and env")
		}
	}
	switch {
	case c.Rights.Active == "" && len(c.Rights.PseudonymKeys) > 0:
		r.add("rights.active", "name the key exports use (one of the pseudonym_keys ids)")
	case c.Rights.Active != "" && !seen[c.Rights.Active]:
		r.add("rights.active", "%q is not one of the pseudonym_keys ids", c.Rights.Active)
	}
}

// PseudonymKey returns the active pseudonym key's id and value, read now
// from its file or environment variable.
func (c *Config) PseudonymKey() (string, []byte, error) {
	for _, k := range c.Rights.PseudonymKeys {
		if k.ID != c.Rights.Active {
			continue
		}
		var v string
		if k.Env != "" {
			e, ok := os.LookupEnv(k.Env)
			if !ok {
				return "", nil, fmt.Errorf("pseudonym key %q: environment variable %s is not set", k.ID, k.Env)
			}
			v = e
		} else {
			p := k.File
			if !filepath.IsAbs(p) && c.Source != "" && c.Source != "embedded defaults" {
				p = filepath.Join(filepath.Dir(c.Source), p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return "", nil, fmt.Errorf("pseudonym key %q: %w", k.ID, err)
			}
			v = string(b)
		}
		v = strings.TrimSpace(v)
		if len(v) < 16 {
			return "", nil, fmt.Errorf("pseudonym key %q: shorter than 16 bytes", k.ID)
		}
		return k.ID, []byte(v), nil
	}
	return "", nil, fmt.Errorf("no pseudonym key: set rights.pseudonym_keys and rights.active")
}
