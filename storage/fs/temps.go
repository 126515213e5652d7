package fs

import (
	"errors"
	iofs "io/fs"
	"strings"
	"time"
)

// RemoveTemps removes the temporary files of Puts that never finished (a
// kill -9 or a power loss during one) last written more than age ago, and
// says how many and how large they were. Younger ones may be a Put in
// progress, of this process or of another one using the folder. Hidden
// from List and Stat, they would otherwise stay for good.
func (s *Store) RemoveTemps(age time.Duration) (n int, size int64, err error) {
	cutoff := time.Now().Add(-age)
	var errs []error
	werr := iofs.WalkDir(s.root.FS(), ".", func(name string, e iofs.DirEntry, err error) error {
		if err != nil {
			if !errors.Is(err, iofs.ErrNotExist) { // a folder Delete removed meanwhile
				errs = append(errs, err)
			}
			return nil
		}
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), tempPrefix) {
			return nil
		}
		fi, err := e.Info()
		if err != nil || fi.ModTime().After(cutoff) {
			return nil
		}
		if err := s.root.Remove(name); err != nil && !isNotExist(err) {
			errs = append(errs, err)
			return nil
		}
		n++
		size += fi.Size()
		return nil
	})
	return n, size, errors.Join(append(errs, werr)...)
}
