package main

import (
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
)

// TestWebhooksCommands: an admin lists the webhook events given up as a
// table and requeues them all; requeue without ids or -all is a usage
// error naming the problem; a supervisor is refused.
func TestWebhooksCommands(t *testing.T) {
	k := startKirokud(t)
	cat := k.d.Catalog()
	ev := &catalog.OutboxEvent{Recording: k.ids[0], Type: "recording.stored", Body: []byte(`{"id":"` + k.ids[0] + `"}`)}
	if err := catalog.AddOutbox(t.Context(), cat.DB(), ev); err != nil {
		t.Fatal(err)
	}
	if err := cat.OutboxDeadLetter(t.Context(), ev.ID, 100, time.Now(), "dial tcp 127.0.0.1:1: connection refused"); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := k.ctl(t, "adm", "webhooks", "dead")
	if code != 0 || !strings.HasPrefix(out, "EVENT") || !strings.Contains(out, ev.ID) || !strings.Contains(out, "connection refused") {
		t.Fatalf("webhooks dead: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := k.ctl(t, "adm", "webhooks", "requeue"); code != exitUsage || !strings.Contains(stderr, "-all") {
		t.Errorf("requeue without ids: exit %d %q", code, stderr)
	}
	if code, _, stderr := k.ctl(t, "sup", "webhooks", "requeue", "-all"); code != exitFail || !strings.Contains(stderr, "403") {
		t.Errorf("supervisor's requeue: exit %d %q", code, stderr)
	}
	if code, out, stderr := k.ctl(t, "adm", "webhooks", "requeue", "-all"); code != 0 || !strings.Contains(out, "requeued 1 event(s)") {
		t.Fatalf("requeue -all: exit %d\n%s%s", code, out, stderr)
	}
	evs, err := cat.Outbox(t.Context(), k.ids[0])
	if err != nil || len(evs) != 1 || evs[0].State != catalog.OutboxPending {
		t.Errorf("after requeue: %+v, %v; want the event pending", evs, err)
	}
	if code, out, _ := k.ctl(t, "adm", "help", "webhooks", "requeue"); code != 0 || !strings.Contains(out, "-all") {
		t.Errorf("help webhooks requeue: exit %d\n%s", code, out)
	}
}
