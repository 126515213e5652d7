package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrDataDirInUse is returned by New when another kirokud holds the data
// directory: two daemons on one spool and catalog would upload, recover
// and purge the same recordings.
var ErrDataDirInUse = errors.New("data_dir in use by another kirokud")

// dirLock is an exclusive flock on data_dir/kirokud.lock, held for the
// daemon's life; the kernel drops it when the process ends, however it
// ends, so a kill -9 never leaves a stale lock. The file holds the
// holder's pid for the error a second daemon prints.
type dirLock struct{ f *os.File }

func lockDataDir(dir string) (*dirLock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	path := filepath.Join(dir, "kirokud.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data_dir lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := strings.TrimSpace(string(b))
			if _, perr := strconv.Atoi(holder); perr != nil {
				holder = "unknown"
			}
			return nil, fmt.Errorf("%w: %s is locked by pid %s (stop it, or give this one another data_dir)", ErrDataDirInUse, dir, holder)
		}
		return nil, fmt.Errorf("data_dir lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0) //nolint:errcheck // the pid is only for the message
	}
	return &dirLock{f: f}, nil
}

// release drops the lock; it is idempotent.
func (l *dirLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
