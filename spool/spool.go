package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Dir is a spool folder.
type Dir struct {
	path string
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

// WriteManifest replaces the manifest of m.ID atomically: temporary file,
// fsync, rename, fsync of the folder.
func (d *Dir) WriteManifest(m *Manifest) error {
	if m.ID == "" || strings.ContainsAny(m.ID, `/\`) || strings.HasPrefix(m.ID, ".") {
		return fmt.Errorf("write manifest: bad id %q", m.ID)
	}
	m.Version = ManifestVersion
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write manifest %s: %w", m.ID, err)
	}
	return d.writeAtomic(m.ID+".json", append(b, '\n'))
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

func (d *Dir) writeAtomic(name string, data []byte) (err error) {
	f, err := os.CreateTemp(d.path, "."+name+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			err = errors.Join(err, os.Remove(tmp))
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err = os.Rename(tmp, filepath.Join(d.path, name)); err != nil {
		return fmt.Errorf("rename %s: %w", name, err)
	}
	return syncDir(d.path)
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
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return 0, fmt.Errorf("read spool: %w", err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		m, err := d.ReadManifest(strings.TrimSuffix(name, ".json"))
		if errors.Is(err, os.ErrNotExist) {
			continue // stored meanwhile
		}
		if err != nil || match(m) {
			n++
		}
	}
	return n, nil
}
