package spool

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"
)

// NotRecordedDiskFull is the manifest's not_recorded for a call whose
// audio was not written because the spool's disk had less free space
// than its reserve.
const NotRecordedDiskFull = "disk full"

// TruncatedDiskFull is a recording's truncated when its audio stopped
// during the call because the spool's disk filled up (at the reserve's
// half, or a write refused for want of space): what was written until
// then is kept and stored.
const TruncatedDiskFull = "disk full"

// ErrDiskFull says the spool's disk has no room for more audio.
var ErrDiskFull = errors.New("spool disk full")

// IsDiskFull reports whether err is a write refused for want of space:
// ErrDiskFull, or the system's ENOSPC (or EDQUOT, a quota reached).
func IsDiskFull(err error) bool {
	return errors.Is(err, ErrDiskFull) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// Free is the space left to an unprivileged writer on the spool's disk,
// in bytes.
func (d *Dir) Free() (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.path, &st); err != nil {
		return 0, fmt.Errorf("spool free space: %w", err)
	}
	return st.Bavail * uint64(st.Bsize), nil //nolint:gosec // a block size is positive
}

// freeAge is how old FreeRecent's figure may be.
const freeAge = 100 * time.Millisecond

// freeCache holds the last Free for FreeRecent.
type freeCache struct {
	mu   sync.Mutex
	at   time.Time
	free uint64
	err  error
}

// FreeRecent is Free as measured at most freeAge ago: every recorder
// asks before each write, and one statfs serves them all.
func (d *Dir) FreeRecent() (uint64, error) {
	c := &d.free
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.at) > freeAge {
		c.free, c.err = d.Free()
		c.at = now
	}
	return c.free, c.err
}
