package daemon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/storage/s3"
)

// callFrom starts one SIPp call from caller of hold on the echo line.
func callFrom(t *testing.T, d *Daemon, caller string, hold time.Duration) *sipptest.Process {
	t.Helper()
	return sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uac.xml"),
		Remote:   d.SIP().Listeners()[0].Addr.String(),
		Keys:     map[string]string{"dialled": "0120000001", "caller": caller, "rtp_port": strconv.Itoa(sipptest.FreePort(t, "udp"))},
		Duration: hold,
		Timeout:  30 * time.Second,
	})
}

// waitSIPp waits for p to end and fails the test if its call failed.
func waitSIPp(t *testing.T, p *sipptest.Process) {
	t.Helper()
	if res := p.Wait(t.Context()); res.Err() != nil {
		t.Fatalf("sipp: %v\n%s", res.Err(), res.Log)
	}
}

// recordingCalls returns the ids of the calls being recorded now.
func recordingCalls(d *Daemon) []string {
	var ids []string
	for _, c := range d.SIP().Calls() {
		if c.Recording == "recording" {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// eraseThroughAPI opens an erasure request for number as the privacy
// officer, reads its plan and erases with the plan's confirm; it returns
// the erasure's answer and the request's id.
func eraseThroughAPI(t *testing.T, d *Daemon, number string) (answer []byte, id string) {
	t.Helper()
	code, b := poDo(t, d, http.MethodPost, "/api/v1/requests", map[string]any{"kind": "erasure", "callers": []string{number},
		"verification": "運転免許証 照合番号 V-3", "requester": "本人"})
	if code != http.StatusCreated {
		t.Fatalf("create erasure: got %d %s", code, b)
	}
	var q struct{ ID string }
	if err := json.Unmarshal(b, &q); err != nil || q.ID == "" {
		t.Fatalf("create erasure: %s", b)
	}
	code, b = poDo(t, d, http.MethodGet, "/api/v1/requests/"+q.ID+"/erasure-plan", nil)
	if code != http.StatusOK {
		t.Fatalf("erasure plan: got %d %s", code, b)
	}
	var plan struct {
		Destroy []json.RawMessage `json:"destroy"`
		Confirm string            `json:"confirm"`
	}
	if err := json.Unmarshal(b, &plan); err != nil || plan.Confirm == "" {
		t.Fatalf("erasure plan: %s", b)
	}
	if len(plan.Destroy) != 0 {
		t.Errorf("erasure plan lists %d stored recordings to destroy, want none (nothing of the number is stored yet): %s", len(plan.Destroy), b)
	}
	code, b = poDo(t, d, http.MethodPost, "/api/v1/requests/"+q.ID+"/erase", map[string]string{"confirm": plan.Confirm})
	if code != http.StatusOK {
		t.Fatalf("erase: got %d %s", code, b)
	}
	return b, q.ID
}

// spoolFilesOf returns the names of the files in d's spool that belong
// to call id (its audio, manifests, keys, dialogs, temporaries).
func spoolFilesOf(t *testing.T, d *Daemon, id string) []string {
	t.Helper()
	entries, err := os.ReadDir(d.spool.Path())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), id) {
			out = append(out, e.Name())
		}
	}
	return out
}

// spooledEnded reports whether call id's final manifest, with its end,
// is in d's spool.
func spooledEnded(t *testing.T, d *Daemon, id string) bool {
	t.Helper()
	b, err := os.ReadFile(d.spool.ManifestPath(id))
	if err != nil {
		return false
	}
	var m struct {
		EndedAt *time.Time `json:"ended_at"`
	}
	return json.Unmarshal(b, &m) == nil && m.EndedAt != nil
}

