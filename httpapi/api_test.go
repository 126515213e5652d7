package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
)

type searchJSON struct {
	Recordings []apiclient.Recording `json:"recordings"`
	NextCursor string                `json:"next_cursor"`
}

func ids(rs []apiclient.Recording) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestAuthentication: no token and a bad token are 401 with a Bearer
// challenge; a good one is accepted; probes need none.
func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"none", "", http.StatusUnauthorized},
		{"unknown token", "Bearer tok-nobody", http.StatusUnauthorized},
		{"basic scheme", "Basic dXNlcjpwYXNz", http.StatusUnauthorized},
		{"empty bearer", "Bearer ", http.StatusUnauthorized},
		{"huge token", "Bearer " + strings.Repeat("x", maxTokenLen+1), http.StatusUnauthorized},
		{"good token, scheme any case", "bearer " + token("sup"), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, b := e.do("", "GET", "/api/v1/me", map[string]string{"Authorization": tc.auth})
			if res.StatusCode != tc.want {
				t.Fatalf("got %d %s, want %d", res.StatusCode, b, tc.want)
			}
			if tc.want == http.StatusUnauthorized && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), `Bearer realm="kiroku"`) {
				t.Errorf("got WWW-Authenticate %q, want a Bearer challenge", res.Header.Get("WWW-Authenticate"))
			}
		})
	}
	var me struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
		Can   map[string]bool
	}
	e.get("po", "/api/v1/me", http.StatusOK, &me)
	if me.Name != "po" || !me.Can["hold"] || me.Can["audit"] {
		t.Errorf("got me %+v", me)
	}
	for _, p := range []string{"/healthz", "/readyz", "/api/v1/healthz", "/api/v1/readyz"} {
		e.get("", p, http.StatusOK, nil)
	}
}

// TestFailedAuthLimited: an address that keeps presenting bad tokens is
// answered 429 for a while, even with a good token.
func TestFailedAuthLimited(t *testing.T) {
	e := newEnv(t)
	for range 20 {
		if res, _ := e.do("", "GET", "/api/v1/me", map[string]string{"Authorization": "Bearer wrong"}); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("got %d, want 401", res.StatusCode)
		}
	}
	res, _ := e.do("sup", "GET", "/api/v1/me", nil)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("got %d (Retry-After %q) after 20 failures, want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

// world seeds one recording of each kind the role tests need.
type world struct {
	quality, qualityOptOut, complaint, training, qualityRestricted, trainingRestricted string
}

func seedWorld(e *env) world {
	now := time.Now().Add(-time.Hour)
	ids := e.seed(
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: now},
		rec{purpose: "cs-quality", caller: "0312345679", decision: spool.OptedOut, started: now.Add(time.Second)},
		rec{purpose: "complaints", caller: "0398765432", seconds: 1, started: now.Add(2 * time.Second)},
		rec{purpose: "training", caller: "0311112222", seconds: 1, started: now.Add(3 * time.Second)},
		rec{purpose: "cs-quality", caller: "0399990000", seconds: 1, started: now.Add(4 * time.Second)},
		rec{purpose: "training", caller: "0399990001", seconds: 1, started: now.Add(5 * time.Second)},
	)
	w := world{ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]}
	e.restrict(w.qualityRestricted, w.trainingRestricted)
	return w
}

// TestRolesSeeTheirPurposes: each role finds exactly the recordings whose
// purpose names it; restricted ones only privacy officers; caller numbers
// only privacy officers unmasked.
func TestRolesSeeTheirPurposes(t *testing.T) {
	e := newEnv(t)
	w := seedWorld(e)
	for _, tc := range []struct {
		token  string
		want   []string
		masked bool
	}{
		{"sup", sorted(w.quality, w.qualityOptOut, w.training), true},
		{"po", sorted(w.quality, w.qualityOptOut, w.complaint, w.qualityRestricted), false},
		{"aud", sorted(w.training), true},
		{"multi", sorted(w.quality, w.qualityOptOut, w.complaint, w.training, w.qualityRestricted), false},
	} {
		t.Run(tc.token, func(t *testing.T) {
			var res searchJSON
			e.get(tc.token, "/api/v1/recordings", http.StatusOK, &res)
			if got := ids(res.Recordings); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for _, r := range res.Recordings {
				masked := strings.Contains(r.Caller, "*")
				wantMasked := tc.masked || (tc.token == "multi" && r.Purpose == "training")
				if masked != wantMasked || r.CallerMasked != wantMasked {
					t.Errorf("%s (%s): got caller %q masked=%v, want masked=%v", r.ID, r.Purpose, r.Caller, r.CallerMasked, wantMasked)
				}
			}
			for _, id := range tc.want {
				var d apiclient.RecordingDetail
				e.get(tc.token, "/api/v1/recordings/"+id, http.StatusOK, &d)
				if d.ID != id || len(d.Consent) < 10 {
					t.Errorf("got detail %+v", d)
				}
				var m map[string]any
				json.Unmarshal(d.Manifest, &m)
				if c, _ := m["caller"].(string); c != d.Caller {
					t.Errorf("%s: manifest caller %q differs from caller %q", id, c, d.Caller)
				}
			}
		})
	}
	// The admin role is named by no purpose: no recordings at all.
	res, b := e.do("adm", "GET", "/api/v1/recordings", nil)
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("admin search: got %d %s, want 403", res.StatusCode, b)
	}
}

