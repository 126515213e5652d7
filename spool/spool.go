package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Dir is a spool folder.
type Dir struct {
	path     string
	commit   committer
	free     freeCache
	stranded stranded
	ballast  ballast
	keys     Keys // seal and open the audio (SetKeys)
}

// Open creates the spool folder if needed and checks it is writable.
func Open(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, fmt.Errorf("create spool %s: %w", path, err)
	}
	return &Dir{path: path}, nil
}

// Path is the spool folder.
func (d *Dir) Path() string { return d.path }

// ManifestPath is where the manifest of call id lives.
func (d *Dir) ManifestPath(id string) string { return filepath.Join(d.path, id+".json") }

// WriteManifest replaces the manifest of m.ID atomically and durably
// (temporary file, its data flushed, rename, fsync of the folder) and
// returns once it is on the disk. Writes that come together share their
// flushes (see QueueManifest).
func (d *Dir) WriteManifest(m *Manifest) error {
	ch := make(chan error, 1)
	d.QueueManifest(m, func(err error) { ch <- err })
	return <-ch
}

// QueueManifest is WriteManifest without the wait: it encodes m at once
// (m may change afterwards) and returns; done, when not nil, is called
// with nil once the manifest is durable or with the error that kept it
// from being written, the previous manifest then standing. done runs on
// the spool's writer and must not block. Manifests of one call are
// written in the order they were queued, and of several queued before
// the writer got to them only the last is written.
func (d *Dir) QueueManifest(m *Manifest, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	if m.ID == "" || strings.ContainsAny(m.ID, `/\`) || strings.HasPrefix(m.ID, ".") {
		done(fmt.Errorf("write manifest: bad id %q", m.ID))
		return
	}
	m.Version = ManifestVersion
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		done(fmt.Errorf("write manifest %s: %w", m.ID, err))
		return
	}
	d.queueWrite(m.ID+".json", append(b, '\n'), done)
}

// ReadManifest loads the manifest of call id.
func (d *Dir) ReadManifest(id string) (*Manifest, error) {
	b, err := os.ReadFile(d.ManifestPath(id))
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", id, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", id, err)
	}
	return &m, nil
}

func syncDir(path string) error {
	dir, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return errors.Join(dir.Sync(), dir.Close())
}

// Count returns how many calls in the spool (in progress or waiting to
// be stored) have a manifest that match accepts. A manifest that cannot
// be read counts too: what it holds is unknown.
func (d *Dir) Count(match func(*Manifest) bool) (int, error) {
	ids, err := d.ids()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		m, err := d.ReadManifest(id)
		if errors.Is(err, os.ErrNotExist) {
			continue // stored meanwhile
		}
		if err != nil || match(m) {
			n++
		}
	}
	return n, nil
}

// ids lists the calls that have a manifest in the spool, by id.
func (d *Dir) ids() ([]string, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("read spool: %w", err)
	}
	var ids []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		ids = append(ids, strings.TrimSuffix(name, ".json"))
	}
	slices.Sort(ids)
	return ids, nil
}

// Finished returns the manifests of the calls that have ended (done, or
// spooled with their audio) and wait to be stored, by id: oldest first,
// the ids being UUIDv7. A manifest that cannot be read is told to bad,
// when set, and left out; one removed meanwhile is left out.
func (d *Dir) Finished(bad func(id string, err error)) ([]*Manifest, error) {
	ids, err := d.ids()
	if err != nil {
		return nil, err
	}
	var out []*Manifest
	for _, id := range ids {
		m, err := d.ReadManifest(id)
		if errors.Is(err, os.ErrNotExist) {
			continue // stored meanwhile
		}
		if err != nil {
			if bad != nil {
				bad(id, err)
			}
			continue
		}
		if m.State == StateDone || m.State == StateSpooled {
			out = append(out, m)
		}
	}
	return out, nil
}

// Remove removes the files of call id from the spool: its audio first,
// then its manifest, so that a crash in between leaves a manifest that
// is handled again. Files already gone are not an error.
func (d *Dir) Remove(id string) error {
	var errs []error
	// The manifest goes last: while it is there, the call is listed.
	for _, p := range []string{d.SealedPath(id), d.RecordingPath(id), d.keyPath(id), d.dialogPath(id), d.ManifestPath(id)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s from the spool: %w", filepath.Base(p), err))
		}
	}
	return errors.Join(errs...)
}

// RemoveTemps removes every temporary file in the spool (the hidden
// files CreateTemp and manifest writes make) and says how many and how
// large they were. Only a process that owns the spool and has no stage
// running may call it: the daemon does at start, after a kill -9 or a
// power loss left them (an upload's copy of a recording encoded to its
// purpose's audio_format).
func (d *Dir) RemoveTemps() (n int, size int64, err error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return 0, 0, fmt.Errorf("spool temporaries: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		fi, ierr := e.Info()
		if rerr := os.Remove(filepath.Join(d.path, e.Name())); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			errs = append(errs, rerr)
			continue
		}
		n++
		if ierr == nil {
			size += fi.Size()
		}
	}
	return n, size, errors.Join(errs...)
}

// CreateTemp creates a temporary file in the spool folder, hidden from
// its listings, for a stage that works on a call's files (the uploader's
// copy of the audio encoded to its purpose's audio_format). pattern is as for os.CreateTemp; the file is
// the caller's to remove.
func (d *Dir) CreateTemp(pattern string) (*os.File, error) {
	return os.CreateTemp(d.path, "."+strings.TrimPrefix(pattern, "."))
}
