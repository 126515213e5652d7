package daemon

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
)

// poDo sends method path with body as the privacy officer and returns
// the answer's status and body.
func poDo(t *testing.T, d *Daemon, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, "http://"+d.APIAddr().String()+path, r)
	req.Header.Set("Authorization", "Bearer "+testPOToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// answerRequest opens a data-subject request of kind for number and acts
// on it through act (stop-use, resume-use); it returns the answer's body.
func answerRequest(t *testing.T, d *Daemon, kind, act, number string) []byte {
	t.Helper()
	code, b := poDo(t, d, http.MethodPost, "/api/v1/requests", map[string]any{"kind": kind, "callers": []string{number},
		"verification": "運転免許証 照合番号 V-2", "requester": "本人"})
	if code != http.StatusCreated {
		t.Fatalf("create %s: got %d %s", kind, code, b)
	}
	var q struct{ ID string }
	if err := json.Unmarshal(b, &q); err != nil || q.ID == "" {
		t.Fatalf("create %s: %s", kind, b)
	}
	code, b = poDo(t, d, http.MethodPost, "/api/v1/requests/"+q.ID+"/"+act, nil)
	if code != http.StatusOK {
		t.Fatalf("%s: got %d %s", act, code, b)
	}
	return b
}

// TestStopUseDuringCall: a stop of use made through the API while a call
// from the number is being recorded covers that call: its recording is
// stored restricted. After a resume of use, a new call from the number is
// stored usable.
func TestStopUseDuringCall(t *testing.T) {
	d, _ := newDaemon(t)
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	p := sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uac.xml"),
		Remote:   d.SIP().Listeners()[0].Addr.String(),
		Keys:     map[string]string{"dialled": "0120000001", "caller": "0312345678", "rtp_port": strconv.Itoa(sipptest.FreePort(t, "udp"))},
		Duration: 4 * time.Second,
		Timeout:  30 * time.Second,
	})
	waitFor(t, "the call being recorded", func() bool {
		for _, c := range d.SIP().Calls() {
			if c.Recording == "recording" {
				return true
			}
		}
		return false
	})
	answer := answerRequest(t, d, "stop-of-use", "stop-use", "03-1234-5678")
	if n := d.SIP().ActiveCalls(); n != 1 {
		t.Fatalf("%d calls in progress after the stop, want the one still going (a longer hold is needed)", n)
	}
	var ch struct {
		Recordings   []string `json:"recordings"`
		NotYetStored string   `json:"not_yet_stored"`
	}
	if err := json.Unmarshal(answer, &ch); err != nil || ch.NotYetStored == "" {
		t.Errorf("stop-use answered %s, want what becomes of recordings not yet stored", answer)
	}
	if res := p.Wait(t.Context()); res.Err() != nil {
		t.Fatalf("sipp: %v\n%s", res.Err(), res.Log)
	}
	waitFor(t, "the recording stored", func() bool { return len(stored(t, d)) == 1 })
	first := stored(t, d)[0]
	if first.State != catalog.StateRestricted {
		t.Errorf("a call in progress at the stop: stored as %q, want %q", first.State, catalog.StateRestricted)
	}

	answerRequest(t, d, "resume-use", "resume-use", "0312345678")
	if r, err := d.Catalog().Get(t.Context(), first.ID); err != nil || r.State != catalog.StateStored {
		t.Errorf("after resume-use: got %+v, %v; want the recording stored", r, err)
	}
	call(t, d, time.Second)
	waitFor(t, "the second recording stored", func() bool { return len(stored(t, d)) == 2 })
	for _, r := range stored(t, d) {
		if r.ID != first.ID && r.State != catalog.StateStored {
			t.Errorf("a call after resume-use: stored as %q, want %q", r.State, catalog.StateStored)
		}
	}
}
