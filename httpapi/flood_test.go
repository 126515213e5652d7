package httpapi

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestDenialFlood: 300 refused holds by one supervisor from one address
// make a bounded number of audit entries — the first 10 one by one, then
// one summary at the window's end counting the other 290 by route and
// status — and every one of the 300 is still answered 403. Another
// token's denial in the same window is audited on its own.
func TestDenialFlood(t *testing.T) {
	e := newEnv(t)
	w := seedWorld(e)
	e.api.flood = newDenialFlood(500*time.Millisecond, denialBurst, e.api.auditSuppressed)
	path := "/api/v1/recordings/" + w.quality + "/hold?reason=x"
	before := e.head()
	for i := range 300 {
		if res, _ := e.do("sup", "PUT", path, nil); res.StatusCode != http.StatusForbidden {
			t.Fatalf("denial %d: got %d, want 403", i, res.StatusCode)
		}
	}
	if got := e.audit(before); len(got) != denialBurst {
		t.Fatalf("during the window: %d audit entries, want the first %d", len(got), denialBurst)
	}
	if res, _ := e.do("aud", "PUT", path, nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("another token: got %d, want 403", res.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	var got []struct{ Actor, Detail string }
	for time.Now().Before(deadline) {
		got = got[:0]
		for _, en := range e.audit(before) {
			got = append(got, struct{ Actor, Detail string }{en.Actor, en.Detail})
		}
		if len(got) == denialBurst+2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) != denialBurst+2 {
		t.Fatalf("after the window: %d audit entries, want %d (the burst, the other token's, one summary)", len(got), denialBurst+2)
	}
	var sum struct {
		Count  int    `json:"count"`
		Client string `json:"client"`
		Routes []struct {
			Route string `json:"route"`
			Count int    `json:"count"`
		} `json:"routes"`
	}
	last := got[len(got)-1]
	if err := json.Unmarshal([]byte(last.Detail), &sum); err != nil {
		t.Fatal(err)
	}
	if last.Actor != "sup" || sum.Count != 300-denialBurst || sum.Client != "127.0.0.1" ||
		len(sum.Routes) != 1 || sum.Routes[0].Count != 300-denialBurst || sum.Routes[0].Route != "PUT /api/v1/recordings/{id}/hold 403" {
		t.Errorf("summary by %s: %+v, want sup's %d denials of the hold route", last.Actor, sum, 300-denialBurst)
	}
}