// checkErasedCall checks that nothing of erased call id is left: no
// catalog row, no object in the store naming it, nothing in the spool,
// and one erase audit entry naming request and no number. It returns the
// recording of the other call, stored normally.
func checkErasedCall(t *testing.T, d *Daemon, id, other, request string) {
	t.Helper()
	if r, err := d.Catalog().Get(t.Context(), id); err == nil {
		t.Errorf("erased call indexed: %+v", r)
	}
	rec, err := d.Catalog().Get(t.Context(), other)
	if err != nil {
		t.Fatalf("the other number's call: %v, want it stored", err)
	}
	keys := objects(t, d)
	slices.Sort(keys)
	want := []string{rec.ObjectKey, rec.ManifestKey}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("store holds %q, want only the other call's %q", keys, want)
	}
	for _, k := range keys {
		if strings.Contains(k, id) {
			t.Errorf("store holds %s of the erased call", k)
		}
	}
	if f := spoolFilesOf(t, d, id); len(f) != 0 {
		t.Errorf("spool still holds %q of the erased call", f)
	}
	es, err := audit.List(t.Context(), d.Catalog().DB(), audit.Filter{Target: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Action != audit.ActionErase || !strings.Contains(es[0].Reason, request) ||
		strings.Contains(es[0].Reason+es[0].Detail, "0312345678") {
		t.Errorf("audit of the erased call %+v, want one erase entry naming %s and no number", es, request)
	}
	if es, _ := audit.List(t.Context(), d.Catalog().DB(), audit.Filter{Target: id, Action: string(audit.ActionStore)}); len(es) != 0 {
		t.Errorf("erased call audited as stored: %+v", es)
	}
}

// checkAnswer checks the erasure's answer says what becomes of the
// number's recordings not yet stored.
func checkAnswer(t *testing.T, answer []byte) {
	t.Helper()
	var a struct {
		Erased       []string `json:"erased"`
		NotYetStored string   `json:"not_yet_stored"`
	}
	if err := json.Unmarshal(answer, &a); err != nil || !strings.Contains(a.NotYetStored, "destroyed by the uploader") {
		t.Errorf("erase answered %s, want what becomes of the recordings not yet stored", answer)
	}
	if len(a.Erased) != 0 {
		t.Errorf("erase answered %s: stored recordings erased, want none", answer)
	}
}

// TestEraseDuringCall: an erasure made through the API while a call from
// the number is being recorded covers that call: after the hang-up it has
// no catalog row, no object in the store and nothing in the spool, and
// its erase is audited with the request. A call from another number at
// the same time is stored as usual.
func TestEraseDuringCall(t *testing.T) {
	d, _ := newDaemon(t)
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	erased := callFrom(t, d, "0312345678", 5*time.Second)
	waitFor(t, "the call being recorded", func() bool { return len(recordingCalls(d)) == 1 })
	id := recordingCalls(d)[0]
	other := callFrom(t, d, "0698765432", 5*time.Second)
	waitFor(t, "both calls being recorded", func() bool { return len(recordingCalls(d)) == 2 })
	var otherID string
	for _, c := range recordingCalls(d) {
		if c != id {
			otherID = c
		}
	}
	answer, request := eraseThroughAPI(t, d, "03-1234-5678")
	if n := d.SIP().ActiveCalls(); n != 2 {
		t.Fatalf("%d calls in progress after the erasure, want both still going (a longer hold is needed)", n)
	}
	checkAnswer(t, answer)
	waitSIPp(t, erased)
	waitSIPp(t, other)
	waitFor(t, "the other call stored", func() bool {
		_, err := d.Catalog().Get(t.Context(), otherID)
		return err == nil
	})
	waitFor(t, "the erased call gone from the spool", func() bool { return len(spoolFilesOf(t, d, id)) == 0 })
	checkErasedCall(t, d, id, otherID, request)
	if rs := stored(t, d); len(rs) != 1 {
		t.Errorf("catalog holds %d recordings, want the other number's only", len(rs))
	}
}

// TestEraseWhileStoreDown: with the store down a call from the number
// ends and waits in the spool; an erasure made through the API then
// covers it. When the store is back the uploader passes (another number's
// call, spooled in the same outage, is stored) and nothing of the erased
// call reaches the store, the catalog or stays in the spool.
func TestEraseWhileStoreDown(t *testing.T) {
	srv := s3test.Start(t)
	t.Setenv(s3.EnvAccessKey, srv.AccessKey)
	t.Setenv(s3.EnvSecretKey, srv.SecretKey)
	d, _ := newDaemon(t, fmt.Sprintf("storage:\n  backend: s3\n  s3: {endpoint: %q, bucket: %q, region: %q}\n", srv.Endpoint, srv.Bucket, srv.Region))
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	p := callFrom(t, d, "0312345678", time.Second)
	waitFor(t, "the call being recorded", func() bool { return len(recordingCalls(d)) == 1 })
	id := recordingCalls(d)[0]
	waitSIPp(t, p)
	waitFor(t, "the call ended", func() bool { return d.SIP().ActiveCalls() == 0 })
	p = callFrom(t, d, "0698765432", time.Second)
	var otherID string
	waitFor(t, "the other call being recorded", func() bool {
		for _, c := range recordingCalls(d) {
			if c != id {
				otherID = c
			}
		}
		return otherID != ""
	})
	waitSIPp(t, p)
	waitFor(t, "both calls ended and spooled", func() bool {
		return d.SIP().ActiveCalls() == 0 && spooledEnded(t, d, id) && spooledEnded(t, d, otherID)
	})
	if rs := stored(t, d); len(rs) != 0 {
		t.Fatalf("%d recordings stored with the store down", len(rs))
	}

	answer, request := eraseThroughAPI(t, d, "0312345678")
	checkAnswer(t, answer)
	if !spooledEnded(t, d, otherID) {
		t.Fatal("the other number's spooled call is gone at the erasure")
	}

	srv.Restart()
	// The uploader's back-off doubles from 1 s with full jitter; after a
	// few seconds of failures its next try can be up to 16 s away.
	deadline := time.Now().Add(45 * time.Second)
	for {
		_, err := d.Catalog().Get(t.Context(), otherID)
		if err == nil && len(spoolFilesOf(t, d, id)) == 0 && len(spoolFilesOf(t, d, otherID)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for the uploader's pass: other stored: %v; spool: %q %q", err == nil, spoolFilesOf(t, d, id), spoolFilesOf(t, d, otherID))
		}
		time.Sleep(50 * time.Millisecond)
	}
	checkErasedCall(t, d, id, otherID, request)
	if rs := stored(t, d); len(rs) != 1 {
		t.Errorf("catalog holds %d recordings, want the other number's only", len(rs))
	}
}
