package fs

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/kiroku-voice/kiroku/storage"
)

// List calls fn for every object whose key starts with prefix, in key
// order (byte order, as S3 lists), until fn returns an error, which List
// returns. The objects carry Key, Size and Modified; Stat gives the rest.
// It walks only the folders that can hold such keys.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.Object) error) error {
	if err := storage.CheckPrefix(prefix); err != nil {
		return fmt.Errorf("list: %w", err)
	}
	dir := "."
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir = prefix[:i]
	}
	if err := s.walk(ctx, dir, prefix, fn); err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	return nil
}

// entry is a name in a folder with the string it sorts by.
type entry struct {
	fs.DirEntry
	sortKey string
}

// walk lists dir. Within a folder, a subfolder "x" sorts as "x/", which
// puts every key under it where byte order of whole keys puts it (for
// example "a-c" before "a/b", since '-' < '/').
func (s *Store) walk(ctx context.Context, dir, prefix string, fn func(storage.Object) error) error {
	d, err := s.root.Open(dir)
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	des, err := d.ReadDir(-1)
	_ = d.Close()
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	entries := make([]entry, 0, len(des))
	for _, de := range des {
		e := entry{DirEntry: de, sortKey: de.Name()}
		if de.IsDir() {
			e.sortKey += "/"
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.sortKey, b.sortKey) })

	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		key := e.Name()
		if dir != "." {
			key = path.Join(dir, key)
		}
		switch {
		case e.IsDir():
			sub := key + "/"
			if strings.HasPrefix(sub, prefix) || strings.HasPrefix(prefix, sub) {
				if err := s.walk(ctx, key, prefix, fn); err != nil {
					return err
				}
			}
		case e.Type().IsRegular() && !reserved(e.Name()) && strings.HasPrefix(key, prefix):
			fi, err := e.Info()
			if isNotExist(err) {
				continue // deleted since the folder was read
			}
			if err != nil {
				return err
			}
			if err := fn(storage.Object{Key: key, Size: fi.Size(), Modified: fi.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}
