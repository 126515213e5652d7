package fs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// sidecar is what the store keeps beside an object, in "<key>.meta.json".
type sidecar struct {
	SHA256      string            `json:"sha256,omitempty"`
	Size        int64             `json:"size"`
	ModTimeNS   int64             `json:"mtime_ns"`
	ContentType string            `json:"content_type,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// describes reports whether the sidecar was written for the data file fi:
// a rename keeps a file's size and modification time, so a sidecar left
// from an older object (a crash between the two renames of an overwrite)
// does not vouch for the new bytes.
func (sc *sidecar) describes(fi os.FileInfo) bool {
	return sc.Size == fi.Size() && sc.ModTimeNS == fi.ModTime().UnixNano()
}

// readSidecar reads key's sidecar; it returns nil without error if there
// is none.
func (s *Store) readSidecar(key string) (*sidecar, error) {
	b, err := s.root.ReadFile(sidecarName(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sc sidecar
	if err := json.Unmarshal(b, &sc); err != nil {
		return nil, fmt.Errorf("sidecar %s: %w", sidecarName(key), err)
	}
	return &sc, nil
}

// writeSidecar replaces key's sidecar atomically. The caller holds the
// key's lock and syncs the folder.
func (s *Store) writeSidecar(key string, sc *sidecar) error {
	b, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return err
	}
	f, tmp, err := s.createTemp(path.Dir(key))
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = s.root.Rename(tmp, sidecarName(key))
	}
	if err != nil {
		_ = s.root.Remove(tmp)
		return fmt.Errorf("write sidecar: %w", err)
	}
	return nil
}

// The limits S3 puts on object tags, kept here too so that a folder
// accepts nothing a bucket would refuse.
const (
	maxTags        = 10
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// checkTags applies S3's rules for object tags.
func checkTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return fmt.Errorf("tags: %d, at most %d allowed", len(tags), maxTags)
	}
	for k, v := range tags {
		switch n := utf8.RuneCountInString(k); {
		case n == 0:
			return errors.New("tags: empty key")
		case n > maxTagKeyLen:
			return fmt.Errorf("tag %q: key longer than %d characters", k, maxTagKeyLen)
		}
		if utf8.RuneCountInString(v) > maxTagValueLen {
			return fmt.Errorf("tag %q: value longer than %d characters", k, maxTagValueLen)
		}
		if !tagText(k) || !tagText(v) {
			return fmt.Errorf("tag %q: S3 allows only letters, digits, spaces and + - = . _ : / @", k)
		}
	}
	return nil
}

func tagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsSpace(r) && !strings.ContainsRune("+-=._:/@", r) {
			return false
		}
	}
	return true
}

// lowerKeys returns m with its keys in lower case, as S3 user metadata
// names are case-insensitive and come back in one case.
func lowerKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
