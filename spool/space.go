package spool

import (
	"fmt"
	"syscall"
)

// NotRecordedDiskFull is the manifest's not_recorded for a call whose
// audio was not written because the spool's disk had less free space
// than its reserve.
const NotRecordedDiskFull = "disk full"

// Free is the space left to an unprivileged writer on the spool's disk,
// in bytes.
func (d *Dir) Free() (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.path, &st); err != nil {
		return 0, fmt.Errorf("spool free space: %w", err)
	}
	return st.Bavail * uint64(st.Bsize), nil //nolint:gosec // a block size is positive
}
