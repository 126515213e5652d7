package incident_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/incident"
)

func TestMain(m *testing.M) { os.Exit(catalogtest.Main(m)) }

var t0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

// Recordings of the test, by name: two of acme (and one of acme deleted
// since), two of globex (one with the caller of acme's first), and one
// of no client.
const (
	a1 = "0192f3e4-0000-7000-8000-0000000000a1"
	a2 = "0192f3e4-0000-7000-8000-0000000000a2"
	a3 = "0192f3e4-0000-7000-8000-0000000000a3" // deleted (tombstone)
	g1 = "0192f3e4-0000-7000-8000-0000000000b1"
	g2 = "0192f3e4-0000-7000-8000-0000000000b2"
	n1 = "0192f3e4-0000-7000-8000-0000000000c1"
)

// step is one audit entry the test appends, at t0 plus its minute.
type step struct {
	name, actor, action, target, detail string
}

// steps: alice reads, plays, downloads and searches acme's recordings
// and is refused globex's; bob reads and downloads globex's, is refused
// acme's and reads a recording deleted since; adm plans acme's contract
// end and alice reads the audit log (entries about no recording).
var steps = []step{
	{"alice-view-a1", "alice", "view", a1, ""},
	{"alice-play-a1", "alice", "play", a1, ""},
	{"alice-download-a2", "alice", "download", a2, ""},
	{"alice-denied-g1", "alice", "denied", g1, ""},
	{"bob-view-g1", "bob", "view", g1, ""},
	{"bob-download-g2", "bob", "download", g2, ""},
	{"bob-denied-a1", "bob", "denied", a1, ""},
	{"alice-search", "alice", "search", "", `{"ids":["` + a1 + `","` + n1 + `"],"client":"127.0.0.1"}`},
	{"bob-view-a3", "bob", "view", a3, ""},
	{"alice-audit-read", "alice", "audit-read", "", `{"client":"127.0.0.1"}`},
	{"adm-plan-acme", "adm", "contract-end-plan", "client:acme", ""},
	{"retention-delete-a3", "retention", "delete", a3, ""},
}

// seed stores the recordings, deletes a3 and appends steps; it returns
// each step's sequence number by name.
func seed(t *testing.T, c *catalog.Catalog) map[string]int64 {
	t.Helper()
	for i, r := range []struct{ id, client, caller string }{
		{a1, "acme", "0311111111"}, {a2, "acme", "0322222222"}, {a3, "acme", "0366666666"},
		{g1, "globex", "0333333333"}, {g2, "globex", "0311111111"}, {n1, "", "0355555555"},
	} {
		rec := &catalog.Recording{ID: r.id, Client: r.client, Caller: r.caller, StartedAt: t0.Add(time.Duration(i) * time.Second),
			Line: "0120000001", Purpose: "cs", Decision: "notified", State: catalog.StateStored, RetainUntil: t0.AddDate(0, 0, 90),
			StoredAt: t0, ObjectKey: "recordings/" + r.id + ".sealed"}
		if r.id == a1 {
			rec.AgentID = "A-1001"
		}
		if err := catalog.PutRecording(t.Context(), c.DB(), rec); err != nil {
			t.Fatal(err)
		}
		if r.id == a3 {
			if err := catalog.Tombstone(t.Context(), c.DB(), rec, t0.Add(30*time.Minute), "retention", "retention"); err != nil {
				t.Fatal(err)
			}
		}
	}
	seqs := map[string]int64{}
	for i, s := range steps {
		e, err := audit.Append(t.Context(), c.DB(), audit.Entry{At: t0.Add(time.Duration(i+1) * time.Minute),
			Actor: s.actor, Action: audit.Action(s.action), Target: s.target, Detail: s.detail})
		if err != nil {
			t.Fatal(err)
		}
		seqs[s.name] = e.Seq
	}
	return seqs
}

