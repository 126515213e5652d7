package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/retention"
	"github.com/kiroku-voice/kiroku/storage/fs"
)

// purger is the daemon's part the retention routes call: a real
// retention.Purger over the env's catalog and store.
type purger struct{ *retention.Purger }

func (p purger) PurgeNow(ctx context.Context) (retention.Result, error) { return p.Purge(ctx) }

// newRetentionEnv is newEnv with the retention routes wired to a real
// purger.
func newRetentionEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := fs.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	var e *env
	e = newEnvWith(t, dir, st, testConfig(t, testTokens), func(o *Options) {
		o.Retention = purger{retention.New(retention.Options{Catalog: o.Catalog, Store: st,
			RetainUntil: func(cl, p string, s time.Time) (time.Time, bool) { return e.cfg.Load().RetainUntil(cl, p, s) }})}
	})
	return e
}

// post sends method path as name with body (JSON, or as given with
// ctype) and returns the status and the answer.
func (e *env) post(name, method, path, ctype, body string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if name != "" {
		req.Header.Set("Authorization", "Bearer "+token(name))
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.StatusCode, b
}

// held returns which of ids are held.
func (e *env) held(ids ...string) map[string]bool {
	e.t.Helper()
	out := map[string]bool{}
	for _, id := range ids {
		r, err := e.cat.Get(e.t.Context(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		out[id] = r.LegalHold
	}
	return out
}

// TestBulkHold: a privacy officer holds every recording of a caller
// through the authenticated API, in whatever form the number is
// written; the audit entries name the token, never a body's actor; a
// purpose not open to privacy officers is left alone, and naming one of
// its recordings by id changes nothing; other roles, a body naming an
// actor, a reason with a bidi override and no token are refused.
func TestBulkHold(t *testing.T) {
	e := newRetentionEnv(t)
	ids := e.seed(
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1},
		rec{purpose: "complaints", caller: "0312345678", seconds: 1},
		rec{purpose: "training", caller: "0312345678", seconds: 1}, // not open to privacy officers
		rec{purpose: "cs-quality", caller: "0399999999", seconds: 1},
	)
	before := e.head()
	for _, tc := range []struct {
		name, who, body string
		want            int
	}{
		{"supervisor", "sup", `{"caller":"0312345678","on":true,"reason":"訴訟"}`, http.StatusForbidden},
		{"no token", "", `{"caller":"0312345678","on":true,"reason":"訴訟"}`, http.StatusUnauthorized},
		{"actor in the body", "po", `{"caller":"0312345678","on":true,"reason":"訴訟","actor":"someone-else"}`, http.StatusBadRequest},
		{"no reason", "po", `{"caller":"0312345678","on":true}`, http.StatusBadRequest},
		{"bidi override in the reason", "po", `{"caller":"0312345678","on":true,"reason":"訴\u202e訟"}`, http.StatusBadRequest},
		{"newline in the reason", "po", `{"caller":"0312345678","on":true,"reason":"a\nforged line"}`, http.StatusBadRequest},
		{"no on", "po", `{"caller":"0312345678","reason":"訴訟"}`, http.StatusBadRequest},
		{"nothing selected", "po", `{"on":true,"reason":"訴訟"}`, http.StatusBadRequest},
		{"a caller too long", "po", `{"caller":"` + strings.Repeat("1", 3000) + `","on":true,"reason":"訴訟"}`, http.StatusBadRequest},
		{"an id not open to privacy officers", "po", `{"ids":["` + ids[0] + `","` + ids[2] + `"],"on":true,"reason":"訴訟"}`, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, b := e.post(tc.who, http.MethodPost, "/api/v1/holds", "application/json", tc.body); code != tc.want {
				t.Errorf("got %d %s, want %d", code, b, tc.want)
			}
			for id, h := range e.held(ids...) {
				if h {
					t.Errorf("%s held", id)
				}
			}
		})
	}
	for _, a := range e.audit(before) {
		if a.Action == audit.ActionHold {
			t.Errorf("a refused request wrote %+v", a)
		}
	}

	// Full-width digits with separators: the same number.
	code, b := e.post("po", http.MethodPost, "/api/v1/holds", "application/json", `{"caller":"０３－１２３４－５６７８","on":true,"reason":"訴訟 2026-001"}`)
	var res apiclient.BulkHoldResult
	if json.Unmarshal(b, &res); code != http.StatusOK || res.Changed != 2 || !res.LegalHold {
		t.Fatalf("hold by caller: got %d %s, want 200 with 2 changed", code, b)
	}
	want := map[string]bool{ids[0]: true, ids[1]: true, ids[2]: false, ids[3]: false}
	for id, h := range e.held(ids...) {
		if h != want[id] {
			t.Errorf("%s: held %v, want %v", id, h, want[id])
		}
	}
	var holds int
	for _, a := range e.audit(before) {
		if a.Action != audit.ActionHold {
			continue
		}
		holds++
		if a.Actor != "po" || a.Reason != "訴訟 2026-001" {
			t.Errorf("hold audited as %q %q, want actor po (the token) and the reason", a.Actor, a.Reason)
		}
	}
	if holds != 2 {
		t.Errorf("%d hold entries, want 2", holds)
	}

	// Release by time range: the recordings it may hold, in the range.
	from, to := time.Now().Add(-2*time.Hour).Format(time.RFC3339), time.Now().Format(time.RFC3339)
	code, b = e.post("po", http.MethodPost, "/api/v1/holds", "application/json", `{"from":"`+from+`","to":"`+to+`","on":false,"reason":"和解"}`)
	if json.Unmarshal(b, &res); code != http.StatusOK || res.Changed != 2 {
		t.Fatalf("release by range: got %d %s, want 200 with 2 changed", code, b)
	}
	for id, h := range e.held(ids...) {
		if h {
			t.Errorf("%s still held", id)
		}
	}
}

// TestRetentionPreview: the plan's preview of a shorter limit lists the
// recordings it would make due at once and counts the held ones apart,
// changing nothing; applying that limit then changes exactly what it
// said, and a purge through the API deletes exactly the recordings it
// listed, audited under the token.
func TestRetentionPreview(t *testing.T) {
	e := newRetentionEnv(t)
	now := time.Now()
	ids := e.seed(
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: now.AddDate(0, 0, -40)},
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: now.AddDate(0, 0, -35)},
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: now.AddDate(0, 0, -10)},
		rec{purpose: "complaints", caller: "0312345678", seconds: 1, started: now.AddDate(0, 0, -40)},
	)
	if code, b := e.post("po", http.MethodPost, "/api/v1/holds", "application/json", `{"ids":["`+ids[1]+`"],"on":true,"reason":"訴訟"}`); code != http.StatusOK {
		t.Fatalf("hold: %d %s", code, b)
	}
	dates := func() map[string]time.Time {
		out := map[string]time.Time{}
		for _, id := range ids {
			r, err := e.cat.Get(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = r.RetainUntil
		}
		return out
	}
	before := dates()

	for _, tc := range []struct{ who, q string }{
		{"sup", "purpose=cs-quality&retention=30d"},
		{"po", "purpose=cs-quality"},
		{"po", "purpose=nope&retention=30d"},
		{"po", "purpose=cs-quality&retention=30x"},
		{"po", "purpose=cs-quality&retention=30d&extend_existing=maybe"},
	} {
		res, b := e.do(tc.who, http.MethodGet, "/api/v1/retention/plan?"+tc.q, nil)
		if res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s: got %d %s, want a refusal", tc.who, tc.q, res.StatusCode, b)
		}
	}

	var plan apiclient.RetentionPlan
	e.get("po", "/api/v1/retention/plan?"+url.Values{"purpose": {"cs-quality"}, "retention": {"30d"}}.Encode(), http.StatusOK, &plan)
	pv := plan.Preview
	if pv == nil {
		t.Fatal("no preview")
	}
	if pv.From != "90d" || pv.To != "30d" || pv.Stored != 3 || pv.Earlier != 3 || pv.Due != 1 || pv.DueHeld != 1 || len(pv.Recordings) != 2 || pv.More {
		t.Errorf("preview: got %+v, want 3 stored, 3 earlier, 1 due and 1 held of 2 listed", pv)
	}
	listed := map[string]bool{}
	for _, d := range pv.Recordings {
		listed[d.ID] = d.LegalHold
		if want := d.StartedAt.AddDate(0, 0, 30); !d.NewUntil.Equal(want) {
			t.Errorf("%s: new date %v, want %v", d.ID, d.NewUntil, want)
		}
	}
	if h, ok := listed[ids[0]]; !ok || h {
		t.Errorf("preview does not list %s as due and not held: %v", ids[0], listed)
	}
	if h, ok := listed[ids[1]]; !ok || !h {
		t.Errorf("preview does not list %s as held: %v", ids[1], listed)
	}
	for id, d := range dates() {
		if !d.Equal(before[id]) {
			t.Errorf("%s: the preview changed its date", id)
		}
	}
	var previews int
	for _, a := range e.audit(0) {
		if a.Action == audit.ActionRetentionPlan && strings.Contains(a.Detail, ids[0]) && a.Actor == "po" {
			previews++
		}
	}
	if previews != 1 {
		t.Errorf("%d audited previews listing %s, want 1", previews, ids[0])
	}

	// Apply the limit as a reload would, then purge through the API.
	old := e.cfg.Load()
	next := *old
	next.Purposes = append(next.Purposes[:0:0], old.Purposes...)
	for i := range next.Purposes {
		if next.Purposes[i].Name == "cs-quality" {
			next.Purposes[i].Retention = mustRetention(t, "30d")
		}
	}
	n, err := retention.ApplyPolicy(t.Context(), e.cat, e.st, old, &next, "reload")
	if err != nil || n != pv.Earlier {
		t.Fatalf("apply: %d %v, want the preview's %d", n, err, pv.Earlier)
	}
	e.cfg.Store(&next)
	seq := e.head()
	if code, b := e.post("sup", http.MethodPost, "/api/v1/retention/purge", "application/json", ""); code != http.StatusForbidden {
		t.Errorf("purge by a supervisor: %d %s", code, b)
	}
	code, b := e.post("po", http.MethodPost, "/api/v1/retention/purge", "application/json", `{"reason":"月次"}`)
	var pr apiclient.PurgeResult
	if json.Unmarshal(b, &pr); code != http.StatusOK || pr.Deleted != pv.Due || pr.Held != pv.DueHeld {
		t.Fatalf("purge: got %d %s, want %d deleted and %d held as previewed", code, b, pv.Due, pv.DueHeld)
	}
	if _, err := e.cat.Get(t.Context(), ids[0]); err == nil {
		t.Errorf("%s survived the purge", ids[0])
	}
	for _, id := range ids[1:] {
		if r, err := e.cat.Get(t.Context(), id); err != nil || r.State != catalog.StateStored {
			t.Errorf("%s: %v %v after the purge, want stored", id, r, err)
		}
	}
	var requested bool
	for _, a := range e.audit(seq) {
		requested = requested || (a.Action == audit.ActionPurgeRequest && a.Actor == "po" && a.Reason == "月次")
	}
	if !requested {
		t.Error("the purge request is not audited under the token")
	}
}

