package spool

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/internal/wav"
)

// Recovered reports what Recover did to one call left unfinished.
type Recovered struct {
	ID       string
	Repaired bool  // its recording was repaired and is now spooled
	Err      error // the call could not be recovered; its files are left as they are
	// Teardown: the call's dialogs were kept (WriteDialogs) and it is left
	// as it was for the daemon to end them with BYE and then call
	// FinishTeardown.
	Teardown bool
}

// Recover finishes the manifests of calls that were in progress when
// kirokud stopped without ending them (kill -9, power loss): a recording
// gets its WAV header fixed to the audio written, is marked cut short and
// becomes spooled; a call without audio is marked done. A call whose
// dialogs were kept is left for teardown (Recovered.Teardown). Nothing is
// deleted but a finished call's dialogs.
func (d *Dir) Recover() ([]Recovered, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("recover spool: %w", err)
	}
	var out []Recovered
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") && strings.Contains(name, ".json.") {
			os.Remove(filepath.Join(d.path, name)) // a temporary never renamed: the old manifest stands
			continue
		}
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		id := strings.TrimSuffix(name, ".json")
		m, err := d.ReadManifest(id)
		if err != nil {
			out = append(out, Recovered{ID: id, Err: err})
			continue
		}
		switch m.State {
		case StateDone, StateSpooled:
			// Ended, and kirokud stopped before its dialogs were
			// forgotten: nothing is left to end.
			if err := d.RemoveDialogs(id); err != nil {
				out = append(out, Recovered{ID: id, Err: err})
			}
			continue
		}
		if d.hasDialogs(id) {
			// Its dialogs may still be up at the peers: the daemon ends
			// them, then FinishTeardown finishes the manifest.
			out = append(out, Recovered{ID: id, Teardown: true})
			continue
		}
		r := Recovered{ID: id}
		r.Repaired, r.Err = d.recoverOne(m, e)
		out = append(out, r)
	}
	return out, nil
}

func (d *Dir) recoverOne(m *Manifest, e os.DirEntry) (bool, error) {
	ended := time.Now().UTC()
	if fi, err := e.Info(); err == nil {
		ended = fi.ModTime().UTC()
	}
	if m.EndedAt == nil {
		m.EndedAt = &ended
	}
	if m.EndReason == "" {
		m.EndReason = "interrupted"
	}
	if m.Consent.Decision == "" {
		m.Consent.Decision = HungUpDuringNotice
	}
	rec := m.Recording
	if rec == nil {
		m.State = StateDone
		if m.NotRecorded == "" {
			m.NotRecorded = "interrupted before recording"
		}
		return false, d.WriteManifest(m)
	}
	path := filepath.Join(d.path, rec.File)
	if fi, err := os.Stat(path); err == nil {
		ended = fi.ModTime().UTC()
	}
	data, err := wav.Repair(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, wav.ErrTruncated) {
		return false, fmt.Errorf("repair %s: %w", rec.File, err)
	}
	rec.CutShort = true
	rec.EndedAt = &ended
	if err != nil { // no audio file at all: the manifest says so
		rec.Error = "recording file missing after interruption"
		m.State = StateDone
		return false, d.WriteManifest(m)
	}
	rate, err := wav.ByteRate(path)
	if err != nil {
		return false, fmt.Errorf("repair %s: %w", rec.File, err)
	}
	rec.Duration = float64(data) / float64(rate)
	sum, size, err := fileSHA256(path)
	if err != nil {
		return false, err
	}
	rec.SHA256, rec.Size = sum, size
	m.State = StateSpooled
	return true, d.WriteManifest(m)
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// RecordingPath is where the recording of call id is written.
func (d *Dir) RecordingPath(id string) string { return filepath.Join(d.path, id+".wav") }
