// Package sumzip writes a ZIP whose last file, SHA256SUMS, lists the
// SHA-256 of every other file in sha256sum's format, so that whoever
// receives it (a data subject, a client at contract end) can check it
// with standard tools. It holds no policy about what goes in.
package sumzip

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"
)

// SumsFile is the name of the checksum list.
const SumsFile = "SHA256SUMS"

// Writer writes the ZIP.
type Writer struct {
	zw   *zip.Writer
	sums []string
	cur  hash.Hash
	name string
	last string
}

// New starts a ZIP on w.
func New(w io.Writer) *Writer { return &Writer{zw: zip.NewWriter(w)} }

// Create ends the file before (see End) and starts file name; its bytes
// go through the returned writer. WAV audio is stored, the rest deflated.
func (z *Writer) Create(name string) (io.Writer, error) {
	z.End()
	method := zip.Deflate
	if strings.HasSuffix(name, ".wav") {
		method = zip.Store // PCM barely deflates; storing keeps the stream cheap
	}
	fw, err := z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: time.Now().UTC()})
	if err != nil {
		return nil, fmt.Errorf("zip %s: %w", name, err)
	}
	z.cur, z.name = sha256.New(), name
	return io.MultiWriter(fw, z.cur), nil
}

// End ends the current file's checksum and returns it (hex); with no
// file open it returns the last file's.
func (z *Writer) End() string {
	if z.cur != nil {
		z.last = hex.EncodeToString(z.cur.Sum(nil))
		z.sums = append(z.sums, z.last+"  "+z.name+"\n")
		z.cur = nil
	}
	return z.last
}

// File writes file name from r and returns its SHA-256.
func (z *Writer) File(name string, r io.Reader) (string, error) {
	w, err := z.Create(name)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(w, r); err != nil {
		return "", fmt.Errorf("zip %s: %w", name, err)
	}
	return z.End(), nil
}

// JSON writes v, indented, as file name.
func (z *Writer) JSON(name string, v any) error {
	w, err := z.Create(name)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("zip %s: %w", name, err)
	}
	z.End()
	return nil
}

// Close writes SHA256SUMS and ends the ZIP.
func (z *Writer) Close() error {
	z.End()
	w, err := z.zw.Create(SumsFile)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, strings.Join(z.sums, "")); err != nil {
		return err
	}
	return z.zw.Close()
}
