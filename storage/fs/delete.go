package fs

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kiroku-voice/kiroku/storage"
)

// Delete removes keys and their sidecars; an absent key is not an error.
// Folders left empty are removed, up to the store's folder. The result
// has one entry per key, in order.
func (s *Store) Delete(ctx context.Context, keys []string) []storage.DeleteResult {
	results := make([]storage.DeleteResult, len(keys))
	dirs := make(map[string]bool)
	for i, key := range keys {
		results[i].Key = key
		if err := ctx.Err(); err != nil {
			results[i].Err = fmt.Errorf("delete %s: %w", key, err)
			continue
		}
		if err := checkKey(key); err != nil {
			results[i].Err = fmt.Errorf("delete: %w", err)
			continue
		}
		if err := s.remove(key); err != nil {
			results[i].Err = fmt.Errorf("delete %s: %w", key, err)
			continue
		}
		dirs[path.Dir(key)] = true
	}
	for i, err := range s.tidy(dirs) {
		// A folder that cannot be synced leaves the removals of its keys
		// not yet durable: report it on each of them.
		for j := range results {
			if results[j].Err == nil && path.Dir(results[j].Key) == i {
				results[j].Err = fmt.Errorf("delete %s: sync folder: %w", results[j].Key, err)
			}
		}
	}
	return results
}

// remove deletes key's data file and sidecar.
func (s *Store) remove(key string) error {
	mu := s.lock(key)
	mu.Lock()
	defer mu.Unlock()
	fi, err := s.root.Lstat(key)
	switch {
	case isNotExist(err):
	case err != nil:
		return err
	case fi.IsDir():
		// A folder of other keys, not an object: nothing to delete.
	default:
		if err := s.root.Remove(key); err != nil && !isNotExist(err) {
			return err
		}
	}
	if err := s.root.Remove(sidecarName(key)); err != nil && !isNotExist(err) {
		return err
	}
	return nil
}

// tidy syncs the folders keys were deleted from, then removes those left
// empty and their parents left empty in turn. It returns the folders it
// could not sync.
func (s *Store) tidy(dirs map[string]bool) map[string]error {
	failed := make(map[string]error)
	list := make([]string, 0, len(dirs))
	for dir := range dirs {
		if err := s.syncDir(dir); err != nil && !isNotExist(err) {
			failed[dir] = err
		}
		list = append(list, dir)
	}
	// Deepest first, so that a parent is tried after its children.
	slices.SortFunc(list, func(a, b string) int {
		return cmp.Or(-cmp.Compare(strings.Count(a, "/"), strings.Count(b, "/")), strings.Compare(a, b))
	})
	for _, dir := range list {
		for ; dir != "."; dir = path.Dir(dir) {
			// Remove refuses a folder that is not empty: that is the
			// test, and a Put racing into it makes its folder again.
			if err := s.root.Remove(dir); err != nil && !isNotExist(err) {
				break
			}
		}
	}
	return failed
}
