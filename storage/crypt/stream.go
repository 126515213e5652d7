package crypt

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Format of a sealed object:
//
//	header: "KRK1" | chunk size (uint32 BE) | nonce prefix (8 bytes)
//	chunks: AES-256-GCM(chunk i) = ciphertext | 16-byte tag
//
// Chunk i's nonce is the prefix followed by i (uint32 BE); its additional
// data is i and whether it is the last chunk, so chunks cannot be
// reordered, and a truncated object fails (the new last chunk was not
// sealed as last). An empty plaintext is one empty last chunk.
const (
	magic      = "KRK1"
	headerSize = 4 + 4 + 8
	tagSize    = 16
	// ChunkSize is the plaintext size of a chunk.
	ChunkSize = 64 * 1024
)

// ErrCorrupt is returned when a sealed object fails authentication.
var ErrCorrupt = errors.New("sealed object is corrupt or was altered")

// SealedSize is the size of a sealed object of n plaintext bytes.
func SealedSize(n int64) int64 {
	chunks := n / ChunkSize
	if n%ChunkSize != 0 || n == 0 {
		chunks++
	}
	return headerSize + n + chunks*tagSize
}

// PlainSize is the plaintext size of a sealed object of size bytes.
func PlainSize(size int64) (int64, error) {
	body := size - headerSize
	if body < tagSize {
		return 0, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, size)
	}
	full := body / (ChunkSize + tagSize)
	rest := body % (ChunkSize + tagSize)
	switch {
	case rest == 0:
		return full * ChunkSize, nil
	case rest < tagSize:
		return 0, fmt.Errorf("%w: %d bytes is not a whole number of chunks", ErrCorrupt, size)
	}
	return full*ChunkSize + rest - tagSize, nil
}

// Seal writes src (n bytes) sealed with dataKey to dst, under a random
// nonce prefix.
func Seal(dst io.Writer, src io.Reader, n int64, dataKey []byte) error {
	var prefix [8]byte
	if _, err := rand.Read(prefix[:]); err != nil {
		return fmt.Errorf("seal: nonce: %w", err)
	}
	return seal(dst, src, n, dataKey, prefix)
}

// SealOnce writes src sealed with dataKey under a nonce prefix derived
// from the key and label, so that sealing the same bytes again gives the
// same bytes: an upload retried after a hung attempt stores what the hung
// one would, and a late write of the hung one changes nothing. The key
// must seal no other plaintext under that label (a recording's data key
// seals its audio once), or nonces would repeat across plaintexts.
func SealOnce(dst io.Writer, src io.Reader, n int64, dataKey []byte, label string) error {
	m := hmac.New(sha256.New, dataKey)
	m.Write([]byte("kiroku stream nonce prefix v1\x00" + label))
	var prefix [8]byte
	copy(prefix[:], m.Sum(nil))
	return seal(dst, src, n, dataKey, prefix)
}

func seal(dst io.Writer, src io.Reader, n int64, dataKey []byte, prefix [8]byte) error {
	aead, err := gcm(dataKey)
	if err != nil {
		return err
	}
	var hdr [headerSize]byte
	copy(hdr[:], magic)
	binary.BigEndian.PutUint32(hdr[4:], ChunkSize)
	copy(hdr[8:], prefix[:])
	if _, err := dst.Write(hdr[:]); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	buf := make([]byte, ChunkSize, ChunkSize+tagSize)
	for i, left := uint32(0), n; ; i++ {
		size := min(left, ChunkSize)
		if _, err := io.ReadFull(src, buf[:size]); err != nil {
			return fmt.Errorf("seal: read: %w", err)
		}
		left -= size
		last := left == 0
		out := aead.Seal(buf[:0], nonce(hdr[8:], i), buf[:size], aad(i, last))
		if _, err := dst.Write(out); err != nil {
			return fmt.Errorf("seal: %w", err)
		}
		if last {
			return nil
		}
		buf = buf[:ChunkSize]
	}
}

func nonce(prefix []byte, i uint32) []byte {
	n := make([]byte, 12)
	copy(n, prefix)
	binary.BigEndian.PutUint32(n[8:], i)
	return n
}

func aad(i uint32, last bool) []byte {
	b := make([]byte, 5)
	binary.BigEndian.PutUint32(b, i)
	if last {
		b[4] = 1
	}
	return b
}

// RangeReader opens ranges of a sealed object through fetch, which reads
// bytes [off, off+n) of the sealed object (a ranged GET).
type RangeReader struct {
	aead   cipher.AEAD
	fetch  func(off, n int64) (io.ReadCloser, error)
	prefix []byte
	size   int64 // sealed size
	plain  int64
}

// NewRangeReader reads the header through fetch and checks it.
func NewRangeReader(dataKey []byte, sealedSize int64, fetch func(off, n int64) (io.ReadCloser, error)) (*RangeReader, error) {
	aead, err := gcm(dataKey)
	if err != nil {
		return nil, err
	}
	plain, err := PlainSize(sealedSize)
	if err != nil {
		return nil, err
	}
	rc, err := fetch(0, headerSize)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var hdr [headerSize]byte
	if _, err := io.ReadFull(rc, hdr[:]); err != nil {
		return nil, fmt.Errorf("open sealed header: %w", err)
	}
	if string(hdr[:4]) != magic || binary.BigEndian.Uint32(hdr[4:]) != ChunkSize {
		return nil, fmt.Errorf("%w: not a sealed Kiroku object", ErrCorrupt)
	}
	return &RangeReader{aead: aead, fetch: fetch, prefix: append([]byte(nil), hdr[8:]...), size: sealedSize, plain: plain}, nil
}

// Size is the plaintext size.
func (r *RangeReader) Size() int64 { return r.plain }

// WriteRange writes plaintext bytes [off, off+n) to w, opening only the
// chunks that hold them.
func (r *RangeReader) WriteRange(w io.Writer, off, n int64) error {
	if off < 0 || n < 0 || off+n > r.plain {
		return fmt.Errorf("range %d+%d outside %d bytes", off, n, r.plain)
	}
	if n == 0 {
		return nil
	}
	first, last := off/ChunkSize, (off+n-1)/ChunkSize
	lastChunk := (r.plain - 1) / ChunkSize
	if r.plain == 0 {
		lastChunk = 0
	}
	cOff := headerSize + first*(ChunkSize+tagSize)
	cEnd := min(headerSize+(last+1)*(ChunkSize+tagSize), r.size)
	rc, err := r.fetch(cOff, cEnd-cOff)
	if err != nil {
		return err
	}
	defer rc.Close()
	buf := make([]byte, ChunkSize+tagSize)
	for i := first; i <= last; i++ {
		size := int64(ChunkSize + tagSize)
		if i == lastChunk {
			size = r.size - (headerSize + i*(ChunkSize+tagSize))
		}
		if _, err := io.ReadFull(rc, buf[:size]); err != nil {
			return fmt.Errorf("read sealed chunk %d: %w", i, err)
		}
		pt, err := r.aead.Open(buf[:0], nonce(r.prefix, uint32(i)), buf[:size], aad(uint32(i), i == lastChunk))
		if err != nil {
			return fmt.Errorf("%w: chunk %d", ErrCorrupt, i)
		}
		lo := int64(0)
		if i == first {
			lo = off - i*ChunkSize
		}
		hi := int64(len(pt))
		if i == last {
			hi = off + n - i*ChunkSize
		}
		if _, err := w.Write(pt[lo:hi]); err != nil {
			return err
		}
	}
	return nil
}
