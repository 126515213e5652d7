package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCatalogDefault(t *testing.T) {
	c, err := Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Catalog.Driver != CatalogSQLite || c.Catalog.Path != filepath.Join(c.DataDir, "catalog.db") || c.Catalog.DSNEnv != "" {
		t.Errorf("got %+v, want SQLite in <data_dir>/catalog.db", c.Catalog)
	}
	if err := c.CheckEnv(); err != nil {
		t.Errorf("CheckEnv: %v", err)
	}
}

// TestCatalogPostgres: the connection string comes from the environment
// variable the file names; CheckEnv (kirokud -check-config) says
// precisely when it is missing or empty.
func TestCatalogPostgres(t *testing.T) {
	c, err := Load("testdata/catalog/postgres.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Catalog != (Catalog{Driver: CatalogPostgres, DSNEnv: "KIROKU_TEST_CATALOG_DSN"}) {
		t.Errorf("got %+v", c.Catalog)
	}
	const where = "testdata/catalog/postgres.yaml:7: catalog.dsn_env: "
	t.Run("unset", func(t *testing.T) {
		want := where + "environment variable KIROKU_TEST_CATALOG_DSN is not set (it holds the PostgreSQL connection string)"
		if err := c.CheckEnv(); err == nil || err.Error() != want {
			t.Errorf("got %v\nwant %s", err, want)
		}
		if _, err := c.Catalog.DSN(); err == nil || !strings.Contains(err.Error(), "KIROKU_TEST_CATALOG_DSN is not set") {
			t.Errorf("DSN: got %v", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		t.Setenv("KIROKU_TEST_CATALOG_DSN", "")
		want := where + "environment variable KIROKU_TEST_CATALOG_DSN is empty (it holds the PostgreSQL connection string)"
		if err := c.CheckEnv(); err == nil || err.Error() != want {
			t.Errorf("got %v\nwant %s", err, want)
		}
	})
	t.Run("set", func(t *testing.T) {
		t.Setenv("KIROKU_TEST_CATALOG_DSN", "host=db.example user=kiroku password=x")
		if err := c.CheckEnv(); err != nil {
			t.Errorf("CheckEnv: %v", err)
		}
		if dsn, err := c.Catalog.DSN(); err != nil || dsn != "host=db.example user=kiroku password=x" {
			t.Errorf("DSN: got %q, %v", dsn, err)
		}
	})
}

// TestCatalogInvalid: each mistake is named with its line and key, and a
// connection string pasted where its variable's name belongs is never
// repeated.
func TestCatalogInvalid(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"unknown-driver.yaml", []string{`unknown-driver.yaml:4: catalog.driver: "mysql" is not sqlite or postgres`}},
		{"no-env.yaml", []string{
			`no-env.yaml:3: catalog.dsn_env: required with driver postgres: the name of the environment variable holding the connection string, such as KIROKU_CATALOG_DSN`,
			`no-env.yaml:5: catalog.path: set, but catalog.driver is postgres: path is the SQLite file`,
		}},
		{"dsn-in-file.yaml", []string{
			`dsn-in-file.yaml:5: catalog.dsn_env: is not an environment variable name (letters, digits and _): give the variable's name, such as KIROKU_CATALOG_DSN, and put the connection string in it`,
		}},
		{"sqlite-env.yaml", []string{`sqlite-env.yaml:4: catalog.dsn_env: set, but catalog.driver is sqlite: dsn_env is for postgres`}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", "catalog", tc.file))
			if err == nil {
				t.Fatal("got no error")
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error repeats the connection string: %v", err)
			}
			got := strings.Split(strings.ReplaceAll(err.Error(), "testdata/catalog/", ""), "\n")
			for i := range max(len(got), len(tc.want)) {
				var g, w string
				if i < len(got) {
					g = got[i]
				}
				if i < len(tc.want) {
					w = tc.want[i]
				}
				if g != w {
					t.Errorf("problem %d:\ngot  %s\nwant %s", i, g, w)
				}
			}
		})
	}
}

// TestCheckEnvKeys: an encryption key held in an unset environment
// variable is named by CheckEnv too.
func TestCheckEnvKeys(t *testing.T) {
	c, err := Parse([]byte(`sip:
  listen: ["udp://127.0.0.1:5060"]
encryption:
  active_key: k1
  keys:
    - {id: k1, env: KIROKU_TEST_UNSET_KEY}
purposes:
  - {name: cs, retention: 6m}
lines:
  - {number: "0120000000", purpose: cs, notice: prompts/notice.wav, downstream: "echo:"}
`), "keys.yaml", promptFS(t), ".")
	if err != nil {
		t.Fatal(err)
	}
	want := "keys.yaml:6: encryption.keys[0].env: environment variable KIROKU_TEST_UNSET_KEY is not set"
	if err := c.CheckEnv(); err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