// TestNoCrossOriginWrite: a cross-origin text/plain POST (what a web
// page can send without a preflight) to every write route of the API
// changes nothing: the routes need a bearer token, which a page of
// another origin does not have.
func TestNoCrossOriginWrite(t *testing.T) {
	e := newRetentionEnv(t)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: time.Now().AddDate(-2, 0, 0)})
	before := e.head()
	for _, pattern := range e.api.patterns {
		method, path, _ := strings.Cut(pattern, " ")
		if method == http.MethodGet || method == http.MethodHead || !strings.HasPrefix(path, "/api/") {
			continue
		}
		path = strings.NewReplacer("{id}", ids[0], "{client}", "acme").Replace(path)
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(`{"ids":["`+ids[0]+`"],"on":true,"reason":"x","caller":"0312345678","confirm":true}`))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Origin", "http://evil.example")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: got %d, want 401", pattern, res.StatusCode)
		}
	}
	if r, err := e.cat.Get(t.Context(), ids[0]); err != nil || r.LegalHold {
		t.Errorf("after the cross-origin posts: %+v %v", r, err)
	}
	for _, a := range e.audit(before) {
		if a.Action != audit.ActionDenied {
			t.Errorf("a cross-origin post wrote %s", a.Action)
		}
	}
}

func mustRetention(t *testing.T, s string) config.Retention {
	t.Helper()
	r, err := config.ParseRetention(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
