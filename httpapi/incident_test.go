package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/incident"
	"github.com/kiroku-voice/kiroku/internal/config"
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
	if rep := report("acme-po", "actor=acme-sup", 200); !slices.Equal(touched(rep), sortedIDs(a1, a2)) || len(rep.Denied) != 0 || len(rep.Other) != 0 {
		t.Errorf("acme-po: got %v, denied %v, other %v", touched(rep), rep.Denied, rep.Other)
	}
	// acme's limits let no auditor act on its data.
	report("acme-aud", "actor=acme-sup", http.StatusForbidden)
	report("acme-aud", "client=globex", http.StatusForbidden)
	report("sup", "actor=acme-sup", http.StatusForbidden)
	for _, bad := range []string{"", "actor=acme-sup&format=xml", "from=2026-05-02&to=2026-05-01", "client=nosuch", "actor=x&actor=y"} {
		report("po", bad, http.StatusBadRequest)
	}
	// CSV: the figures and callers as '#' lines, a row per entry.
	res, b := e.do("po", http.MethodGet, "/api/v1/incidents?actor=acme-sup&format=csv", nil)
	csv := string(b)
	// Every cell is quoted (csvsafe).
	if res.StatusCode != 200 || !strings.Contains(csv, "# caller: 0311111111\n") || !strings.Contains(csv, `"`+a2+`","acme","cs-quality",`) ||
		strings.Count(csv, "\n\""+a1+`",`) != 2 || !strings.Contains(csv, `"`+g+`","","","","","","","`) {
		t.Errorf("csv:\n%s", csv)
	}
}

