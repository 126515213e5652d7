package httpapi

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
)

// TestWithheldCaller: a recording whose caller withheld the number (a
// trusted trunk's Privacy: id) shows "withheld" to a supervisor, in the
// list, the detail and its manifest, while a privacy officer sees the
// number, searches by it, and a disclosure request for it finds it.
func TestWithheldCaller(t *testing.T) {
	e := newEnv(t)
	now := time.Now().Add(-time.Hour)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: now, withheld: true},
		rec{purpose: "cs-quality", caller: "0399990000", seconds: 1, started: now.Add(time.Second)})

	for _, tc := range []struct {
		name, want string
	}{
		{"sup", "withheld"},
		{"po", "0312345678"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var list struct {
				Recordings []apiclient.Recording `json:"recordings"`
			}
			e.get(tc.name, "/api/v1/recordings?purpose=cs-quality", http.StatusOK, &list)
			var got *apiclient.Recording
			for i := range list.Recordings {
				if list.Recordings[i].ID == ids[0] {
					got = &list.Recordings[i]
				}
			}
			if got == nil || got.Caller != tc.want || !got.CallerWithheld {
				t.Fatalf("search as %s: got %+v, want caller %q, withheld", tc.name, got, tc.want)
			}
			var d apiclient.RecordingDetail
			e.get(tc.name, "/api/v1/recordings/"+ids[0], http.StatusOK, &d)
			var m map[string]any
			json.Unmarshal(d.Manifest, &m)
			if d.Caller != tc.want || m["caller"] != tc.want {
				t.Errorf("detail as %s: got caller %q, manifest caller %v; want %q", tc.name, d.Caller, m["caller"], tc.want)
			}
			if tc.name == "sup" && (m["caller_asserted"] != "withheld" || m["caller_from"] != "withheld" || strings.Contains(string(d.Manifest), "12345678")) {
				t.Errorf("manifest as supervisor: got %s, want no number", d.Manifest)
			}
			if tc.name == "po" && m["caller_asserted"] != "sip:0312345678@carrier.example" {
				t.Errorf("manifest as privacy officer: got asserted %v, want the URI", m["caller_asserted"])
			}
		})
	}
	// The other recording's caller did not withhold: masked as ever.
	var d apiclient.RecordingDetail
	e.get("sup", "/api/v1/recordings/"+ids[1], http.StatusOK, &d)
	if d.Caller != "0399****00" || d.CallerWithheld {
		t.Errorf("not withheld: got %q (withheld %v), want 0399****00", d.Caller, d.CallerWithheld)
	}

	var found struct {
		Recordings []apiclient.Recording `json:"recordings"`
	}
	e.get("po", "/api/v1/recordings?caller=%2B81312345678&purpose=cs-quality", http.StatusOK, &found)
	if len(found.Recordings) != 1 || found.Recordings[0].ID != ids[0] {
		t.Errorf("search by +81312345678: got %+v, want %s", found.Recordings, ids[0])
	}
	res, b := e.send("po", http.MethodPost, "/api/v1/requests/"+e.newRequest("disclosure", "+81312345678")+"/disclose", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("disclose: got %d %s", res.StatusCode, b)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if all := strings.Join(names, " "); !strings.Contains(all, ids[0]) || strings.Contains(all, ids[1]) {
		t.Errorf("disclosure holds %v, want %s only", names, ids[0])
	}
}
