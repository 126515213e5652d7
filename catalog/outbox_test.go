package catalog_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
)

// TestOutbox: events are claimed once while their claim lasts, retried,
// dead-lettered and counted, added once while one of their kind waits,
// and dropped with the recording they are about when it is destroyed.
func TestOutbox(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		c := db.Open(t)
		ctx := t.Context()
		if err := catalog.PutRecording(ctx, c.DB(), rec(1, "a", "0311111111")); err != nil {
			t.Fatal(err)
		}
		add := func(recording, kind string) *catalog.OutboxEvent {
			t.Helper()
			e := &catalog.OutboxEvent{Recording: recording, Type: kind, Body: []byte(`{"id":"` + recording + `"}`)}
			if err := c.Tx(ctx, func(tx *sql.Tx) error { return catalog.AddOutbox(ctx, tx, e) }); err != nil {
				t.Fatal(err)
			}
			return e
		}
		stored := add("rec-001", "recording.stored")
		other := add("rec-002", "recording.stored")
		if stored.ID == other.ID || stored.ID == "" {
			t.Fatalf("got ids %q and %q, want two distinct", stored.ID, other.ID)
		}

		now := time.Now()
		got, err := c.ClaimOutbox(ctx, now, time.Minute, 10)
		if err != nil || len(got) != 2 || got[0].ID != stored.ID || string(got[0].Body) != `{"id":"rec-001"}` {
			t.Fatalf("got claim %+v, %v, want both events, oldest first, as added", got, err)
		}
		if again, err := c.ClaimOutbox(ctx, now, time.Minute, 10); err != nil || len(again) != 0 {
			t.Errorf("got a second claim of %d (%v), want none while the first lasts", len(again), err)
		}
		if after, err := c.ClaimOutbox(ctx, now.Add(2*time.Minute), time.Minute, 10); err != nil || len(after) != 2 {
			t.Errorf("got %d claimed after the claim ended (%v), want 2", len(after), err)
		}

		if err := c.OutboxRetry(ctx, other.ID, 3, now.Add(time.Hour), "status 503"); err != nil {
			t.Fatal(err)
		}
		if err := c.OutboxDelivered(ctx, stored.ID); err != nil {
			t.Fatal(err)
		}
		st, err := c.OutboxFigures(ctx)
		if err != nil || st.Pending != 1 || st.Dead != 0 || !st.Oldest.Equal(other.CreatedAt.Truncate(time.Microsecond)) {
			t.Errorf("got figures %+v, %v, want 1 pending since %v", st, err, other.CreatedAt)
		}
		if next, ok, err := c.NextOutboxDue(ctx); err != nil || !ok || next.Before(now.Add(59*time.Minute)) {
			t.Errorf("got next due %v, %v, %v, want in an hour", next, ok, err)
		}
		if err := c.OutboxDeadLetter(ctx, other.ID, 4, now, "status 503"); err != nil {
			t.Fatal(err)
		}
		if st, _ := c.OutboxFigures(ctx); st.Pending != 0 || st.Dead != 1 || !st.Oldest.IsZero() {
			t.Errorf("got figures %+v, want 1 dead, none pending", st)
		}
		if _, ok, _ := c.NextOutboxDue(ctx); ok {
			t.Error("a dead event is due, want none")
		}

		for i, want := range []bool{true, false} {
			added, err := c.AddOutboxOnce(ctx, &catalog.OutboxEvent{Recording: "rec-001", Type: "recording.failed", Body: []byte(`{}`)})
			if err != nil || added != want {
				t.Errorf("recording.failed #%d: got added %v (%v), want %v", i+1, added, err, want)
			}
		}
		add("rec-001", "recording.stored")

		err = c.Tx(ctx, func(tx *sql.Tx) error {
			ts, err := catalog.NewTombstoner(ctx, tx)
			if err != nil {
				return err
			}
			defer ts.Close()
			_, err = ts.Shred(ctx, "rec-001", now, "erasure", "privacy", func(*catalog.Recording) error { return nil })
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		left, err := c.Outbox(ctx, "")
		if err != nil || len(left) != 1 || left[0].Recording != "rec-002" || left[0].State != catalog.OutboxDead {
			t.Errorf("got outbox %+v (%v) after rec-001 was destroyed, want only rec-002's dead event", left, err)
		}
	})
}