// want is what a report must hold, by step name.
type want struct {
	records map[string][]string // recording id → its entries
	denied  []string
	other   []string
	callers []string
	unknown int // recordings deleted since
	// withheld are the recordings left out as not read (Query.Reads):
	// counted, named nowhere.
	withheld []string
}

// TestReport: by actor, by client, by time window and combined, a report
// lists exactly the recordings reached with their entries, the refused
// attempts and the entries about no recording apart, and the distinct
// callers (masked unless asked in clear), the same in JSON and CSV.
func TestReport(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		c := db.Open(t)
		seqs := seed(t, c)
		now := t0.Add(24 * time.Hour)
		for _, tc := range []struct {
			name string
			q    incident.Query
			want want
		}{
			{"actor alice", incident.Query{Actor: "alice", Clear: true}, want{
				records: map[string][]string{a1: {"alice-view-a1", "alice-play-a1", "alice-search"}, a2: {"alice-download-a2"}, n1: {"alice-search"}},
				denied:  []string{"alice-denied-g1"}, other: []string{"alice-audit-read"},
				callers: []string{"0311111111", "0322222222", "0355555555"},
			}},
			{"actor bob, masked", incident.Query{Actor: "bob"}, want{
				records: map[string][]string{g1: {"bob-view-g1"}, g2: {"bob-download-g2"}, a3: {"bob-view-a3"}},
				denied:  []string{"bob-denied-a1"},
				callers: []string{"0311****11", "0333****33"}, unknown: 1,
			}},
			{"client acme", incident.Query{Client: "acme", Clear: true}, want{
				records: map[string][]string{a1: {"alice-view-a1", "alice-play-a1", "alice-search"}, a2: {"alice-download-a2"},
					a3: {"bob-view-a3", "retention-delete-a3"}},
				denied: []string{"bob-denied-a1"}, other: []string{"adm-plan-acme"},
				callers: []string{"0311111111", "0322222222"}, unknown: 1,
			}},
			{"client globex, actor alice", incident.Query{Client: "globex", Actor: "alice", Clear: true}, want{
				records: map[string][]string{}, denied: []string{"alice-denied-g1"}, callers: []string{},
			}},
			{"window", incident.Query{From: t0.Add(4 * time.Minute), To: t0.Add(7 * time.Minute), Clear: true}, want{
				records: map[string][]string{g1: {"bob-view-g1"}, g2: {"bob-download-g2"}},
				denied:  []string{"alice-denied-g1"},
				callers: []string{"0311111111", "0333333333"},
			}},
			{"window, actor alice", incident.Query{Actor: "alice", From: t0.Add(3 * time.Minute), To: t0.Add(9 * time.Minute), Clear: true}, want{
				records: map[string][]string{a1: {"alice-search"}, a2: {"alice-download-a2"}, n1: {"alice-search"}},
				denied:  []string{"alice-denied-g1"},
				callers: []string{"0311111111", "0322222222", "0355555555"},
			}},
			{"globex reader, window", incident.Query{From: t0, View: []string{"globex"}, Clear: true}, want{
				records: map[string][]string{g1: {"bob-view-g1"}, g2: {"bob-download-g2"}},
				denied:  []string{"alice-denied-g1"},
				callers: []string{"0311111111", "0333333333"},
			}},
			{"actor alice, acme's not read", incident.Query{Actor: "alice", Clear: true, Reads: func(client, _ string) bool { return client != "acme" }}, want{
				records: map[string][]string{n1: {"alice-search"}},
				denied:  []string{"alice-denied-g1"}, other: []string{"alice-audit-read"},
				callers: []string{"0355555555"}, withheld: []string{a1, a2},
			}},
			{"client acme, none read", incident.Query{Client: "acme", Clear: true, Reads: func(string, string) bool { return false }}, want{
				records: map[string][]string{}, other: []string{"adm-plan-acme"},
				callers: []string{}, withheld: []string{a1, a2, a3},
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rep, err := incident.Build(t.Context(), c, tc.q, now)
				if err != nil {
					t.Fatal(err)
				}
				var js bytes.Buffer
				if err := rep.WriteJSON(&js); err != nil {
					t.Fatal(err)
				}
				var back incident.Report
				if err := json.Unmarshal(js.Bytes(), &back); err != nil {
					t.Fatalf("JSON: %v\n%s", err, js.Bytes())
				}
				checkJSON(t, &back, tc.want, seqs)
				var cs bytes.Buffer
				if err := rep.WriteCSV(&cs); err != nil {
					t.Fatal(err)
				}
				checkCSV(t, cs.String(), tc.want, seqs)
			})
		}
		if _, err := incident.Build(t.Context(), c, incident.Query{Clear: true}, now); err == nil {
			t.Error("a query of nothing was accepted")
		}
	})
}

