//go:build !unix

package sdnotify

import "errors"

// monotonicUsec has no CLOCK_MONOTONIC to read outside Unix, where no
// systemd runs either.
func monotonicUsec() (uint64, error) {
	return 0, errors.New("no CLOCK_MONOTONIC on this system")
}
