package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
)

// TestCheckFailsWhereStartWould: each configuration the start refuses
// for what only the start looked at before — a purpose removed while
// recordings carry it, S3 without credentials, a malformed master key, a
// client's own key file missing or malformed —
// is refused by Check (kirokud -check-config) with the same error, and a
// good one passes both; Check creates no catalog and no key.
func TestCheckFailsWhereStartWould(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra string
		setup func(t *testing.T, dir string, cfg *config.Config)
		want  string // "" when both pass
	}{
		{"fresh folder", "", nil, ""},
		{"removed purpose still in use", "", func(t *testing.T, dir string, cfg *config.Config) {
			cat, err := catalog.Open(t.Context(), cfg.Catalog.Path)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			err = catalog.PutRecording(t.Context(), cat.DB(), &catalog.Recording{ID: "r1", StartedAt: now, Line: "0120000001",
				Purpose: "gone", Decision: "notified", RetainUntil: now.Add(time.Hour), State: catalog.StateStored, StoredAt: now})
			if err := errors.Join(err, cat.Close()); err != nil {
				t.Fatal(err)
			}
		}, `purpose "gone" was removed, but 1 recordings still carry it`},
		{"s3 without credentials", "storage: {backend: s3, s3: {endpoint: \"127.0.0.1:1\", bucket: kiroku}}\n", func(t *testing.T, dir string, cfg *config.Config) {
			t.Setenv("KIROKU_S3_ACCESS_KEY", "")
			t.Setenv("KIROKU_S3_SECRET_KEY", "")
		}, "s3 store: no credentials"},
		{"malformed master key", "", func(t *testing.T, dir string, cfg *config.Config) {
			p := filepath.Join(cfg.DataDir, "keys", "master.key")
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("not a key\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "master.key"},
		{"client key file missing", "clients:\n  - id: acme\n    name: ACME\n    encryption: {active_key: acme-1, keys: [{id: acme-1, file: keys/acme.key}]}\n", nil,
			`client acme: encryption key "acme-1"`},
		{"client key file malformed", "clients:\n  - id: acme\n    name: ACME\n    encryption: {active_key: acme-1, keys: [{id: acme-1, file: acme.key}]}\n",
			func(t *testing.T, dir string, cfg *config.Config) {
				if err := os.WriteFile(filepath.Join(dir, "acme.key"), []byte("short\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}, `client acme: encryption key "acme-1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeNotice(t, dir)
			path := writeConfig(t, dir, "90d", tc.extra)
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(t, dir, cfg)
			}
			keyPath := filepath.Join(cfg.DataDir, "keys", "master.key")
			catalogBefore, keyBefore := fileExists(cfg.Catalog.Path), fileExists(keyPath)
			checkErr := Check(t.Context(), cfg)
			if !catalogBefore && fileExists(cfg.Catalog.Path) {
				t.Error("Check created a catalog")
			}
			if !keyBefore && fileExists(keyPath) {
				t.Error("Check created a master key")
			}
			d, startErr := New(t.Context(), cfg, path, zaptest.NewLogger(t))
			if d != nil {
				closeBuilt(d)
			}
			if tc.want == "" {
				if checkErr != nil || startErr != nil {
					t.Errorf("got Check %v, New %v; want both to pass", checkErr, startErr)
				}
				return
			}
			if startErr == nil || !strings.Contains(startErr.Error(), tc.want) {
				t.Fatalf("New: got %v, want an error saying %q", startErr, tc.want)
			}
			if checkErr == nil || !strings.Contains(checkErr.Error(), tc.want) {
				t.Errorf("Check: got %v, want the start's error saying %q", checkErr, tc.want)
			}
		})
	}
}