// seqsOf maps step names to sequence numbers.
func seqsOf(seqs map[string]int64, names []string) []int64 {
	out := []int64{}
	for _, n := range names {
		s, ok := seqs[n]
		if !ok {
			panic("no step " + n)
		}
		out = append(out, s)
	}
	return out
}

// matched is every entry the report must count, in sequence order.
func (w want) matched(seqs map[string]int64) []int64 {
	var all []int64
	for _, es := range w.records {
		all = append(all, seqsOf(seqs, es)...)
	}
	all = append(append(all, seqsOf(seqs, w.denied)...), seqsOf(seqs, w.other)...)
	slices.Sort(all)
	return slices.Compact(all)
}

func checkJSON(t *testing.T, rep *incident.Report, w want, seqs map[string]int64) {
	t.Helper()
	var ids []string
	for _, r := range rep.Records {
		ids = append(ids, r.ID)
		var got []int64
		for _, e := range r.Entries {
			got = append(got, e.Seq)
		}
		if want := seqsOf(seqs, w.records[r.ID]); !slices.Equal(got, want) {
			t.Errorf("JSON: entries of %s: got %v, want %v", r.ID, got, want)
		}
		if r.ID == a3 && (r.State != "deleted" || r.Caller != "" || !strings.Contains(r.Deleted, "retention")) {
			t.Errorf("JSON: deleted recording shown as %+v", r)
		}
	}
	if want := slices.Sorted(maps.Keys(w.records)); !slices.Equal(ids, want) {
		t.Errorf("JSON: got recordings %v, want %v", ids, want)
	}
	entrySeqs := func(es []incident.Entry) []int64 {
		out := []int64{}
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	if got, want := entrySeqs(rep.Denied), seqsOf(seqs, w.denied); !slices.Equal(got, want) {
		t.Errorf("JSON: got denied %v, want %v", got, want)
	}
	if got, want := entrySeqs(rep.Other), seqsOf(seqs, w.other); !slices.Equal(got, want) {
		t.Errorf("JSON: got other entries %v, want %v", got, want)
	}
	if !slices.Equal(rep.Callers, w.callers) {
		t.Errorf("JSON: got callers %v, want %v", rep.Callers, w.callers)
	}
	if rep.CallersUnknown != w.unknown {
		t.Errorf("JSON: got %d recordings deleted since, want %d", rep.CallersUnknown, w.unknown)
	}
	if rep.Withheld != len(w.withheld) {
		t.Errorf("JSON: got %d recordings withheld, want %d", rep.Withheld, len(w.withheld))
	}
	for _, id := range w.withheld {
		for _, d := range rep.Denied {
			if d.Target == id {
				t.Errorf("JSON: a refused attempt names withheld %s", id)
			}
		}
	}
	m := w.matched(seqs)
	if rep.Entries != len(m) || rep.FirstSeq != m[0] || rep.LastSeq != m[len(m)-1] {
		t.Errorf("JSON: got %d entries, seq %d to %d; want %d, %d to %d", rep.Entries, rep.FirstSeq, rep.LastSeq, len(m), m[0], m[len(m)-1])
	}
}

func checkCSV(t *testing.T, out string, w want, seqs map[string]int64) {
	t.Helper()
	var comments, body []string
	for _, l := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(l, "#") {
			comments = append(comments, strings.TrimSpace(l))
		} else {
			body = append(body, l)
		}
	}
	var callers []string
	for _, c := range comments {
		if v, ok := strings.CutPrefix(c, "# caller: "); ok {
			callers = append(callers, v)
		}
	}
	if !slices.Equal(callers, w.callers) {
		t.Errorf("CSV: got callers %v, want %v", callers, w.callers)
	}
	m := w.matched(seqs)
	figures := fmt.Sprintf("# recordings: %d; audit entries: %d (seq %d to %d); callers: %d; recordings deleted since (numbers no longer held): %d; denied attempts: %d",
		len(w.records), len(m), m[0], m[len(m)-1], len(w.callers), w.unknown, len(w.denied))
	if !slices.Contains(comments, figures) {
		t.Errorf("CSV: figures %q missing from\n%s", figures, strings.Join(comments, "\n"))
	}
	withheld := fmt.Sprintf("# recordings withheld (of purposes not open to the reader's roles; touched, not listed): %d", len(w.withheld))
	if !slices.Contains(comments, withheld) {
		t.Errorf("CSV: %q missing from\n%s", withheld, strings.Join(comments, "\n"))
	}
	for _, id := range w.withheld {
		if strings.Contains(out, id) {
			t.Errorf("CSV: names withheld %s:\n%s", id, out)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(strings.Join(body, ""))).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, out)
	}
	if len(rows) == 0 || rows[0][0] != "recording" || rows[0][7] != "seq" || rows[0][11] != "kind" {
		t.Fatalf("CSV: no header in\n%s", out)
	}
	// Each row as recording/seq/kind, in the order written: recordings
	// in id order, each with its entries, then the denied attempts.
	var got, want []string
	for _, r := range rows[1:] {
		got = append(got, r[0]+"/"+r[7]+"/"+r[11])
	}
	for _, id := range slices.Sorted(maps.Keys(w.records)) {
		for _, n := range w.records[id] {
			want = append(want, id+"/"+strconv.FormatInt(seqs[n], 10)+"/"+kindOf(n))
		}
	}
	for _, n := range w.denied {
		var target string
		for _, s := range steps {
			if s.name == n {
				target = s.target
			}
		}
		want = append(want, target+"/"+strconv.FormatInt(seqs[n], 10)+"/"+incident.KindDenied)
	}
	if !slices.Equal(got, want) {
		t.Errorf("CSV: got rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// kindOf is the kind a report gives step n's entry.
func kindOf(n string) string {
	switch {
	case strings.Contains(n, "-download-"):
		return incident.KindExported
	case strings.Contains(n, "-delete-"):
		return incident.KindChanged
	}
	return incident.KindAccessed
}

// TestReportAgentID: a recording's agent id is in the report, in JSON
// and in the CSV's last column; one without is empty.
func TestReportAgentID(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		c := db.Open(t)
		seed(t, c)
		rep, err := incident.Build(t.Context(), c, incident.Query{Actor: "alice"}, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{a1: "A-1001", a2: "", n1: ""}
		got := map[string]string{}
		for _, r := range rep.Records {
			got[r.ID] = r.AgentID
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("JSON: got agent ids %v, want %v", got, want)
		}
		var b bytes.Buffer
		if err := rep.WriteCSV(&b); err != nil {
			t.Fatal(err)
		}
		var body []string
		for _, l := range strings.SplitAfter(b.String(), "\n") {
			if !strings.HasPrefix(l, "#") {
				body = append(body, l)
			}
		}
		rows, err := csv.NewReader(strings.NewReader(strings.Join(body, ""))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if last := rows[0][len(rows[0])-1]; last != "agent_id" {
			t.Fatalf("CSV: got last column %q, want agent_id", last)
		}
		for _, row := range rows[1:] {
			if w, ok := want[row[0]]; ok && row[len(row)-1] != w {
				t.Errorf("CSV row %v: got agent id %q, want %q", row, row[len(row)-1], w)
			}
		}
	})
}

// TestCSVInjection: a cell a spreadsheet would run as a formula (free
// text such as a reason or an actor's name starting with = + - @, a tab
// or a carriage return) is written with a leading single quote, and a
// line break in the query cannot start a line of its own.
func TestCSVInjection(t *testing.T) {
	at := t0
	rep := &incident.Report{Query: incident.Query{Actor: "x\n=HYPERLINK(\"http://evil\")"}, Generated: t0,
		Records: []*incident.Recording{{ID: a1, Client: "acme", State: "stored", Caller: "+81311111111", AgentID: "=HYPERLINK(\"http://evil\")", Entries: []incident.Entry{
			{Seq: 1, At: at, Actor: "@alice", Action: "view", Kind: "accessed", Reason: "=1+1"},
			{Seq: 2, At: at, Actor: "bob", Action: "download", Kind: "exported", Reason: "-2+3"},
			{Seq: 3, At: at, Actor: "bob", Action: "download", Kind: "exported", Reason: "\t=cmd"},
			{Seq: 4, At: at, Actor: "bob", Action: "download", Kind: "exported", Reason: "\r=cmd"},
			{Seq: 5, At: at, Actor: "bob", Action: "download", Kind: "exported", Reason: "苦情 = 対応"},
		}}},
		Denied: []incident.Entry{{Seq: 6, At: at, Actor: "+carol", Action: "denied", Kind: "denied", Target: a2, Reason: "@SUM(A1)"}}}
	var b bytes.Buffer
	if err := rep.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	var body []string
	for _, l := range strings.SplitAfter(b.String(), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			body = append(body, l)
		}
	}
	if !strings.HasPrefix(body[0], `"recording",`) {
		t.Fatalf("a line of the query escaped its '#' line:\n%s", b.String())
	}
	rows, err := csv.NewReader(strings.NewReader(strings.Join(body, ""))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		for _, c := range row {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("cell %q starts a formula", c)
			}
		}
	}
	for _, want := range []string{"'=1+1", "'-2+3", "'\t=cmd", "'\r=cmd", "苦情 = 対応", "'@alice", "'+carol", "'@SUM(A1)", "'+81311111111", `'=HYPERLINK("http://evil")`} {
		found := false
		for _, row := range rows {
			found = found || slices.Contains(row, want)
		}
		if !found {
			t.Errorf("no cell %q in\n%s", want, b.String())
		}
	}
}

