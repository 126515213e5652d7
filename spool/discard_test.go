package spool

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRecoverDiscardsUnnamedAudio: audio is written before the manifest
// that names it is durable (Audio.Create), so a crash can leave sealed
// audio and data keys no durable manifest names. Recover removes each
// and reports it with the bytes removed: without a manifest at all;
// beside a manifest from before the recording (which it finishes as not
// recorded, saying what was removed); beside a final manifest that says
// the call was not recorded. Audio its manifest names is repaired, not
// removed, and a second Recover finds nothing more to do.
func TestRecoverDiscardsUnnamedAudio(t *testing.T) {
	d := sealedSpool(t)
	now := time.Now().UTC()
	record := func(id string) int64 {
		w := recordPCM(t, d, id, pattern(1600*3), 6400)
		w.f.Close() // killed
		fi, err := os.Stat(d.SealedPath(id))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	write := func(m *Manifest) {
		if err := d.WriteManifest(m); err != nil {
			t.Fatal(err)
		}
	}
	orphan := record("orphan")
	if _, err := d.NewAudio("keyonly", "", 8000, nil); err != nil {
		t.Fatal(err)
	}
	waitFile(t, d.keyPath("keyonly"))
	early := record("early")
	write(&Manifest{ID: "early", State: StateBridging, StartedAt: now, Consent: Consent{Decision: Notified}})
	failed := record("failed")
	write(&Manifest{ID: "failed", State: StateDone, StartedAt: now, EndedAt: &now, NotRecorded: "spool error: keep the data key"})
	record("named")
	write(&Manifest{ID: "named", State: StateActive, StartedAt: now, Recording: &Recording{File: "named" + SealedExt, Format: RecordingFormat}})

	rs, err := d.Recover()
	if err != nil {
		t.Fatal(err)
	}
	discarded := map[string]int64{}
	for _, r := range rs {
		if r.Err != nil {
			t.Errorf("%s: %v", r.ID, r.Err)
		}
		if r.Discarded {
			discarded[r.ID] = r.Bytes
		}
	}
	want := map[string]int64{"orphan": orphan, "keyonly": 0, "early": early, "failed": failed}
	if len(discarded) != len(want) {
		t.Errorf("discarded %v, want %v", discarded, want)
	}
	for id, n := range want {
		if got, ok := discarded[id]; !ok || got != n {
			t.Errorf("%s: discarded %v (%d bytes), want %d bytes", id, ok, got, n)
		}
		for _, p := range []string{d.SealedPath(id), d.keyPath(id)} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s left in the spool (%v)", p, err)
			}
		}
	}
	m, err := d.ReadManifest("early")
	if err != nil {
		t.Fatal(err)
	}
	if m.State != StateDone || m.Recording != nil || !strings.Contains(m.NotRecorded, "bytes of sealed audio") {
		t.Errorf("early: state %q recording %v not recorded %q; want done, saying the audio was removed", m.State, m.Recording, m.NotRecorded)
	}
	if m, err := d.ReadManifest("failed"); err != nil || m.NotRecorded != "spool error: keep the data key" {
		t.Errorf("failed: %v, %+v; want its final manifest as it was", err, m)
	}
	if m, err := d.ReadManifest("named"); err != nil || m.State != StateSpooled || m.Recording == nil {
		t.Errorf("named: %v, %+v; want its recording repaired and spooled", err, m)
	}
	again, err := d.Recover()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again {
		if r.Discarded || r.Err != nil {
			t.Errorf("second Recover: %+v", r)
		}
	}
}

// waitFile waits for a queued write to reach path.
func waitFile(t *testing.T, path string) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s never written", path)
}
