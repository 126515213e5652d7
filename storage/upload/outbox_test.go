package upload_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/storage/upload"
	"github.com/kiroku-voice/kiroku/webhook"
)

// outboxUploader is e's uploader writing its events to the catalog's
// webhook outbox (nothing delivers them here).
func outboxUploader(e *env) *upload.Uploader {
	s := webhook.New(webhook.Options{URL: "http://127.0.0.1:1/", Key: []byte("0123456789abcdef"), Catalog: e.cat})
	return upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys, Outbox: s,
		RetainUntil: func(_, p string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), p == "cs-quality" }})
}

func outboxTypes(t *testing.T, e *env) (types []string, bodies []upload.Event) {
	t.Helper()
	evs, err := e.cat.Outbox(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		var b upload.Event
		if err := json.Unmarshal(ev.Body, &b); err != nil {
			t.Fatal(err)
		}
		types, bodies = append(types, ev.Type), append(bodies, b)
	}
	return types, bodies
}

// TestOutboxEvents: a call indexed without audio is announced by
// recording.stored and recording.no_audio with its consent decision,
// committed with its row; attempts failing while the store is down leave
// one recording.failed, which an erasure of the caller then drops with
// the recording.
func TestOutboxEvents(t *testing.T) {
	t.Run("no audio", func(t *testing.T) {
		e := newEnv(t, nil)
		e.up = outboxUploader(e)
		m, _ := e.call(t, 0)
		if err := e.up.Pass(t.Context()); err != nil {
			t.Fatal(err)
		}
		types, bodies := outboxTypes(t, e)
		if strings.Join(types, ",") != "recording.stored,recording.no_audio" {
			t.Fatalf("got events %v, want recording.stored then recording.no_audio", types)
		}
		if b := bodies[1]; b.ID != m.ID || b.Reason != "opted-out" {
			t.Errorf("got recording.no_audio %+v, want id %s and reason opted-out", b, m.ID)
		}
	})
	t.Run("failed, then erased", func(t *testing.T) {
		e := newEnv(t, nil)
		e.store = downStore{e.store}
		e.up = outboxUploader(e)
		m, _ := e.call(t, 8000)
		for range 3 {
			e.up.Pass(t.Context()) //nolint:errcheck // the store is down
		}
		types, bodies := outboxTypes(t, e)
		if strings.Join(types, ",") != "recording.failed" || bodies[0].ID != m.ID || !strings.Contains(bodies[0].Error, "connection refused") {
			t.Fatalf("got events %v %+v after 3 failed attempts, want one recording.failed saying why", types, bodies)
		}
		if err := catalog.AddErasure(t.Context(), e.cat.DB(), catalog.NumberMAC(e.keys.AuditKey(), m.Caller), time.Now(), "req-1"); err != nil {
			t.Fatal(err)
		}
		e.up.Pass(t.Context()) //nolint:errcheck // destroyed, not stored
		checkErased(t, e, m.ID, "req-1")
		if types, _ := outboxTypes(t, e); len(types) != 0 {
			t.Errorf("got events %v after the erasure, want none", types)
		}
	})
}