// TestCSVCommentLinesStayOneCell: a caller string and a query with commas,
// semicolons and quotes ("x,=1+2", the From user part a caller chose)
// cannot open a cell of their own in a '#' line, where a spreadsheet
// would run it as a formula.
func TestCSVCommentLinesStayOneCell(t *testing.T) {
	rep := &incident.Report{Query: incident.Query{Actor: "a,=1+2", Client: "c;@SUM(A1)"}, Generated: t0,
		Callers: []string{"x,=1+2", "y\";=cmd|' /C calc'!A0", "0312345678"}}
	var b bytes.Buffer
	if err := rep.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		if strings.Contains(l, "\"") {
			t.Errorf("a '#' line opens a quoted cell: %q", l)
		}
		// The cells a spreadsheet would split it into (comma, or
		// semicolon in some locales): none may start a formula.
		for _, c := range strings.FieldsFunc(l, func(r rune) bool { return r == ',' || r == ';' || r == '\t' }) {
			if c = strings.TrimLeft(c, " "); c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
				t.Errorf("a '#' line has a cell %q a spreadsheet runs as a formula: %q", c, l)
			}
		}
	}
	if !strings.Contains(b.String(), "# caller: x =1+2\n") || !strings.Contains(b.String(), "# caller: 0312345678\n") {
		t.Errorf("callers not listed as expected:\n%s", b.String())
	}
}
