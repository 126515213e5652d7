package media

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kiroku-voice/kiroku/internal/wav"
)

// wavFile opens a plain WAV file at path as a recording's sink.
func wavFile(path string, rate int) func() (Sink, error) {
	return func() (Sink, error) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
		if err != nil {
			return nil, fmt.Errorf("create recording: %w", err)
		}
		w, err := wav.NewWriter(f, rate, 2)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("create recording: %w", err), f.Close(), os.Remove(path))
		}
		return &wavSink{path: path, f: f, w: w}, nil
	}
}

// wavSink is a plain WAV file: a recording made outside the spool.
type wavSink struct {
	path string
	f    *os.File
	w    *wav.Writer
}

func (s *wavSink) Write(p []byte) (int, error) { return s.w.Write(p) }

func (s *wavSink) Finish() (int64, int64, string, error) {
	err := errors.Join(s.w.Close(), s.f.Sync(), s.f.Close())
	sum, size, herr := hashFile(s.path)
	return s.w.Written(), size, sum, errors.Join(err, herr)
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("hash recording: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, fmt.Errorf("hash recording: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
