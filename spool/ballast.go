package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// ballastName is the spool's ballast file: not a manifest, not hidden,
// so no listing and no clean-up at start takes it.
const ballastName = "ballast"

// ballast is room on the spool's disk held back for final manifests: a
// file of size bytes that WriteFinal and RetryStranded give up when the
// disk refuses a final manifest, and that RestoreBallast makes again
// once the disk has room. A final manifest kept only in memory is lost
// to a kill -9 (the call would be recovered as interrupted); one written
// into the ballast's room is not.
type ballast struct {
	mu   sync.Mutex
	size int64
	held bool
}

// KeepBallast sets the ballast's size (0: none) and makes it now when
// the disk has room for it (RestoreBallast). A ballast file left by an
// earlier run is taken over, or removed when the size is 0.
func (d *Dir) KeepBallast(size int64) error {
	b := &d.ballast
	b.mu.Lock()
	b.size = max(size, 0)
	b.held = false
	path := filepath.Join(d.path, ballastName)
	fi, err := os.Stat(path)
	switch {
	case err == nil && b.size == 0:
		err = os.Remove(path)
	case err == nil && fi.Size() >= b.size:
		b.held = true
		err = nil
	case errors.Is(err, os.ErrNotExist):
		err = nil
	}
	b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("spool ballast: %w", err)
	}
	return d.RestoreBallast()
}

// Ballast is the room the spool holds back for final manifests now, in
// bytes (0 while it is given up).
func (d *Dir) Ballast() int64 {
	b := &d.ballast
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.held {
		return 0
	}
	return b.size
}

// BallastSize is the ballast's size as KeepBallast set it, held or not.
func (d *Dir) BallastSize() int64 {
	b := &d.ballast
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.size
}

// RestoreBallast makes the ballast file again once it was given up and
// the disk has four times its size free: the ballast is for final
// manifests and never takes a disk's last room. It does nothing while
// the ballast is held.
func (d *Dir) RestoreBallast() error {
	b := &d.ballast
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.size == 0 || b.held {
		return nil
	}
	free, err := d.Free()
	if err != nil {
		return err
	}
	if free < 4*uint64(b.size) { //nolint:gosec // size is not negative
		return nil
	}
	path := filepath.Join(d.path, ballastName)
	if err := allocate(path, b.size); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("spool ballast: %w", err)
	}
	b.held = true
	return nil
}

// releaseBallast removes the ballast file and reports whether there was
// one to give up.
func (d *Dir) releaseBallast() bool {
	b := &d.ballast
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.held {
		return false
	}
	b.held = false
	err := os.Remove(filepath.Join(d.path, ballastName))
	return err == nil || errors.Is(err, os.ErrNotExist)
}

// allocate makes path a file of size bytes whose blocks are on the disk:
// fallocate, or zeros written where the file system has no fallocate.
func allocate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = syscall.Fallocate(int(f.Fd()), 0, 0, size) //nolint:gosec // a file descriptor fits an int
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		err = nil
		zeros := make([]byte, 64<<10)
		for left := size; left > 0 && err == nil; left -= int64(len(zeros)) {
			_, err = f.Write(zeros[:min(left, int64(len(zeros)))])
		}
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
