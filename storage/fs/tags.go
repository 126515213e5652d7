package fs

import (
	"context"
	"fmt"
	"path"
)

// SetTags replaces key's tags (none with an empty map).
func (s *Store) SetTags(ctx context.Context, key string, tags map[string]string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("set tags: %w", err)
	}
	if err := checkTags(tags); err != nil {
		return fmt.Errorf("set tags %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("set tags %s: %w", key, err)
	}
	mu := s.lock(key)
	mu.Lock()
	defer mu.Unlock()
	fi, sc, err := s.stat(key)
	if err != nil {
		return fmt.Errorf("set tags %s: %w", key, err)
	}
	if sc == nil {
		// An object without a sidecar (placed in the folder by hand): its
		// size and time are known, its SHA-256 is not vouched for.
		sc = &sidecar{Size: fi.Size(), ModTimeNS: fi.ModTime().UnixNano()}
	}
	sc.Tags = cloneMap(tags)
	if err := s.writeSidecar(key, sc); err != nil {
		return fmt.Errorf("set tags %s: %w", key, err)
	}
	if err := s.syncDir(path.Dir(key)); err != nil {
		return fmt.Errorf("set tags %s: sync folder: %w", key, err)
	}
	return nil
}