// TestIDOR: another purpose's id, a restricted id and a guessed id are
// all 404 (nothing tells them apart), and each try is audited as denied
// with the real reason.
func TestIDOR(t *testing.T) {
	e := newEnv(t)
	w := seedWorld(e)
	guessed := "0192f3e4-5b6c-7d8e-9fa0-b1c2d3e4f5a6"
	for _, tc := range []struct {
		name, token, id, why string
	}{
		{"other purpose", "sup", w.complaint, "names none of the roles"},
		{"restricted", "sup", w.qualityRestricted, "restricted"},
		{"auditor on supervisor purpose", "aud", w.quality, "names none of the roles"},
		{"privacy officer on training", "po", w.training, "names none of the roles"},
		{"guessed", "po", guessed, "no such recording"},
	} {
		for _, suffix := range []string{"", "/audio?reason=look", "/hold?reason=look"} {
			t.Run(tc.name+suffix, func(t *testing.T) {
				method := "GET"
				if strings.HasPrefix(suffix, "/hold") {
					method = "PUT"
					if tc.token != "po" {
						return // not a privacy officer: refused before the id is looked at (TestHold)
					}
				}
				before := e.head()
				res, b := e.do(tc.token, method, "/api/v1/recordings/"+tc.id+suffix, nil)
				if res.StatusCode != http.StatusNotFound {
					t.Fatalf("got %d %s, want 404", res.StatusCode, b)
				}
				if !strings.Contains(string(b), errNotFound.Error()) {
					t.Errorf("got body %s, want the same answer as for an unknown id", b)
				}
				got := e.audit(before)
				if len(got) != 1 || got[0].Action != "denied" || got[0].Actor != tc.token || got[0].Target != tc.id ||
					!strings.Contains(got[0].Detail, tc.why) || !strings.Contains(got[0].Detail, `"client":"127.0.0.1"`) {
					t.Fatalf("got audit %+v, want one denied entry saying %q", got, tc.why)
				}
				if strings.Contains(suffix, "reason=look") && got[0].Reason != "look" {
					t.Errorf("got reason %q in the denial, want the one the request gave", got[0].Reason)
				}
			})
		}
	}
}

