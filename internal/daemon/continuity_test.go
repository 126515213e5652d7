package daemon

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/kiroku-voice/kiroku/internal/config"
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
		})
	}
}
