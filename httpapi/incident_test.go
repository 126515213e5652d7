package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/incident"
)

// TestIncidentReport: the report for a token lists exactly the
// recordings that token touched (listed by a search, viewed, downloaded),
// with its audit entries, its refused attempts apart, and the distinct
// caller numbers affected: in clear for a privacy officer, masked for an
// auditor; a client-scoped reader sees only its clients' part.
func TestIncidentReport(t *testing.T) { catalogtest.Each(t, testIncidentReport) }

func testIncidentReport(t *testing.T, db catalogtest.DB) {
	e := newS3Env(t, db)
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	ids := e.seed(rec{purpose: "cs-quality", client: "acme", caller: "0311111111", seconds: 1, started: start},
		rec{purpose: "cs-quality", client: "acme", caller: "0322222222", seconds: 1, started: start.Add(time.Minute)},
		rec{purpose: "cs-quality", client: "acme", caller: "0333333333", seconds: 1, started: start.Add(2 * time.Minute)},
		rec{purpose: "cs-quality", client: "globex", caller: "0344444444", seconds: 1, started: start},
		rec{purpose: "cs-quality", caller: "0355555555", seconds: 1, started: start})
	a1, a2, a3, g, own := ids[0], ids[1], ids[2], ids[3], ids[4]
	// What acme-sup does: a search listing a1 only, a view of a1, a
	// download of a2, and an attempt on globex's recording.
	q := url.Values{"from": {start.Add(-time.Second).Format(time.RFC3339)}, "to": {start.Add(time.Second).Format(time.RFC3339)}}
	if res, b := e.do("acme-sup", http.MethodGet, "/api/v1/recordings?"+q.Encode(), nil); res.StatusCode != 200 || !slices.Equal(idsOf(b), []string{a1}) {
		t.Fatalf("search: %d %s", res.StatusCode, b)
	}
	e.get("acme-sup", "/api/v1/recordings/"+a1, 200, nil)
	if res, _ := e.do("acme-sup", http.MethodGet, "/api/v1/recordings/"+a2+"/audio?download=1&reason=complaint", nil); res.StatusCode != 200 {
		t.Fatalf("download: %d", res.StatusCode)
	}
	if res, _ := e.do("acme-sup", http.MethodGet, "/api/v1/recordings/"+g, nil); res.StatusCode != 404 {
		t.Fatalf("globex: %d", res.StatusCode)
	}
	// Others act too, on other recordings.
	e.get("sup", "/api/v1/recordings/"+own, 200, nil)
	if res, _ := e.send("acme-po", http.MethodPut, "/api/v1/recordings/"+a3+"/hold", map[string]any{"reason": "x"}); res.StatusCode != 200 {
		t.Fatal("hold")
	}

	report := func(who, query string, want int) *incident.Report {
		t.Helper()
		res, b := e.do(who, http.MethodGet, "/api/v1/incidents?"+query, nil)
		if res.StatusCode != want {
			t.Fatalf("%s %s: got %d %s, want %d", who, query, res.StatusCode, b, want)
		}
		if want != 200 {
			return nil
		}
		var rep incident.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		return &rep
	}
	touched := func(rep *incident.Report) []string {
		var out []string
		for _, r := range rep.Records {
			out = append(out, r.ID)
		}
		return out
	}
	rep := report("po", "actor=acme-sup", 200)
	if got := touched(rep); !slices.Equal(got, sortedIDs(a1, a2)) {
		t.Errorf("recordings acme-sup touched: got %v, want %v", got, sortedIDs(a1, a2))
	}
	if !slices.Equal(rep.Callers, []string{"0311111111", "0322222222"}) {
		t.Errorf("got callers %v", rep.Callers)
	}
	for _, r := range rep.Records {
		var actions []string
		for _, en := range r.Entries {
			actions = append(actions, en.Action)
			if en.Actor != "acme-sup" {
				t.Errorf("entry %+v is not acme-sup's", en)
			}
		}
		switch r.ID {
		case a1:
			if !slices.Equal(actions, []string{"search", "view"}) || !r.Accessed || r.Exported || r.Changed {
				t.Errorf("a1: %v %+v", actions, r)
			}
		case a2:
			if !slices.Equal(actions, []string{"download"}) || !r.Exported {
				t.Errorf("a2: %v %+v", actions, r)
			}
		}
	}
	if len(rep.Denied) != 1 || rep.Denied[0].Target != g {
		t.Errorf("got denied %+v, want the attempt on globex's recording", rep.Denied)
	}
	// An auditor sees the numbers masked.
	if rep := report("aud", "actor=acme-sup", 200); !slices.Equal(rep.Callers, []string{"0311****11", "0322****22"}) {
		t.Errorf("auditor: got callers %v", rep.Callers)
	}
	// By client: every acme recording anyone touched (kirokud stored all).
	if rep := report("po", "client=acme", 200); !slices.Equal(touched(rep), sortedIDs(a1, a2, a3)) {
		t.Errorf("client acme: got %v", touched(rep))
	}
	// A scoped reader gets its clients' part only.
	if rep := report("acme-aud", "actor=acme-sup", 200); !slices.Equal(touched(rep), sortedIDs(a1, a2)) || len(rep.Denied) != 0 || len(rep.Other) != 0 {
		t.Errorf("acme-aud: got %v, denied %v, other %v", touched(rep), rep.Denied, rep.Other)
	}
	report("acme-aud", "client=globex", http.StatusForbidden)
	report("sup", "actor=acme-sup", http.StatusForbidden)
	for _, bad := range []string{"", "actor=acme-sup&format=xml", "from=2026-05-02&to=2026-05-01", "client=nosuch", "actor=x&actor=y"} {
		report("po", bad, http.StatusBadRequest)
	}
	// CSV: the figures and callers as '#' lines, a row per entry.
	res, b := e.do("po", http.MethodGet, "/api/v1/incidents?actor=acme-sup&format=csv", nil)
	csv := string(b)
	if res.StatusCode != 200 || !strings.Contains(csv, "# caller: 0311111111\n") || !strings.Contains(csv, a2+",acme,cs-quality,") ||
		strings.Count(csv, "\n"+a1+",") != 2 || !strings.Contains(csv, g+",,,,,,,") {
		t.Errorf("csv:\n%s", csv)
	}
}
