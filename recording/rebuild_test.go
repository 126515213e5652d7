package recording_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

func TestRebuildCatalog(t *testing.T) {
	e := newEnv(t, catalogtest.New(t, catalog.SQLite))
	var ids []string
	agents := map[string]string{} // id: the agent_id its manifest names
	for i := range 4 {
		m := e.call(t, 4000*i)
		if i%2 == 1 {
			m.AgentID, m.AgentIDSource = fmt.Sprintf("A-100%d", i), "header:X-Agent-Id"
			if err := e.spool.WriteManifest(m); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, m.ID)
		agents[m.ID] = m.AgentID
	}
	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	fresh, err := catalog.Open(t.Context(), filepath.Join(t.TempDir(), "rebuilt.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	res, err := recording.Rebuild(t.Context(), e.store, e.keys, fresh, e.cat)
	if err != nil || res.Restored != 4 || res.WithKeys != 4 || len(res.Skipped) != 0 {
		t.Fatalf("got %+v, %v; want 4 restored, all with keys", res, err)
	}
	for _, id := range ids {
		a, _ := e.cat.Get(t.Context(), id)
		b, err := fresh.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if a.AgentID != agents[id] || b.AgentID != agents[id] {
			t.Errorf("row %s: got agent_id %q uploaded, %q rebuilt, want %q", id, a.AgentID, b.AgentID, agents[id])
		}
		a.StoredAt, b.StoredAt = time.Time{}, time.Time{}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("row %s differs after rebuild:\n%s\n%s", id, ja, jb)
		}
		if b.ObjectKey != "" {
			if _, err := recording.OpenAudio(t.Context(), e.store, e.keys, b); err != nil {
				t.Errorf("rebuilt row %s does not open its audio: %v", id, err)
			}
		}
	}
	if n, err := audit.Verify(t.Context(), fresh.DB()); err != nil || n != 4 {
		t.Errorf("rebuilt audit: %d entries, %v", n, err)
	}
}

// TestStoredManifestHidesCaller: the manifest beside the audio names the
// caller only inside a part sealed with the recording's own key; without
// that key (erased) a copy of the manifest tells nothing about the caller,
// and a rebuild restores the row without the number.
func TestStoredManifestHidesCaller(t *testing.T) {
	e := newEnv(t, catalogtest.New(t, catalog.SQLite))
	m := e.call(t, 800)
	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec, _ := e.cat.Get(t.Context(), m.ID)
	obj, _ := e.store.Stat(t.Context(), rec.ManifestKey)
	mk, _ := e.keys.ManifestKey(obj.Meta["key-id"])
	r, err := crypt.NewRangeReader(mk, obj.Size, func(off, n int64) (io.ReadCloser, error) {
		return e.store.Get(t.Context(), rec.ManifestKey, off, n)
	})
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	r.WriteRange(&plain, 0, r.Size())
	if bytes.Contains(plain.Bytes(), []byte("0312345678")) || bytes.Contains(plain.Bytes(), []byte("345678")) {
		t.Fatal("the stored manifest shows the caller number to anyone with the master key")
	}
	// With the wrapped key gone (as erasure leaves it), a rebuild cannot
	// bring the number back.
	e.cat.DB().Exec(`UPDATE recordings SET wrapped_key = NULL, key_id = ''`)
	fresh, _ := catalog.Open(t.Context(), filepath.Join(t.TempDir(), "rebuilt.db"))
	defer fresh.Close()
	res, err := recording.Rebuild(t.Context(), e.store, e.keys, fresh, e.cat)
	if err != nil || res.Restored != 1 || res.WithKeys != 0 {
		t.Fatalf("rebuild: %+v %v", res, err)
	}
	got, _ := fresh.Get(t.Context(), m.ID)
	if got.Caller != "" || bytes.Contains(got.Manifest, []byte("0312345678")) {
		t.Errorf("rebuilt row carries the caller number without its key: %q", got.Caller)
	}
}
