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
	// Discarded: sealed audio (Bytes of it) or a data key that no durable
	// manifest named was removed. The audio is written as it comes, not
	// once its manifest is durable (Audio.Create): a call interrupted
	// before then has no record of its line, purpose or notice that the
	// audio could be kept under. Without a manifest at all, ID is all
	// Recover reports of it.
	Discarded bool
	Bytes     int64
}

// Recover finishes the manifests of calls that were in progress when
// kirokud stopped without ending them (kill -9, power loss): a recording
// keeps its sealed records up to the first one cut short and is finished
// (an older spool's plain WAV gets its header fixed instead), is marked
// cut short and becomes spooled; a call without audio is marked done. A call whose
// dialogs were kept is left for teardown (Recovered.Teardown). Nothing is
// deleted but a finished call's dialogs.
func (d *Dir) Recover() ([]Recovered, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("recover spool: %w", err)
	}
	var out []Recovered
	out = append(out, d.discardUnnamed(entries)...)
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
		if m.Recording == nil || m.Recording.File != id+SealedExt {
			// Sealed audio the durable manifest does not name: made
			// before the manifest that would have named it was durable,
			// or that could not be kept (its data key refused).
			if _, err := os.Stat(d.SealedPath(id)); err == nil {
				size, err := d.DiscardAudio(id)
				out = append(out, Recovered{ID: id, Discarded: true, Bytes: size, Err: err})
				if err != nil {
					continue
				}
				if m.NotRecorded == "" && m.State != StateDone && m.State != StateSpooled {
					m.NotRecorded = fmt.Sprintf("interrupted before the manifest naming its recording was durable; the %d bytes of sealed audio made meanwhile were removed", size)
				}
			}
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

// discardUnnamed removes the sealed audio and data keys of calls that
// have no manifest in the spool (entries): their calls were interrupted
// before any manifest of theirs was durable. Remove takes a stored call's
// manifest last, so a call being removed never leaves one.
func (d *Dir) discardUnnamed(entries []os.DirEntry) []Recovered {
	have := make(map[string]bool, len(entries))
	for _, e := range entries {
		have[e.Name()] = true
	}
	var out []Recovered
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		id, sealed := strings.CutSuffix(name, SealedExt)
		if !sealed {
			var key bool
			if id, key = strings.CutSuffix(name, ".key"); !key || have[id+SealedExt] {
				continue // a key beside audio goes with the audio
			}
		}
		if have[id+".json"] {
			continue
		}
		size, err := d.DiscardAudio(id)
		out = append(out, Recovered{ID: id, Discarded: true, Bytes: size, Err: err})
	}
	return out
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
	if _, err := os.Stat(d.SealedPath(m.ID)); err == nil {
		return d.recoverSealed(m, ended)
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

// recoverSealed repairs the sealed audio of m, a call interrupted while
// it was recorded: the records written up to the first one cut short
// are kept and the file finished (repairSealed).
func (d *Dir) recoverSealed(m *Manifest, ended time.Time) (bool, error) {
	rec, path := m.Recording, d.SealedPath(m.ID)
	if fi, err := os.Stat(path); err == nil {
		ended = fi.ModTime().UTC()
	}
	key, err := d.dataKey(m.ID)
	if err != nil {
		return false, fmt.Errorf("repair %s: %w", filepath.Base(path), err)
	}
	pcm, cut, err := repairSealed(path, key)
	if err != nil && !errors.Is(err, ErrUnfinished) {
		return false, err
	}
	rec.CutShort = true
	rec.EndedAt = &ended
	rec.File = filepath.Base(path)
	if err != nil { // not even its header: no audio
		rec.Error = "recording file missing after interruption"
		m.State = StateDone
		return false, d.WriteManifest(m)
	}
	if cut > 0 {
		rec.Error = fmt.Sprintf("%d bytes after the last whole sealed record cut in repair", cut)
	}
	r, err := openSealed(path, key)
	if err != nil {
		return false, fmt.Errorf("repair %s: %w", rec.File, err)
	}
	defer r.Close()
	size, sum, err := hashReader(r)
	if err != nil {
		return false, err
	}
	rec.Duration = float64(pcm) / float64(r.s.rate*r.s.chans*2)
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

// RecordingPath is where a spool written before audio was sealed kept
// the recording of call id as a plain WAV file (see SealedPath).
func (d *Dir) RecordingPath(id string) string { return filepath.Join(d.path, id+".wav") }
