package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// TestSecondDaemonRefused: a second daemon on the same data_dir is
// refused with an error naming the directory and the holder's pid, and
// touches nothing; once the first has stopped, a new one starts.
func TestSecondDaemonRefused(t *testing.T) {
	d, path := newDaemon(t)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(t.Context(), cfg, path, zaptest.NewLogger(t))
	if !errors.Is(err, ErrDataDirInUse) {
		t.Fatalf("second daemon: got %v, want ErrDataDirInUse", err)
	}
	if msg := err.Error(); !strings.Contains(msg, cfg.DataDir) || !strings.Contains(msg, "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("error %q does not name the data_dir and the holder's pid", msg)
	}
	if err := d.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	d2, err := New(t.Context(), cfg, path, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	t.Cleanup(func() { d2.Stop(context.Background()) })
	if fi, err := os.Stat(filepath.Join(cfg.DataDir, "kirokud.lock")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, %v; want mode 0600", fi, err)
	}
}

// closeBuilt undoes New for a daemon never started: its storage closed
// and its data_dir lock released, so the test can build another on it.
func closeBuilt(d *Daemon) {
	d.closeStorage()
	d.lock.release()
}
