package fs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/kiroku-voice/kiroku/storage"
)

// Names the store keeps for itself beside the objects.
const (
	// sidecarSuffix ends the name of an object's sidecar file.
	sidecarSuffix = ".meta.json"
	// tempPrefix starts the name of a file being written.
	tempPrefix = ".kiroku-tmp-"
)

// Permissions of what the store creates: recordings are personal data,
// so nothing is readable by others.
const (
	dirPerm  = 0o750
	filePerm = 0o640
)

// lockStripes is how many locks the keys share; an object's data and
// sidecar change together under its key's lock.
const lockStripes = 64

// Store is a blob store in a local folder. It is safe for concurrent use.
type Store struct {
	dir   string
	root  *os.Root
	locks [lockStripes]sync.RWMutex

	closeOnce sync.Once
	closeErr  error
}

// New opens the store in dir, creating the folder if needed, and checks
// that it can write there.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("fs store: empty folder name")
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("fs store: create folder: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("fs store: open folder: %w", err)
	}
	s := &Store{dir: dir, root: root}
	f, name, err := s.createTemp(".")
	if err != nil {
		_ = root.Close()
		return nil, fmt.Errorf("fs store: folder %s not writable: %w", dir, err)
	}
	if err := errors.Join(f.Close(), root.Remove(name)); err != nil {
		_ = root.Close()
		return nil, fmt.Errorf("fs store: folder %s: %w", dir, err)
	}
	return s, nil
}

// Dir returns the folder the store keeps its objects in.
func (s *Store) Dir() string { return s.dir }

// Close releases the folder; later calls fail. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if err := s.root.Close(); err != nil {
			s.closeErr = fmt.Errorf("fs store: close: %w", err)
		}
	})
	return s.closeErr
}

// SetLegalHold does nothing: a local folder has no Object Lock.
func (s *Store) SetLegalHold(ctx context.Context, key string, on bool) error {
	return nil
}

// lock returns the lock of key.
func (s *Store) lock(key string) *sync.RWMutex {
	h := fnv.New32a()
	_, _ = io.WriteString(h, key)
	return &s.locks[h.Sum32()%lockStripes]
}

// checkKey applies storage.CheckKey and refuses the names the store
// keeps for itself.
func checkKey(key string) error {
	if err := storage.CheckKey(key); err != nil {
		return err
	}
	if strings.HasSuffix(key, sidecarSuffix) {
		return fmt.Errorf("%w %q: suffix %q is reserved for the fs store's sidecar files", storage.ErrInvalidKey, key, sidecarSuffix)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if strings.HasPrefix(seg, tempPrefix) {
			return fmt.Errorf("%w %q: prefix %q is reserved for the fs store's temporary files", storage.ErrInvalidKey, key, tempPrefix)
		}
	}
	return nil
}

// reserved reports whether a file name is one the store keeps for itself.
func reserved(name string) bool {
	return strings.HasSuffix(name, sidecarSuffix) || strings.HasPrefix(name, tempPrefix)
}

func sidecarName(key string) string { return key + sidecarSuffix }

// createTemp creates a new temporary file in dir (made if missing). It
// tries again if the folder vanishes in between, as Delete removes
// folders it has emptied.
func (s *Store) createTemp(dir string) (*os.File, string, error) {
	var err error
	for range 5 {
		if err = s.root.MkdirAll(dir, dirPerm); err != nil {
			return nil, "", err
		}
		var f *os.File
		name := path.Join(dir, tempPrefix+rand.Text())
		f, err = s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
		if err == nil {
			return f, name, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
	}
	return nil, "", err
}

// syncDir makes a folder's entries (a rename, a removal) durable.
func (s *Store) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// conflict explains why key cannot be a file: it is a folder of other
// keys, or one of its parents is an object. It returns nil if neither.
func (s *Store) conflict(key string) error {
	if fi, err := s.root.Lstat(key); err == nil && fi.IsDir() {
		return fmt.Errorf("key is the folder of other keys (the fs store keeps keys as paths)")
	}
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		if fi, err := s.root.Lstat(dir); err == nil && !fi.IsDir() {
			return fmt.Errorf("object %q is in the way of its folder (the fs store keeps keys as paths)", dir)
		}
	}
	return nil
}

// ctxReader stops reading once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

// Read reads from r unless the context is done.
func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func hexString(b []byte) string { return hex.EncodeToString(b) }
