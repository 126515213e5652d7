package storage

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Errors about a Store's input (test with errors.Is).
var (
	// ErrInvalidKey is returned for a key that breaks the rules of
	// CheckKey, before anything is stored or deleted.
	ErrInvalidKey = errors.New("invalid key")
	// ErrChecksumMismatch is returned by Put when the bytes read do not
	// have the SHA-256 of PutOptions.SHA256; nothing is stored then.
	ErrChecksumMismatch = errors.New("sha-256 mismatch")
)

// MaxKeyLen is the longest key in bytes, S3's limit.
const MaxKeyLen = 1024

// CheckKey reports whether key is a valid object key: not empty, at most
// MaxKeyLen bytes of UTF-8, slash-separated segments none of which is
// empty, "." or "..", and no backslash or control character. The error
// wraps ErrInvalidKey and says which rule failed.
func CheckKey(key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, err)
	}
	return nil
}

func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty")
	case len(key) > MaxKeyLen:
		return fmt.Errorf("longer than %d bytes", MaxKeyLen)
	case !utf8.ValidString(key):
		return errors.New("not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return errors.New("leading slash")
	case strings.HasSuffix(key, "/"):
		return errors.New("trailing slash")
	}
	for i, r := range key {
		switch {
		case r == 0:
			return fmt.Errorf("NUL byte at %d", i)
		case r == '\\':
			return fmt.Errorf("backslash at %d", i)
		case r < 0x20 || r == 0x7f:
			return fmt.Errorf("control character %#x at %d", r, i)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return errors.New("empty segment")
		case ".", "..":
			return fmt.Errorf("%q segment", seg)
		}
	}
	return nil
}

// CheckSHA256 returns sum in lower case if it is the hex form of a
// SHA-256 (64 hex digits), or an error naming what is wrong.
func CheckSHA256(sum string) (string, error) {
	if len(sum) != 2*32 {
		return "", fmt.Errorf("sha-256 %q: want 64 hex digits, got %d characters", sum, len(sum))
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return "", fmt.Errorf("sha-256 %q: not hex", sum)
	}
	return strings.ToLower(sum), nil
}

// CheckPrefix reports whether prefix can start keys: it may be empty or
// end mid-segment ("cs-quality/2026/1"), but the folders before its last
// slash must make a valid key. The error wraps ErrInvalidKey.
func CheckPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if strings.HasPrefix(prefix, "/") {
		return fmt.Errorf("%w: prefix %q: leading slash", ErrInvalidKey, prefix)
	}
	last := prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		if err := checkKey(prefix[:i]); err != nil {
			return fmt.Errorf("%w: prefix %q: %s", ErrInvalidKey, prefix, err)
		}
		last = prefix[i+1:]
	}
	if last != "" && last != "." && last != ".." {
		if err := checkKey(last); err != nil {
			return fmt.Errorf("%w: prefix %q: %s", ErrInvalidKey, prefix, err)
		}
	}
	return nil
}

// MaxMetaLen is the most bytes of user metadata (names and values) an
// object may have, S3's limit.
const MaxMetaLen = 2048

// CheckMeta reports whether meta can go in S3 user metadata headers:
// names of letters, digits, '-' and '_' (compared without case), values
// of printable ASCII without leading or trailing spaces, MaxMetaLen
// bytes in all.
func CheckMeta(meta map[string]string) error {
	total := 0
	for k, v := range meta {
		total += len(k) + len(v)
		if k == "" {
			return errors.New("metadata: empty name")
		}
		for _, r := range k {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("metadata %q: name may hold only letters, digits, '-' and '_'", k)
			}
		}
		for _, r := range v {
			if r < 0x20 || r > 0x7e {
				return fmt.Errorf("metadata %q: value may hold only printable ASCII", k)
			}
		}
		if strings.TrimSpace(v) != v {
			return fmt.Errorf("metadata %q: value has leading or trailing spaces", k)
		}
	}
	if total > MaxMetaLen {
		return fmt.Errorf("metadata: %d bytes, at most %d allowed", total, MaxMetaLen)
	}
	return nil
}