// TestBadRequestsChangeNothing: malformed ids, path tricks, filters and
// limits get a precise 400 and no audit entry.
func TestBadRequestsChangeNothing(t *testing.T) {
	e := newEnv(t)
	w := seedWorld(e)
	for _, tc := range []struct {
		name, path, want string
	}{
		{"dot-dot", "/api/v1/recordings/../audit", "'..' segments"},
		{"dot-dot in id", "/api/v1/recordings/../../etc/passwd", "'..' segments"},
		{"encoded dot-dot", "/api/v1/recordings/%2e%2e/audit", "encoded"},
		{"encoded slash in id", "/api/v1/recordings/" + w.quality[:8] + "%2F" + w.quality[9:], "encoded"},
		{"encoded backslash", "/api/v1/recordings/a%5Cb", "encoded"},
		{"double slash", "/api/v1//recordings", "empty segments"},
		{"not a uuid", "/api/v1/recordings/12345", "not a recording id"},
		{"upper-case uuid", "/api/v1/recordings/" + strings.ToUpper(w.quality), "not a recording id"},
		{"uuid with a suffix", "/api/v1/recordings/" + w.quality + "x", "not a recording id"},
		{"unknown parameter", "/api/v1/recordings?colour=red", `parameter "colour" is unknown`},
		{"repeated parameter", "/api/v1/recordings?line=0120000001&line=0120000002", `"line" is repeated`},
		{"bad query escape", "/api/v1/recordings?line=%zz", "query"},
		{"limit zero", "/api/v1/recordings?limit=0", "limit"},
		{"huge limit", "/api/v1/recordings?limit=1000000000", "limit"},
		{"limit not a number", "/api/v1/recordings?limit=ten", "limit"},
		{"bad from", "/api/v1/recordings?from=yesterday", "from"},
		{"from after to", "/api/v1/recordings?from=2026-02-01&to=2026-01-01", "before to"},
		{"bad decision", "/api/v1/recordings?decision=maybe", "decision"},
		{"unknown purpose", "/api/v1/recordings?purpose=marketing", "not a configured purpose"},
		{"bad line", "/api/v1/recordings?line=abc", "line"},
		{"bad min duration", "/api/v1/recordings?min_duration=-5s", "min_duration"},
		{"huge min duration", "/api/v1/recordings?min_duration=999999h", "min_duration"},
		{"agent id too long", "/api/v1/recordings?agent_id=" + strings.Repeat("a", 65), "agent_id: not an agent id (65 bytes, more than 64)"},
		{"agent id with a line break", "/api/v1/recordings?agent_id=A%0A1001", "agent_id: not an agent id (holds U+000A, which does not print)"},
		{"agent id not UTF-8", "/api/v1/recordings?agent_id=A%FF", "agent_id: not an agent id (not UTF-8)"},
		{"bad sort", "/api/v1/recordings?sort=callers", "sort"},
		{"sort by the manifest", "/api/v1/recordings?sort=-manifest", "sort"},
		{"bad hold", "/api/v1/recordings?hold=yes", "hold"},
		{"bad end reason", "/api/v1/recordings?end_reason=Caller%20hangup", "end_reason"},
		{"max below min", "/api/v1/recordings?min_duration=60&max_duration=30", "max_duration"},
		{"zero max", "/api/v1/recordings?max_duration=0", "max_duration"},
		{"bad call id", "/api/v1/recordings?sip_call_id=a%20b", "sip_call_id"},
		{"unknown zone", "/api/v1/recordings?tz=Mars/Olympus", "tz"},
		{"zone as a path", "/api/v1/recordings?tz=../../etc/passwd", "tz"},
		{"start-time cursor with another sort", "/api/v1/recordings?sort=duration&cursor=" + encodeCursor(catalog.Cursor{StartedAt: time.Now(), ID: w.quality}, "", true), "cursor"},
		{"export with a cursor", "/api/v1/recordings/export?cursor=AAAA", `parameter "cursor" is unknown`},
		{"export with a limit", "/api/v1/recordings/export?limit=5", `parameter "limit" is unknown`},
		{"bad count", "/api/v1/recordings?count=yes", "count"},
		{"count of a later page", "/api/v1/recordings?count=1&cursor=" + encodeCursor(catalog.Cursor{StartedAt: time.Now(), ID: w.quality}, "", true), "count: the first page"},
		{"garbage cursor", "/api/v1/recordings?cursor=AAAA", "cursor"},
		{"parameter on a view", "/api/v1/recordings/" + w.quality + "?x=1", "takes none"},
		{"bad audit after", "/api/v1/audit?after=-1", "after"},
		{"huge audit limit", "/api/v1/audit?limit=100000", "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head()
			req, _ := http.NewRequest("GET", e.srv.URL+tc.path, nil)
			req.Header.Set("Authorization", "Bearer "+token("multi"))
			req.URL.RawPath = "" // send the path exactly as written
			req.URL.Opaque = tc.path[:strings.IndexByte(tc.path+"?", '?')]
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]string
			json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(body["error"], tc.want) {
				t.Fatalf("got %d %q, want 400 saying %q", res.StatusCode, body["error"], tc.want)
			}
			if after := e.head(); after != before {
				t.Errorf("the audit log grew from %d to %d entries", before, after)
			}
		})
	}
	res, _ := e.do("multi", "GET", "/api/v1/nosuch", nil)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown route: got %d, want 404", res.StatusCode)
	}
	res, _ = e.do("multi", "PATCH", "/api/v1/recordings/"+w.quality, nil)
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PATCH: got %d, want 405", res.StatusCode)
	}
}

