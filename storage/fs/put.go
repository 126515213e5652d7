package fs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/kiroku-voice/kiroku/storage"
)

// Put stores size bytes from r under key. The bytes go to a temporary
// file in the key's folder, which is synced and renamed over the key
// after its sidecar, so readers see the whole new object or the old
// one. With opts.SHA256 set, bytes of another SHA-256 are refused with
// storage.ErrChecksumMismatch and nothing is left behind; so is a
// reader that ends before size bytes. opts.RetainUntil is ignored.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.Object, error) {
	if err := checkKey(key); err != nil {
		return storage.Object{}, fmt.Errorf("put: %w", err)
	}
	if size < 0 {
		return storage.Object{}, fmt.Errorf("put %s: negative size %d", key, size)
	}
	var want string
	if opts.SHA256 != "" {
		var err error
		if want, err = storage.CheckSHA256(opts.SHA256); err != nil {
			return storage.Object{}, fmt.Errorf("put %s: %w", key, err)
		}
	}
	if err := checkTags(opts.Tags); err != nil {
		return storage.Object{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := storage.CheckMeta(opts.Meta); err != nil {
		return storage.Object{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := s.conflict(key); err != nil {
		return storage.Object{}, fmt.Errorf("put %s: %w", key, err)
	}

	dir := path.Dir(key)
	f, tmp, err := s.createTemp(dir)
	if err != nil {
		if c := s.conflict(key); c != nil {
			err = c
		}
		return storage.Object{}, fmt.Errorf("put %s: create: %w", key, err)
	}
	done, committed := false, false
	defer func() {
		if !done {
			_ = f.Close()
		}
		if !committed {
			// Nothing left behind: not the file, nor folders made for it.
			_ = s.root.Remove(tmp)
			s.tidy(map[string]bool{dir: true})
		}
	}()

	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(ctxReader{ctx, r}, size))
	if err != nil {
		return storage.Object{}, fmt.Errorf("put %s: write: %w", key, err)
	}
	if n < size {
		return storage.Object{}, fmt.Errorf("put %s: read %d of %d bytes: %w", key, n, size, io.ErrUnexpectedEOF)
	}
	sum := hexString(h.Sum(nil))
	if want != "" && sum != want {
		return storage.Object{}, fmt.Errorf("put %s: got sha-256 %s, want %s: %w", key, sum, want, storage.ErrChecksumMismatch)
	}
	if err := f.Sync(); err != nil {
		return storage.Object{}, fmt.Errorf("put %s: sync: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return storage.Object{}, fmt.Errorf("put %s: %w", key, err)
	}
	done = true
	if err := f.Close(); err != nil {
		return storage.Object{}, fmt.Errorf("put %s: close: %w", key, err)
	}

	sc := &sidecar{
		SHA256:      sum,
		Size:        fi.Size(),
		ModTimeNS:   fi.ModTime().UnixNano(),
		ContentType: opts.ContentType,
		Meta:        lowerKeys(opts.Meta),
		Tags:        cloneMap(opts.Tags),
	}
	if err := s.commit(ctx, key, tmp, sc); err != nil {
		return storage.Object{}, fmt.Errorf("put %s: %w", key, err)
	}
	committed = true
	return storage.Object{
		Key:      key,
		Size:     fi.Size(),
		Modified: fi.ModTime(),
		SHA256:   sum,
		Tags:     cloneMap(sc.Tags),
		Meta:     cloneMap(sc.Meta),
	}, nil
}

// commit puts the sidecar and then the data file tmp in place of key.
// The sidecar goes first so that an object never shows without its
// record; a sidecar that outlives a failed rename names a size and time
// that no data file has, and Stat does not trust it.
func (s *Store) commit(ctx context.Context, key, tmp string, sc *sidecar) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	mu := s.lock(key)
	mu.Lock()
	defer mu.Unlock()
	if err := s.writeSidecar(key, sc); err != nil {
		return err
	}
	if err := s.root.Rename(tmp, key); err != nil {
		if c := s.conflict(key); c != nil {
			err = c
		}
		return errors.Join(fmt.Errorf("rename: %w", err), s.removeSidecarIfOrphan(key))
	}
	if err := s.syncDir(path.Dir(key)); err != nil {
		return fmt.Errorf("sync folder: %w", err)
	}
	return nil
}

// removeSidecarIfOrphan removes key's sidecar when key has no data file.
func (s *Store) removeSidecarIfOrphan(key string) error {
	if fi, err := s.root.Lstat(key); err == nil && fi.Mode().IsRegular() {
		return nil
	}
	if err := s.root.Remove(sidecarName(key)); err != nil && !isNotExist(err) {
		return err
	}
	return nil
}
