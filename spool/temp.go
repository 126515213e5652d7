package spool

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// A sealed temporary holds a stage's copy of a call's audio (the
// uploader's encoding of it) sealed under a key that lives only in the
// process: after a crash it is unreadable, and the daemon removes it at
// its next start (RemoveTemps). Its bytes are in chunks of tempChunk, each
// sealed with AES-256-GCM under a random nonce stored before it, so that
// a chunk written again (an encoder seeking back to fix its header) is
// sealed afresh, never under a nonce used before.
const (
	tempChunk  = 64 << 10
	tempNonce  = 12
	tempStride = tempNonce + tempChunk + recordTag
)

// SealedTemp is a sealed temporary: written, then read back, then
// removed. It is an io.WriteSeeker while written.
type SealedTemp struct {
	f    *os.File
	aead cipher.AEAD
	size int64 // bytes written
	pos  int64
	idx  int64 // chunk in buf, -1 for none
	buf  []byte
	ct   []byte
	aad  [16]byte
	dirt bool
}

// CreateSealedTemp creates a sealed temporary in the spool folder, hidden
// from its listings like CreateTemp's; pattern is as for os.CreateTemp.
func (d *Dir) CreateSealedTemp(pattern string) (*SealedTemp, error) {
	key := make([]byte, dataKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("sealed temporary: key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealed temporary: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealed temporary: %w", err)
	}
	f, err := d.CreateTemp(pattern)
	if err != nil {
		return nil, err
	}
	return &SealedTemp{f: f, aead: aead, idx: -1, buf: make([]byte, 0, tempChunk)}, nil
}

// Name is the temporary's path.
func (t *SealedTemp) Name() string { return t.f.Name() }

// Size is the number of bytes written.
func (t *SealedTemp) Size() int64 { return t.size }

// Write writes p at the current offset, which is at most Size.
func (t *SealedTemp) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := t.pos / tempChunk
		if err := t.load(k); err != nil {
			return n, err
		}
		off := int(t.pos - k*tempChunk)
		if end := off + len(p); end > len(t.buf) {
			t.buf = t.buf[:min(end, tempChunk)]
		}
		c := copy(t.buf[off:], p)
		t.dirt = true
		t.pos += int64(c)
		t.size = max(t.size, t.pos)
		n += c
		p = p[c:]
	}
	return n, nil
}

// Seek sets the offset of the next Read or Write, within [0, Size].
func (t *SealedTemp) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += t.pos
	case io.SeekEnd:
		offset += t.size
	default:
		return 0, fmt.Errorf("seek sealed temporary: whence %d", whence)
	}
	if offset < 0 || offset > t.size {
		return 0, fmt.Errorf("seek sealed temporary: offset %d outside its %d bytes", offset, t.size)
	}
	t.pos = offset
	return offset, nil
}

// Read reads from the current offset.
func (t *SealedTemp) Read(p []byte) (int, error) {
	if t.pos >= t.size {
		return 0, io.EOF
	}
	k := t.pos / tempChunk
	if err := t.load(k); err != nil {
		return 0, err
	}
	n := copy(p, t.buf[t.pos-k*tempChunk:])
	t.pos += int64(n)
	return n, nil
}

// Flush writes the chunk being changed.
func (t *SealedTemp) Flush() error {
	if !t.dirt {
		return nil
	}
	nonce := t.ct[:0]
	nonce = append(nonce, make([]byte, tempNonce)...)
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("sealed temporary: nonce: %w", err)
	}
	t.ct = t.aead.Seal(nonce, nonce, t.buf, t.chunkAAD(t.idx, len(t.buf)))
	if _, err := t.f.WriteAt(t.ct, t.idx*tempStride); err != nil {
		return fmt.Errorf("write sealed temporary: %w", err)
	}
	t.dirt = false
	return nil
}

func (t *SealedTemp) chunkAAD(k int64, n int) []byte {
	binary.BigEndian.PutUint64(t.aad[:], uint64(k))
	binary.BigEndian.PutUint64(t.aad[8:], uint64(n))
	return t.aad[:]
}

// load makes chunk k the one in buf.
func (t *SealedTemp) load(k int64) error {
	if k == t.idx {
		return nil
	}
	if err := t.Flush(); err != nil {
		return err
	}
	n := min(t.size-k*tempChunk, tempChunk)
	t.idx, t.buf = k, t.buf[:0]
	if n <= 0 {
		return nil // a new chunk at the end
	}
	need := tempNonce + int(n) + recordTag
	if cap(t.ct) < need {
		t.ct = make([]byte, need)
	}
	ct := t.ct[:need]
	if _, err := t.f.ReadAt(ct, k*tempStride); err != nil {
		t.idx = -1
		return fmt.Errorf("read sealed temporary: %w", err)
	}
	pt, err := t.aead.Open(t.buf[:0], ct[:tempNonce], ct[tempNonce:], t.chunkAAD(k, int(n)))
	if err != nil {
		t.idx = -1
		return fmt.Errorf("%w: temporary chunk %d", ErrSealedCorrupt, k)
	}
	t.buf = pt
	return nil
}

// Close writes what is left and closes the file; the temporary stays
// until Remove.
func (t *SealedTemp) Close() error {
	return errors.Join(t.Flush(), t.f.Close())
}

// Open reopens a closed temporary to read it from its start.
func (t *SealedTemp) Open() (*SealedTemp, error) {
	f, err := os.Open(t.f.Name())
	if err != nil {
		return nil, fmt.Errorf("open sealed temporary: %w", err)
	}
	return &SealedTemp{f: f, aead: t.aead, size: t.size, idx: -1, buf: make([]byte, 0, tempChunk)}, nil
}

// Remove removes the temporary's file.
func (t *SealedTemp) Remove() error { return os.Remove(t.f.Name()) }
