package daemon

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
)

// TestCatalogContinuity: a catalog lost, emptied or rolled back under a
// store that holds recordings is refused at start, with the recovery
// named; an operator may start a new one anyway, and then the orphan
// sweep deletes nothing.
func TestCatalogContinuity(t *testing.T) {
	d, path := newDaemon(t)
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	call(t, d, time.Second)
	waitFor(t, "the recording stored", func() bool { return len(stored(t, d)) == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil { // writes the last checkpoint
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// The same catalog starts again.
	again, err := New(t.Context(), cfg, path, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("restart on the same catalog: %v", err)
	}
	if !again.continuous.Load() {
		t.Error("the same catalog is not taken as continuous")
	}
	closeBuilt(again)

	for _, tt := range []struct {
		name string
		lose func(t *testing.T)
		want string
	}{
		{"catalog deleted, checkpoint in the store", func(t *testing.T) {
			if err := os.Remove(cfg.Catalog.Path); err != nil {
				t.Fatal(err)
			}
		}, "signed audit checkpoint"},
		{"catalog deleted, no checkpoint", func(t *testing.T) {
			os.Remove(cfg.Catalog.Path)
			if err := os.RemoveAll(cfg.Storage.Dir + "/audit"); err != nil {
				t.Fatal(err)
			}
		}, "the catalog is empty and the store holds recordings"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.lose(t)
			_, err := New(t.Context(), cfg, path, zaptest.NewLogger(t))
			if !errors.Is(err, ErrCatalogBehind) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "-rebuild-catalog") {
				t.Fatalf("got %v, want ErrCatalogBehind saying %q and naming the recovery", err, tt.want)
			}
			n, err := New(t.Context(), cfg, path, zaptest.NewLogger(t), AcceptCatalog())
			if err != nil {
				t.Fatalf("with AcceptCatalog: %v", err)
			}
			defer closeBuilt(n)
			if n.continuous.Load() {
				t.Error("with AcceptCatalog over a lost catalog, the orphan sweep may delete")
			}
			// The sweep runs, with delete_orphans and the bound lifted,
			// and deletes nothing.
			job := &n.currentConfig().Retention
			job.DeleteOrphans, job.OrphanGrace, job.OrphanMaxPercent = true, config.Duration(time.Nanosecond), 100
			before := objects(t, n)
			if len(before) == 0 {
				t.Fatal("the store holds nothing to delete")
			}
			n.runPurge(t.Context(), time.Now())
			if after := objects(t, n); len(after) != len(before) {
				t.Errorf("an orphan sweep over an empty catalog: got %d objects, want the %d before it", len(after), len(before))
			}
		})
	}
}

// objects lists the store's recording objects (not the audit checkpoints).
func objects(t *testing.T, d *Daemon) []string {
	t.Helper()
	var keys []string
	err := d.store.List(t.Context(), "", func(o storage.Object) error {
		if !strings.HasPrefix(o.Key, recording.AuditPrefix) {
			keys = append(keys, o.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestCatalogDamaged: a catalog with 4 pages in its middle overwritten
// starts (the lines stay up) with kiroku_catalog_integrity_ok at 0 and an
// orphan sweep that deletes nothing.
func TestCatalogDamaged(t *testing.T) {
	d, path := newDaemon(t)
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	call(t, d, time.Second)
	waitFor(t, "the recording stored", func() bool { return len(stored(t, d)) == 1 })
	if !d.catalogOK.Load() || !d.mayDeleteOrphans() {
		t.Fatal("an intact catalog is taken as damaged")
	}
	// Rows enough that the damage lands on recordings, as in the field.
	for i := range 300 {
		r := &catalog.Recording{ID: fmt.Sprintf("filler-%03d", i), StartedAt: time.Now(), Caller: "0312345678", Line: "0120000001",
			Purpose: "cs-quality", Decision: "notified", RetainUntil: time.Now().Add(time.Hour), State: catalog.StateStored,
			StoredAt: time.Now(), WrappedKey: []byte{1}, KeyID: "k"}
		if err := catalog.PutRecording(t.Context(), d.catalog.DB(), r); err != nil {
			t.Fatal(err)
		}
	}
	d.catalog.DB().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	var pageSize, pages int64
	d.catalog.DB().QueryRow(`PRAGMA page_size`).Scan(&pageSize)
	d.catalog.DB().QueryRow(`PRAGMA page_count`).Scan(&pages)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(cfg.Catalog.Path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 4*pageSize)
	rand.Read(junk)
	if _, err := f.WriteAt(junk, pages/2*pageSize); err != nil {
		t.Fatal(err)
	}
	f.Close()

	n, err := New(t.Context(), cfg, path, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("start on a damaged catalog: %v", err)
	}
	defer n.closeStorage()
	if n.catalogOK.Load() || n.mayDeleteOrphans() {
		t.Errorf("4 pages overwritten: got integrity ok %v, orphans may be deleted %v; want both false", n.catalogOK.Load(), n.mayDeleteOrphans())
	}
	if got := gauge(t, n, "kiroku_catalog_integrity_ok"); got != 0 {
		t.Errorf("got kiroku_catalog_integrity_ok %v, want 0", got)
	}
}

// gauge scrapes d's metrics for the value of the unlabelled series name.
func gauge(t *testing.T, d *Daemon, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	d.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in the metrics", name)
	return 0
}
