package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
)

// TestDeadEventsRequeue: an admin lists the webhook events given up
// (body as it would be delivered, tries, last error) and requeues one by
// id: it is pending again, due now, with no try counted, and an id that
// is not given up is answered as not_dead and left as it was; each call
// is audited with the token as actor; malformed bodies are 400 and
// change nothing.
func TestDeadEventsRequeue(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	add := func(rec string, dead bool) string {
		ev := &catalog.OutboxEvent{Recording: rec, Type: "recording.stored", Body: []byte(`{"id":"` + rec + `"}`)}
		if err := catalog.AddOutbox(ctx, e.cat.DB(), ev); err != nil {
			t.Fatal(err)
		}
		if dead {
			if err := e.cat.OutboxDeadLetter(ctx, ev.ID, 7, time.Now(), "status 503 Service Unavailable"); err != nil {
				t.Fatal(err)
			}
		}
		return ev.ID
	}
	dead1, dead2, pending := add("r1", true), add("r2", true), add("r3", false)

	var list apiclient.DeadEvents
	e.get("adm", "/api/v1/webhooks/dead", http.StatusOK, &list)
	if len(list.Events) != 2 || list.Truncated {
		t.Fatalf("got %+v, want the 2 given up", list)
	}
	for _, ev := range list.Events {
		if ev.Tries != 7 || ev.LastError != "status 503 Service Unavailable" || string(ev.Body) != `{"id":"`+ev.Recording+`"}` {
			t.Errorf("got %+v, want 7 tries, the last error and the body", ev)
		}
	}
	e.get("adm", "/api/v1/webhooks/dead?limit=1", http.StatusOK, &list)
	if len(list.Events) != 1 || !list.Truncated {
		t.Errorf("limit=1: got %+v, want one and truncated", list)
	}

	before := e.head()
	for _, body := range []any{
		map[string]any{},
		map[string]any{"all": true, "ids": []string{dead1}},
		map[string]any{"ids": []string{"evt_nothex"}},
		map[string]any{"ids": []string{dead1}, "actor": "someone"},
	} {
		if res, b := e.send("adm", http.MethodPost, "/api/v1/webhooks/dead/requeue", body); res.StatusCode != http.StatusBadRequest {
			t.Errorf("%v: got %d %s, want 400", body, res.StatusCode, b)
		}
	}
	if es := e.audit(before); len(es) != 0 {
		t.Errorf("bad requests audited %+v", es)
	}
	res, b := e.send("adm", http.MethodPost, "/api/v1/webhooks/dead/requeue", map[string]any{"ids": []string{dead1, pending}})
	var rq apiclient.RequeueResult
	if json.Unmarshal(b, &rq); res.StatusCode != 200 || !slices.Equal(rq.Requeued, []string{dead1}) || !slices.Equal(rq.NotDead, []string{pending}) {
		t.Fatalf("requeue: got %d %s, want %s requeued and %s not dead", res.StatusCode, b, dead1, pending)
	}
	evs, err := e.cat.Outbox(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		want := map[string]string{dead1: catalog.OutboxPending, dead2: catalog.OutboxDead, pending: catalog.OutboxPending}[ev.ID]
		if ev.State != want {
			t.Errorf("%s (%s): got state %s, want %s", ev.ID, ev.Recording, ev.State, want)
		}
		if ev.ID == dead1 && (ev.Tries != 0 || time.Until(ev.NextAt) > time.Second) {
			t.Errorf("requeued event: %d tries, due %v; want 0 and now", ev.Tries, ev.NextAt)
		}
	}
	es := e.audit(before)
	if len(es) != 1 || es[0].Action != audit.ActionWebhookRequeue || es[0].Actor != "adm" || !strings.Contains(es[0].Detail, dead1) {
		t.Errorf("got audit %+v, want one webhook-requeue by adm naming %s", es, dead1)
	}
	if res, b := e.send("po", http.MethodPost, "/api/v1/webhooks/dead/requeue", map[string]any{"all": true}); res.StatusCode != http.StatusForbidden {
		t.Errorf("privacy officer: got %d %s, want 403", res.StatusCode, b)
	}
}