// TestSearchFilters: each filter narrows, sort orders, and cursors walk
// every page exactly once.
func TestSearchFilters(t *testing.T) {
	e := newEnv(t)
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var recs []rec
	for i := range 25 {
		r := rec{purpose: "cs-quality", line: "0120000001", caller: "0312345678", seconds: 0, started: base.Add(time.Duration(i) * time.Hour)}
		if i%2 == 1 {
			r.line = "0120000002"
		}
		if i%5 == 0 {
			r.decision = spool.OptedOut
		}
		if i >= 20 {
			r.caller = "0355556666"
		}
		if i%3 == 0 {
			r.agent = "A-1001"
		}
		recs = append(recs, r)
	}
	recs[3].seconds, recs[4].seconds = 2, 0.5
	all := e.seed(recs...)
	count := func(token, q string) []string {
		t.Helper()
		var got []string
		cursor := ""
		for page := 0; ; page++ {
			var res searchJSON
			p := "/api/v1/recordings?" + q
			if cursor != "" {
				p += "&cursor=" + url.QueryEscape(cursor)
			}
			e.get(token, p, http.StatusOK, &res)
			for _, r := range res.Recordings {
				got = append(got, r.ID)
			}
			if res.NextCursor == "" {
				return got
			}
			if page > 30 {
				t.Fatal("cursor never ends")
			}
			cursor = res.NextCursor
		}
	}
	rev := slices.Clone(all)
	slices.Reverse(rev)
	for _, tc := range []struct {
		name, token, q string
		want           []string
	}{
		{"all, newest first, pages of 4", "sup", "limit=4", rev},
		{"oldest first, pages of 7", "sup", "sort=started_at&limit=7", all},
		{"time range", "sup", "sort=started_at&from=2026-03-01T12:00:00Z&to=2026-03-01T15:00:00Z", all[3:6]},
		{"local date-time in Asia/Tokyo", "sup", "sort=started_at&from=2026-03-01T21:00&to=2026-03-02T00:00", nil},
		{"line", "sup", "sort=started_at&line=0120-000-002&limit=3", everyOther(all, 1)},
		{"line as +81", "sup", "sort=started_at&line=%2B81120000001", everyOther(all, 0)},
		{"decision", "sup", "sort=started_at&decision=opted-out", []string{all[0], all[5], all[10], all[15], all[20]}},
		{"min duration", "sup", "sort=started_at&min_duration=1s", all[3:4]},
		{"min duration in seconds", "sup", "sort=started_at&min_duration=0", all},
		{"purpose", "sup", "sort=started_at&purpose=cs-quality&decision=notified&line=0120000001&limit=2", minus(everyOther(all, 0), all[0], all[10], all[20])},
		{"caller by privacy officer", "po", "sort=started_at&caller=03-5555-6666", all[20:]},
		{"agent id", "sup", "sort=started_at&agent_id=A-1001&limit=3", everyThird(all)},
		{"agent id with a decision", "sup", "sort=started_at&agent_id=A-1001&decision=opted-out", []string{all[0], all[15]}},
		{"agent id no one has", "sup", "agent_id=A-100", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "local date-time in Asia/Tokyo" {
				tc.want = all[3:6] // 21:00 JST is 12:00 UTC
			}
			if got := count(tc.token, tc.q); !slices.Equal(got, tc.want) {
				t.Fatalf("got %d %v\nwant %d %v", len(got), got, len(tc.want), tc.want)
			}
		})
	}
	t.Run("caller by supervisor is refused and audited", func(t *testing.T) {
		before := e.head()
		res, b := e.do("sup", "GET", "/api/v1/recordings?caller=0355556666", nil)
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("got %d %s, want 403", res.StatusCode, b)
		}
		if got := e.audit(before); len(got) != 1 || got[0].Action != "denied" || strings.Contains(got[0].Detail, "0355556666") {
			t.Fatalf("got audit %+v, want one denied entry without the number", got)
		}
	})
	t.Run("purpose not open is refused and audited", func(t *testing.T) {
		before := e.head()
		res, _ := e.do("sup", "GET", "/api/v1/recordings?purpose=complaints", nil)
		if res.StatusCode != http.StatusForbidden || len(e.audit(before)) != 1 {
			t.Fatalf("got %d, want 403 audited", res.StatusCode)
		}
	})
	t.Run("search is audited with its filters, caller masked", func(t *testing.T) {
		before := e.head()
		e.get("po", "/api/v1/recordings?caller=0355556666&line=0120000001", http.StatusOK, nil)
		got := e.audit(before)
		if len(got) != 1 || got[0].Action != "search" || got[0].Actor != "po" {
			t.Fatalf("got %+v", got)
		}
		var d map[string]any
		json.Unmarshal([]byte(got[0].Detail), &d)
		f, _ := d["filters"].(map[string]any)
		if f["caller"] != "0355****66" || f["line"] != "0120000001" || d["results"] != float64(3) || d["client"] != "127.0.0.1" {
			t.Errorf("got detail %s", got[0].Detail)
		}
	})
	t.Run("a cursor of the other sort order is refused", func(t *testing.T) {
		var res searchJSON
		e.get("sup", "/api/v1/recordings?limit=2", http.StatusOK, &res)
		r, b := e.do("sup", "GET", "/api/v1/recordings?sort=started_at&cursor="+res.NextCursor, nil)
		if r.StatusCode != http.StatusBadRequest {
			t.Fatalf("got %d %s, want 400", r.StatusCode, b)
		}
	})
}