// limitsConfig is the client tests' configuration with hooli, whose
// limits let supervisors and auditors only act on its data, and tokens
// holding roles that hooli's limits do not allow.
func limitsConfig(t *testing.T) *config.Config {
	t.Helper()
	y := clientYAML("  - {id: hooli, name: Hooli, limits: {roles: [supervisor, auditor]}}\n")
	for name, tk := range map[string]string{
		"hooli-supo":   "roles: [supervisor, privacy-officer], clients: [hooli]",
		"hooli-adm":    "roles: [admin], clients: [hooli]",
		"acme-hooli-r": "roles: [privacy-officer, auditor], clients: [acme, hooli]",
	} {
		y += fmt.Sprintf("    - {name: %s, %s, sha256: %s}\n", name, tk, hashHex(token(name)))
	}
	cfg, err := config.Parse([]byte(y), "clients.yaml", fstest.MapFS{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestIncidentClientLimits: a client-scoped token reads a client's part
// of the incident report only through the roles the client's
// limits.roles allow: a privacy officer and supervisor of hooli, whose
// limits allow supervisors and auditors, is refused (it does not get
// hooli's callers in clear); a token that is privacy officer and auditor
// for acme and hooli gets acme's callers in clear and hooli's masked.
func TestIncidentClientLimits(t *testing.T) { catalogtest.Each(t, testIncidentClientLimits) }

func testIncidentClientLimits(t *testing.T, db catalogtest.DB) {
	e := newEnvOn(t, db, t.TempDir(), mustFS(t), limitsConfig(t), nil)
	from := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	e.seed(rec{purpose: "cs-quality", client: "hooli", caller: "0311111111", seconds: 1},
		rec{purpose: "cs-quality", client: "acme", caller: "0322222222", seconds: 1})
	for _, q := range []string{"client=hooli", "from=" + from} {
		before := e.head()
		res, b := e.do("hooli-supo", http.MethodGet, "/api/v1/incidents?"+q, nil)
		if res.StatusCode != http.StatusForbidden || strings.Contains(string(b), "0311111111") {
			t.Errorf("hooli-supo %s: got %d %s, want 403", q, res.StatusCode, b)
		}
		if es := e.audit(before); len(es) != 1 || es[0].Action != "denied" || !strings.Contains(es[0].Detail+es[0].Reason, "hooli") {
			t.Errorf("hooli-supo %s: got audit %+v, want a denial naming hooli", q, es)
		}
	}
	res, b := e.do("acme-hooli-r", http.MethodGet, "/api/v1/incidents?from="+url.QueryEscape(from), nil)
	var rep incident.Report
	if err := json.Unmarshal(b, &rep); res.StatusCode != 200 || err != nil {
		t.Fatalf("acme-hooli-r: %d %s", res.StatusCode, b)
	}
	if want := []string{"0311****11", "0322222222"}; !slices.Equal(rep.Callers, want) {
		t.Errorf("acme-hooli-r: got callers %v, want hooli's masked and acme's in clear %v", rep.Callers, want)
	}
	for _, r := range rep.Records {
		if (r.Client == "hooli") != strings.Contains(r.Caller, "*") {
			t.Errorf("acme-hooli-r: recording of %s with caller %s", r.Client, r.Caller)
		}
	}
}

// TestIncidentReportTraced: an incident report's own audit entry keeps
// the ids of the recordings it revealed, as a search's does, so a later
// report on its reader lists them as accessed by it.
func TestIncidentReportTraced(t *testing.T) { catalogtest.Each(t, testIncidentReportTraced) }

func testIncidentReportTraced(t *testing.T, db catalogtest.DB) {
	e := newEnvOn(t, db, t.TempDir(), mustFS(t), limitsConfig(t), nil)
	from := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	ids := e.seed(rec{purpose: "cs-quality", client: "acme", caller: "0311111111", seconds: 1},
		rec{purpose: "cs-quality", caller: "0322222222", seconds: 1})
	before := e.head()
	if res, b := e.do("po", http.MethodGet, "/api/v1/incidents?from="+url.QueryEscape(from), nil); res.StatusCode != 200 {
		t.Fatalf("po: %d %s", res.StatusCode, b)
	}
	es := e.audit(before)
	var detail struct {
		IDs []string `json:"ids"`
	}
	if len(es) != 1 || es[0].Action != "incident-report" || json.Unmarshal([]byte(es[0].Detail), &detail) != nil {
		t.Fatalf("got audit %+v, want one incident-report entry", es)
	}
	if want := sortedIDs(ids...); !slices.Equal(detail.IDs, want) {
		t.Errorf("the entry's ids: got %v, want %v", detail.IDs, want)
	}
	res, b := e.do("aud", http.MethodGet, "/api/v1/incidents?actor=po", nil)
	var rep incident.Report
	if err := json.Unmarshal(b, &rep); res.StatusCode != 200 || err != nil {
		t.Fatalf("aud: %d %s", res.StatusCode, b)
	}
	var got []string
	for _, r := range rep.Records {
		got = append(got, r.ID)
		if len(r.Entries) != 1 || r.Entries[0].Action != "incident-report" || !r.Accessed {
			t.Errorf("%s: got %+v, want accessed by po's incident report", r.ID, r)
		}
	}
	if want := sortedIDs(ids...); !slices.Equal(got, want) {
		t.Errorf("recordings po's report revealed: got %v, want %v", got, want)
	}
}

// TestIncidentReportChecksPurposes: an incident report covers only the
// recordings the reader's roles may read, as a read would. To a privacy
// officer a recording of a purpose whose listeners do not name privacy
// officers (training) is left out — no row, no id, no caller, in the
// JSON, the CSV and the report's own audit entry — and counted
// (recordings_withheld, a '#' line in the CSV); a cs-quality one shows
// its caller in clear. To an auditor it is the other way round, with
// the training caller masked.
func TestIncidentReportChecksPurposes(t *testing.T) {
	e := newEnv(t)
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	ids := e.seed(rec{purpose: "training", caller: "0311111111", seconds: 1, started: start},
		rec{purpose: "cs-quality", caller: "0322222222", seconds: 1, started: start.Add(time.Minute)})
	for _, id := range ids {
		e.get("sup", "/api/v1/recordings/"+id, 200, nil)
	}
	for _, c := range []struct {
		who           string
		shown, hidden string
		caller        string // the shown one's caller as the report gives it
		hiddenCaller  string
	}{
		{"po", ids[1], ids[0], "0322222222", "0311111111"},
		{"aud", ids[0], ids[1], config.MaskNumber("0311111111"), "0322222222"},
	} {
		t.Run(c.who, func(t *testing.T) {
			before := e.head()
			res, b := e.do(c.who, http.MethodGet, "/api/v1/incidents?actor=sup", nil)
			if res.StatusCode != 200 {
				t.Fatalf("report: %d %s", res.StatusCode, b)
			}
			var rep incident.Report
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			if got := rep.IDs(); !slices.Equal(got, []string{c.shown}) {
				t.Errorf("recordings: got %v, want only %s", got, c.shown)
			}
			if len(rep.Records) == 1 && rep.Records[0].Caller != c.caller {
				t.Errorf("caller: got %q, want %q", rep.Records[0].Caller, c.caller)
			}
			if !slices.Equal(rep.Callers, []string{c.caller}) {
				t.Errorf("callers: got %v, want [%s]", rep.Callers, c.caller)
			}
			if rep.Withheld != 1 {
				t.Errorf("recordings_withheld: got %d, want 1", rep.Withheld)
			}
			masked := config.MaskNumber(c.hiddenCaller)
			for _, leak := range []string{c.hidden, c.hiddenCaller, masked} {
				if strings.Contains(string(b), leak) {
					t.Errorf("the JSON names %q, of a purpose not open to %s:\n%s", leak, c.who, b)
				}
			}
			var entries int
			for _, en := range e.audit(before) {
				if en.Action == "incident-report" {
					entries++
					if strings.Contains(en.Detail, c.hidden) || !strings.Contains(en.Detail, c.shown) || !strings.Contains(en.Detail, `"withheld":1`) {
						t.Errorf("the report's audit entry: got %s, want %s listed, %s not, withheld 1", en.Detail, c.shown, c.hidden)
					}
				}
			}
			if entries != 1 {
				t.Errorf("got %d incident-report audit entries, want 1", entries)
			}
			res, b = e.do(c.who, http.MethodGet, "/api/v1/incidents?actor=sup&format=csv", nil)
			csv := string(b)
			if res.StatusCode != 200 || !strings.Contains(csv, c.shown) || !strings.Contains(csv, c.caller) {
				t.Errorf("CSV: got %d %s, want %s with caller %s", res.StatusCode, csv, c.shown, c.caller)
			}
			for _, leak := range []string{c.hidden, c.hiddenCaller, masked} {
				if strings.Contains(csv, leak) {
					t.Errorf("the CSV names %q, of a purpose not open to %s:\n%s", leak, c.who, csv)
				}
			}
			if !strings.Contains(csv, "\n# recordings withheld (of purposes not open to the reader's roles; touched, not listed): 1\n") {
				t.Errorf("CSV: want a '#' line counting the withheld recording:\n%s", csv)
			}
		})
	}
}
