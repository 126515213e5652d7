package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/kiroku-voice/kiroku/storage"
)

// Get reads length bytes of key from offset, or to the end when length
// is negative; a length past the end stops at the end. An offset past
// the end is storage.ErrInvalidRange; an offset at the end gives no
// bytes. The reader keeps the object it opened even if it is replaced
// or deleted meanwhile.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	if offset < 0 {
		return nil, fmt.Errorf("get %s: negative offset %d: %w", key, offset, storage.ErrInvalidRange)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	f, err := s.root.Open(key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, notFound(err))
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = storage.ErrNotFound
	}
	if err == nil && offset > fi.Size() {
		err = fmt.Errorf("offset %d past size %d: %w", offset, fi.Size(), storage.ErrInvalidRange)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	n := fi.Size() - offset
	if length >= 0 && length < n {
		n = length
	}
	return &section{SectionReader: io.NewSectionReader(f, offset, n), f: f}, nil
}

// section is a range of an open file.
type section struct {
	*io.SectionReader
	f *os.File
}

// Close closes the file.
func (s *section) Close() error { return s.f.Close() }

// Stat describes key with its tags, metadata and SHA-256. The SHA-256
// is empty when the sidecar does not describe the data file (see
// sidecar.describes).
func (s *Store) Stat(ctx context.Context, key string) (storage.Object, error) {
	if err := checkKey(key); err != nil {
		return storage.Object{}, fmt.Errorf("stat: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return storage.Object{}, fmt.Errorf("stat %s: %w", key, err)
	}
	mu := s.lock(key)
	mu.RLock()
	defer mu.RUnlock()
	fi, sc, err := s.stat(key)
	if err != nil {
		return storage.Object{}, fmt.Errorf("stat %s: %w", key, err)
	}
	obj := storage.Object{Key: key, Size: fi.Size(), Modified: fi.ModTime()}
	if sc != nil {
		obj.Tags = cloneMap(sc.Tags)
		obj.Meta = cloneMap(sc.Meta)
		if sc.describes(fi) {
			obj.SHA256 = sc.SHA256
		}
	}
	return obj, nil
}

// stat returns key's data file and sidecar (nil if none). The caller
// holds the key's lock.
func (s *Store) stat(key string) (os.FileInfo, *sidecar, error) {
	fi, err := s.root.Lstat(key)
	if err != nil {
		return nil, nil, notFound(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, storage.ErrNotFound
	}
	sc, err := s.readSidecar(key)
	if err != nil {
		return nil, nil, err
	}
	return fi, sc, nil
}

// notFound turns the errors of a missing file, or of a missing folder on
// its path, into storage.ErrNotFound.
func notFound(err error) error {
	if isNotExist(err) {
		return storage.ErrNotFound
	}
	return err
}

// isNotExist reports whether err says that a path does not exist, also
// when one of its parents is a file rather than a folder.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