func everyOther(s []string, from int) []string {
	var out []string
	for i := from; i < len(s); i += 2 {
		out = append(out, s[i])
	}
	return out
}

func minus(s []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(s), func(x string) bool { return slices.Contains(drop, x) })
}

// TestHold: only privacy officers hold and release, with a reason; each
// change is audited with actor, reason and client address.
func TestHold(t *testing.T) {
	e := newEnv(t)
	w := seedWorld(e)
	path := "/api/v1/recordings/" + w.quality + "/hold"
	before := e.head()
	res, _ := e.do("sup", "PUT", path+"?reason=x", nil)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("supervisor hold: got %d, want 403", res.StatusCode)
	}
	if got := e.audit(before); len(got) != 1 || got[0].Action != "denied" || got[0].Target != w.quality {
		t.Fatalf("got audit %+v, want one denial", got)
	}
	before = e.head()
	if res, b := e.do("po", "PUT", path, nil); res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "reason") {
		t.Fatalf("hold without a reason: got %d %s, want 400", res.StatusCode, b)
	}
	if e.head() != before {
		t.Fatal("a refused hold without reason was audited")
	}
	res, b := e.do("po", "PUT", path, map[string]string{reasonHeader: url.PathEscape("訴訟対応 case 42")})
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), `"changed":true`) {
		t.Fatalf("hold: got %d %s", res.StatusCode, b)
	}
	r, _ := e.cat.Get(t.Context(), w.quality)
	if !r.LegalHold || r.HoldReason != "訴訟対応 case 42" {
		t.Fatalf("got hold %v %q", r.LegalHold, r.HoldReason)
	}
	got := e.audit(before)
	if len(got) != 1 || got[0].Action != "hold" || got[0].Actor != "po" || got[0].Reason != "訴訟対応 case 42" || !strings.Contains(got[0].Detail, `"client":"127.0.0.1"`) {
		t.Fatalf("got audit %+v", got)
	}
	if res, b := e.do("po", "PUT", path+"?reason=again", nil); !strings.Contains(string(b), `"changed":false`) {
		t.Errorf("hold again: got %d %s, want changed false", res.StatusCode, b)
	}
	before = e.head()
	if res, b := e.do("po", "DELETE", path+"?reason=case+closed", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("release: got %d %s", res.StatusCode, b)
	}
	if got := e.audit(before); len(got) != 1 || got[0].Action != "release-hold" || got[0].Reason != "case closed" {
		t.Fatalf("got audit %+v", got)
	}
	// A restricted recording can be held by a privacy officer.
	if res, b := e.do("po", "PUT", "/api/v1/recordings/"+w.qualityRestricted+"/hold?reason=dispute", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("hold restricted: got %d %s", res.StatusCode, b)
	}
}

