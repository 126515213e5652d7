package recording_test

import (
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/recording"
)

func TestKeys(t *testing.T) {
	started := time.Date(2026, 11, 27, 23, 30, 0, 0, time.FixedZone("JST", 9*3600))
	for _, c := range []struct {
		name, client, audio, manifest string
	}{
		{"own line", "", "cs-quality/2026/11/27/id1.wav", "cs-quality/2026/11/27/id1.json"},
		{"client's line", "acme", "acme/cs-quality/2026/11/27/id1.wav", "acme/cs-quality/2026/11/27/id1.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, m := recording.Keys(c.client, "cs-quality", started.Add(time.Hour), "id1")
			if a != c.audio || m != c.manifest {
				t.Errorf("got %q %q, want %q %q", a, m, c.audio, c.manifest)
			}
			if got := recording.IDOfKey(a); got != "id1" {
				t.Errorf("IDOfKey(%q): got %q, want id1", a, got)
			}
			flac := recording.AudioKeyAs(a, ".flac")
			if want := c.audio[:len(c.audio)-len(".wav")] + ".flac"; flac != want {
				t.Errorf("AudioKeyAs(%q, .flac): got %q, want %q", a, flac, want)
			}
			if got := recording.IDOfKey(flac); got != "id1" {
				t.Errorf("IDOfKey(%q): got %q, want id1", flac, got)
			}
			if got := recording.AudioFile(&catalog.Recording{ID: "id1", ObjectKey: flac}); got != "id1.flac" {
				t.Errorf("AudioFile of %q: got %q, want id1.flac", flac, got)
			}
			if recording.IsManifestKey(a) || recording.IsManifestKey(flac) || !recording.IsManifestKey(m) {
				t.Errorf("IsManifestKey wrong for %q or %q", a, m)
			}
		})
	}
	if recording.IsManifestKey(recording.AuditPrefix + "checkpoint.json") {
		t.Error("an audit checkpoint taken for a manifest")
	}
	rec := &catalog.Recording{ManifestKey: "m.json"}
	if got := recording.ObjectKeys(rec); len(got) != 1 || got[0] != "m.json" {
		t.Errorf("ObjectKeys of a call not recorded: got %v", got)
	}
}
