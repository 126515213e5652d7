package spool

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiroku-voice/kiroku/internal/wav"
)

// flushBytes is one recorder flush: 200 ms of 8 kHz 16-bit stereo.
const flushBytes = 6400

// BenchmarkAudioWrite measures a recording's writes to the spool: one op
// is one recorder flush (200 ms of narrowband audio), written as the
// plain WAV the spool held before, or sealed as a record. ns/op over 200
// ms is the share of one core a call's recording takes.
func BenchmarkAudioWrite(b *testing.B) {
	pcm := pattern(flushBytes / 4)
	b.Run("plain-wav", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "r.wav"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		w, _ := wav.NewWriter(f, 8000, 2)
		b.SetBytes(flushBytes)
		for b.Loop() {
			if _, err := w.Write(pcm); err != nil {
				b.Fatal(err)
			}
		}
		w.Close()
	})
	b.Run("sealed", func(b *testing.B) {
		d := sealedSpool(b)
		a, err := d.NewAudio("c1", "", 8000, nil)
		if err != nil {
			b.Fatal(err)
		}
		w, err := a.Create()
		if err != nil {
			b.Fatal(err)
		}
		defer w.f.Close()
		b.SetBytes(flushBytes)
		for b.Loop() {
			if _, err := w.Write(pcm); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAudioRead measures reading a finished 5-minute recording
// back as its WAV, as the uploader does (twice per upload): the plain
// file, or the sealed one opened record by record.
func BenchmarkAudioRead(b *testing.B) {
	const flushes = 5 * 60 * 5
	pcm := pattern(flushBytes / 4)
	d := sealedSpool(b)
	a, _ := d.NewAudio("c1", "", 8000, nil)
	w, _ := a.Create()
	a.Kept()
	f, _ := os.Create(d.RecordingPath("c2"))
	pw, _ := wav.NewWriter(f, 8000, 2)
	for range flushes {
		w.Write(pcm)
		pw.Write(pcm)
	}
	if _, _, _, err := w.Finish(); err != nil {
		b.Fatal(err)
	}
	pw.Close()
	f.Close()
	for _, c := range []struct{ name, id string }{{"plain-wav", "c2"}, {"sealed", "c1"}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(flushes * flushBytes)
			for b.Loop() {
				r, _, err := d.OpenAudio(c.id)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}
