package spool

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// stranded holds the final manifests the disk refused, by call id, until
// RetryStranded writes them.
type stranded struct {
	mu sync.Mutex
	m  map[string]*Manifest
}

// WriteFinal writes a call's final manifest (done or spooled) as
// WriteManifest does. When the disk refuses it (full), the ballast
// (KeepBallast) is given up and the write tried once more; when that is
// refused too (no ballast, or the room taken meanwhile), the manifest is
// kept in memory as it stands, and RetryStranded writes it once there is
// room: until then the spool still holds the call's earlier manifest
// and its audio, which the uploader does not take, and a restart would
// recover the call as interrupted. The error is returned either way, for
// the caller to log.
func (d *Dir) WriteFinal(m *Manifest) error {
	err := d.WriteManifest(m)
	if IsDiskFull(err) && d.releaseBallast() {
		// The room held back for this (KeepBallast).
		err = d.WriteManifest(m)
	}
	s := &d.stranded
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.m, m.ID)
		return nil
	}
	if s.m == nil {
		s.m = make(map[string]*Manifest)
	}
	kept := *m
	s.m[m.ID] = &kept
	return err
}

// RetryStranded writes the final manifests WriteFinal kept, oldest call
// first (giving up the ballast, KeepBallast, when the disk refuses one),
// and says how many it wrote and how many are still waiting,
// with the first error. A call whose earlier manifest is gone from the
// spool meanwhile is written all the same: its final manifest is the
// evidence of the call.
func (d *Dir) RetryStranded() (written, left int, err error) {
	s := &d.stranded
	s.mu.Lock()
	ids := make([]string, 0, len(s.m))
	for id := range s.m {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	slices.Sort(ids) // UUIDv7: oldest first
	var errs []error
	for _, id := range ids {
		s.mu.Lock()
		m, ok := s.m[id]
		s.mu.Unlock()
		if !ok {
			continue
		}
		werr := d.WriteManifest(m)
		if IsDiskFull(werr) && d.releaseBallast() {
			werr = d.WriteManifest(m)
		}
		if werr != nil {
			errs = append(errs, werr)
			if IsDiskFull(werr) {
				break // the rest would be refused too
			}
			continue
		}
		s.mu.Lock()
		if s.m[id] == m {
			delete(s.m, id)
		}
		s.mu.Unlock()
		written++
	}
	return written, d.Stranded(), errors.Join(errs...)
}

// StrandedOldest is the start of the oldest call whose final manifest
// waits in memory (zero when none does).
func (d *Dir) StrandedOldest() time.Time {
	s := &d.stranded
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldest time.Time
	for _, m := range s.m {
		if oldest.IsZero() || m.StartedAt.Before(oldest) {
			oldest = m.StartedAt
		}
	}
	return oldest
}

// Stranded is how many final manifests wait in memory for RetryStranded.
func (d *Dir) Stranded() int {
	s := &d.stranded
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
