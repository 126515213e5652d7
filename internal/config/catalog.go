package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// Catalog configures the recordings index: a SQLite file (the default,
// for one node) or a PostgreSQL database (for several nodes sharing it).
// The PostgreSQL connection string may hold a password, so it never
// comes from this file: DSNEnv names the environment variable that holds
// it.
type Catalog struct {
	Driver string `yaml:"driver"`  // sqlite (default; "" too) or postgres
	Path   string `yaml:"path"`    // sqlite: the file; default <data_dir>/catalog.db
	DSNEnv string `yaml:"dsn_env"` // postgres: environment variable with the connection string
}

// Catalog drivers.
const (
	CatalogSQLite   = "sqlite"
	CatalogPostgres = "postgres"
)

// envName is what an environment variable name looks like.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// resolveCatalog fills the driver and the SQLite path, resolving a
// relative one with abs.
func (c *Config) resolveCatalog(abs func(string) string) {
	k := &c.Catalog
	if k.Driver == "" {
		k.Driver = CatalogSQLite
	}
	switch {
	case k.Driver != CatalogSQLite:
		k.Path = abs(k.Path)
	case k.Path == "":
		k.Path = filepath.Join(c.DataDir, "catalog.db")
	default:
		k.Path = abs(k.Path)
	}
}

// checkCatalog checks the catalog section's shape; the environment is
// CheckEnv's.
func (c *Config) checkCatalog(r *report) {
	k := c.Catalog
	switch k.Driver {
	case "", CatalogSQLite:
		if k.DSNEnv != "" {
			r.add("catalog.dsn_env", "set, but catalog.driver is sqlite: dsn_env is for postgres")
		}
	case CatalogPostgres:
		switch {
		case k.DSNEnv == "":
			r.add("catalog.dsn_env", "required with driver postgres: the name of the environment variable holding the connection string, such as KIROKU_CATALOG_DSN")
		case !envName.MatchString(k.DSNEnv):
			// The value may be the connection string itself, password
			// and all: never repeat it.
			r.add("catalog.dsn_env", "is not an environment variable name (letters, digits and _): give the variable's name, such as KIROKU_CATALOG_DSN, and put the connection string in it")
		}
		if k.Path != "" {
			r.add("catalog.path", "set, but catalog.driver is postgres: path is the SQLite file")
		}
	default:
		r.add("catalog.driver", "%q is not sqlite or postgres", k.Driver)
	}
}

// DSN returns the PostgreSQL connection string from the environment
// variable catalog.dsn_env names.
func (k Catalog) DSN() (string, error) {
	v, why := k.lookupDSN()
	if why != "" {
		return "", fmt.Errorf("catalog.dsn_env: %s", why)
	}
	return v, nil
}

// lookupDSN returns the connection string, or why there is none.
func (k Catalog) lookupDSN() (dsn, why string) {
	v, ok := os.LookupEnv(k.DSNEnv)
	switch {
	case !ok:
		return "", fmt.Sprintf("environment variable %s is not set (it holds the PostgreSQL connection string)", k.DSNEnv)
	case v == "":
		return "", fmt.Sprintf("environment variable %s is empty (it holds the PostgreSQL connection string)", k.DSNEnv)
	}
	return v, ""
}

// CheckEnv checks what the configuration takes from the environment when
// kirokud starts: the catalog's connection string and the encryption keys
// held in environment variables. Problems name the file, line and key,
// as Validate's do; the values themselves are never repeated.
// kirokud -check-config runs it after Load.
func (c *Config) CheckEnv() error {
	r := &report{file: c.Source, pos: c.pos, bad: map[string]bool{}}
	if c.Catalog.Driver == CatalogPostgres {
		if _, why := c.Catalog.lookupDSN(); why != "" {
			r.add("catalog.dsn_env", "%s", why)
		}
	}
	c.checkWebhookEnv(r)
	for i, k := range c.Encryption.Keys {
		if k.Env == "" {
			continue
		}
		if _, ok := os.LookupEnv(k.Env); !ok {
			r.add(child(index("encryption.keys", i), "env"), "environment variable %s is not set", k.Env)
		}
	}
	return r.err()
}