// TestAuditRoutes: the audit log and its verification are for auditors;
// reading is audited; a tampered chain is reported.
func TestAuditRoutes(t *testing.T) {
	e := newEnv(t)
	w := seedWorld(e)
	e.get("sup", "/api/v1/recordings/"+w.quality, http.StatusOK, nil)
	for _, p := range []string{"/api/v1/audit", "/api/v1/audit/verify"} {
		before := e.head()
		res, _ := e.do("sup", "GET", p, nil)
		if res.StatusCode != http.StatusForbidden || len(e.audit(before)) != 1 {
			t.Fatalf("%s as supervisor: got %d, want 403 audited", p, res.StatusCode)
		}
	}
	var page struct {
		Entries   []apiclient.AuditEntry `json:"entries"`
		NextAfter int64                  `json:"next_after"`
	}
	e.get("aud", "/api/v1/audit?action=view&actor=sup", http.StatusOK, &page)
	if len(page.Entries) != 1 || page.Entries[0].Target != w.quality || !json.Valid(page.Entries[0].Detail) {
		t.Fatalf("got %+v", page)
	}
	// Each read adds an audit-read entry, so the walk stops at the head
	// it started from.
	head := e.head()
	var seen []int64
	for after := int64(0); after < head; {
		page.Entries, page.NextAfter = nil, 0
		e.get("aud", "/api/v1/audit?limit=3&after="+itoa(after), http.StatusOK, &page)
		if len(page.Entries) == 0 || page.NextAfter == 0 {
			t.Fatalf("paging the audit log after %d: got %+v before reaching %d", after, page, head)
		}
		for _, en := range page.Entries {
			if en.Seq <= head {
				seen = append(seen, en.Seq)
			}
		}
		after = page.NextAfter
	}
	for i, s := range seen {
		if s != int64(i+1) || len(seen) != int(head) {
			t.Fatalf("paging the audit log: got seqs %v, want 1-%d", seen, head)
		}
	}
	var v struct {
		OK       bool  `json:"ok"`
		Entries  int64 `json:"entries"`
		BrokenAt int64 `json:"broken_at"`
	}
	e.get("aud", "/api/v1/audit/verify", http.StatusOK, &v)
	if !v.OK || v.Entries < 10 {
		t.Fatalf("got verify %+v", v)
	}
	if got := e.audit(e.head() - 1); got[0].Action != "audit-verify" || got[0].Actor != "aud" {
		t.Fatalf("the verify was not audited: %+v", got)
	}
	if _, err := e.cat.DB().Exec(`UPDATE audit SET reason = 'edited' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	e.get("aud", "/api/v1/audit/verify", http.StatusOK, &v)
	if v.OK || v.BrokenAt != 3 {
		t.Fatalf("got verify %+v after an edit, want broken at 3", v)
	}
	if _, err := audit.Verify(t.Context(), e.cat.DB()); err == nil {
		t.Fatal("test setup: chain should be broken")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestCallsRoles: calls in progress are for supervisors and admins.
func TestCallsRoles(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		token string
		want  int
	}{{"sup", http.StatusServiceUnavailable}, {"adm", http.StatusServiceUnavailable}, {"po", http.StatusForbidden}, {"aud", http.StatusForbidden}} {
		res, b := e.do(tc.token, "GET", "/api/v1/calls", nil)
		if res.StatusCode != tc.want {
			t.Errorf("%s: got %d %s, want %d (no SIP server here)", tc.token, res.StatusCode, b, tc.want)
		}
	}
	res, _ := e.do("po", "POST", "/api/v1/calls/0192f3e4-5b6c-7d8e-9fa0-b1c2d3e4f5a6/pause", nil)
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("privacy officer pause: got %d, want 403", res.StatusCode)
	}
}

// TestTokensNeverLogged: neither good nor bad tokens, nor tickets' reasons
// as query strings, reach the log or the audit log.
func TestTokensNeverLogged(t *testing.T) {
	e := newEnv(t)
	w := seedWorld(e)
	bad := "Bearer tok-secret-guess-81d7"
	e.do("", "GET", "/api/v1/recordings", map[string]string{"Authorization": bad})
	e.do("sup", "GET", "/api/v1/recordings/"+w.quality+"/audio?reason=qa", nil)
	e.do("po", "GET", "/api/v1/recordings?caller=0312345678", nil)
	e.do("aud", "GET", "/api/v1/audit", nil)
	if e.logs.Len() == 0 {
		t.Fatal("nothing was logged; the test would prove nothing")
	}
	secrets := []string{"tok-secret-guess-81d7", "0312345678"}
	for name := range testTokens {
		secrets = append(secrets, token(name))
	}
	for _, entry := range e.logs.All() {
		line := entry.Message
		for k, v := range entry.ContextMap() {
			line += " " + k + "=" + toString(v)
		}
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("log line %q holds %q", line, s)
			}
		}
	}
	for _, en := range e.audit(0) {
		b, _ := json.Marshal(en)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("audit entry %s holds %q", b, s)
			}
		}
	}
}

// everyThird is ids[0], ids[3], ids[6]…
func everyThird(ids []string) []string {
	var out []string
	for i := 0; i < len(ids); i += 3 {
		out = append(out, ids[i])
	}
	return out
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestAgentIDShown: a recording's agent_id is in its search row and
// its detail; one whose answer named no agent has none.
func TestAgentIDShown(t *testing.T) {
	e := newEnv(t)
	ids := e.seed(
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, agent: "A-1001"},
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1},
	)
	want := map[string]string{ids[0]: "A-1001", ids[1]: ""}
	var res searchJSON
	e.get("sup", "/api/v1/recordings", http.StatusOK, &res)
	if len(res.Recordings) != 2 {
		t.Fatalf("got %d recordings, want 2", len(res.Recordings))
	}
	for _, r := range res.Recordings {
		if r.AgentID != want[r.ID] {
			t.Errorf("search %s: got agent_id %q, want %q", r.ID, r.AgentID, want[r.ID])
		}
		var d apiclient.RecordingDetail
		e.get("sup", "/api/v1/recordings/"+r.ID, http.StatusOK, &d)
		if d.AgentID != want[r.ID] {
			t.Errorf("detail %s: got agent_id %q, want %q", r.ID, d.AgentID, want[r.ID])
		}
	}
}

// TestSilentChannelsShown: a recording whose caller channel got no RTP
// is listed and detailed with its silent channels; one with audio on
// both has none.
func TestSilentChannelsShown(t *testing.T) {
	e := newEnv(t)
	ids := e.seed(
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, silent: []string{"caller"}},
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1},
	)
	want := map[string][]string{ids[0]: {"caller"}, ids[1]: nil}
	var res searchJSON
	e.get("po", "/api/v1/recordings", http.StatusOK, &res)
	if len(res.Recordings) != 2 {
		t.Fatalf("got %d recordings, want 2", len(res.Recordings))
	}
	for _, r := range res.Recordings {
		if !slices.Equal(r.SilentChannels, want[r.ID]) || !r.HasAudio {
			t.Errorf("search %s: got silent channels %q (has audio %v), want %q with audio", r.ID, r.SilentChannels, r.HasAudio, want[r.ID])
		}
		var d apiclient.RecordingDetail
		e.get("po", "/api/v1/recordings/"+r.ID, http.StatusOK, &d)
		if !slices.Equal(d.SilentChannels, want[r.ID]) {
			t.Errorf("detail %s: got silent channels %q, want %q", r.ID, d.SilentChannels, want[r.ID])
		}
	}
}

// TestAuditVerifyCheckpoint: the verify route holds the log to the newest
// signed checkpoint in the store. After a checkpoint, a log rewritten
// whole with every hash recomputed still has a valid chain, and the route
// says ok false naming the checkpoint.
func TestAuditVerifyCheckpoint(t *testing.T) {
	e := newEnv(t)
	seedWorld(e)
	cp, err := audit.NewCheckpoint(t.Context(), e.cat.DB(), e.keys.AuditKey(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b := cp.Marshal()
	if _, err := e.st.Put(t.Context(), audit.CheckpointKey(cp.Seq), bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var v apiclient.AuditVerify
	e.get("aud", "/api/v1/audit/verify", http.StatusOK, &v)
	if !v.OK || v.Checkpoints != 1 || v.CheckpointsMatched != 1 || v.NewestCheckpoint != cp.Seq {
		t.Fatalf("intact log: got %+v, want ok with the checkpoint matched", v)
	}
	entries, err := audit.List(t.Context(), e.cat.DB(), audit.Filter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.DB().Exec(`DELETE FROM audit`); err != nil {
		t.Fatal(err)
	}
	for i, en := range entries {
		if i == 0 {
			en.Actor = "someone-else"
		}
		if _, err := audit.Append(t.Context(), e.cat.DB(), audit.Entry{At: en.At, Actor: en.Actor, Action: en.Action,
			Target: en.Target, Reason: en.Reason, Detail: en.Detail}); err != nil {
			t.Fatal(err)
		}
	}
	v = apiclient.AuditVerify{}
	e.get("aud", "/api/v1/audit/verify", http.StatusOK, &v)
	if v.OK || v.CheckpointsMatched != 0 || !strings.Contains(v.Why, audit.CheckpointPrefix) {
		t.Fatalf("rewritten log: got %+v, want not ok naming the checkpoint", v)
	}
}
