package httpapi

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"github.com/kiroku-voice/kiroku/audit"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/internal/config"
)

// send sends method path as name with a JSON body and returns the answer.
func (e *env) send(name, method, path string, body any) (*http.Response, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+token(name))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func (e *env) newRequest(kind string, callers ...string) string {
	e.t.Helper()
	res, b := e.send("po", http.MethodPost, "/api/v1/requests", map[string]any{"kind": kind, "callers": callers,
		"verification": "マイナンバーカード 照合番号 V-1", "requester": "本人"})
	if res.StatusCode != http.StatusCreated {
		e.t.Fatalf("create: got %d %s", res.StatusCode, b)
	}
	var q apiclient.Request
	json.Unmarshal(b, &q)
	return q.ID
}

func TestRequestsNeedPrivacyOfficer(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"sup", "aud", "adm"} {
		before := e.head()
		res, _ := e.send(name, http.MethodGet, "/api/v1/requests", nil)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s: got %d, want 403", name, res.StatusCode)
		}
		if es := e.audit(before); len(es) != 1 || es[0].Action != "denied" {
			t.Errorf("%s: got audit %+v, want one denial", name, es)
		}
	}
}

func TestStopUseHidesFromSupervisorAndResumeBrings(t *testing.T) {
	e := newEnv(t)
	now := time.Now().Add(-time.Hour)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: now},
		rec{purpose: "cs-quality", caller: "09011112222", seconds: 1, started: now.Add(time.Second)},
		rec{purpose: "cs-quality", caller: "0399990000", seconds: 1, started: now.Add(2 * time.Second)})
	visible := func(name, id string) int {
		res, _ := e.do(name, http.MethodGet, "/api/v1/recordings/"+id, nil)
		return res.StatusCode
	}
	if res, b := e.send("po", http.MethodPost, "/api/v1/requests/"+e.newRequest("stop-of-use", "03-1234-5678", "090-1111-2222")+"/stop-use", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("stop-use: got %d %s", res.StatusCode, b)
	}
	for _, id := range ids[:2] {
		before := e.head()
		if got := visible("sup", id); got != http.StatusNotFound {
			t.Errorf("supervisor after stop-use: got %d, want 404", got)
		}
		if es := e.audit(before); len(es) != 1 || es[0].Action != "denied" || !strings.Contains(es[0].Detail, "restricted") {
			t.Errorf("got audit %+v, want a denial naming the restriction", es)
		}
		if got := visible("po", id); got != http.StatusOK {
			t.Errorf("privacy officer after stop-use: got %d, want 200", got)
		}
	}
	var page struct {
		Recordings []apiclient.Recording `json:"recordings"`
	}
	e.get("sup", "/api/v1/recordings", http.StatusOK, &page)
	if len(page.Recordings) != 1 || page.Recordings[0].ID != ids[2] {
		t.Errorf("supervisor search: got %d recordings, want only the other caller's", len(page.Recordings))
	}
	if res, b := e.send("po", http.MethodPost, "/api/v1/requests/"+e.newRequest("resume-use", "0312345678", "09011112222")+"/resume-use", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("resume-use: got %d %s", res.StatusCode, b)
	}
	for _, id := range ids[:2] {
		if got := visible("sup", id); got != http.StatusOK {
			t.Errorf("supervisor after resume-use: got %d, want 200", got)
		}
	}
}

func TestDiscloseEraseProvidePseudonymiseRoutes(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.key"), []byte("pseudonym-key-0123456789"), 0o600)
	cfg := *e.cfg.Load()
	cfg.Source = filepath.Join(dir, "kiroku.yaml")
	cfg.Rights = config.Rights{PseudonymKeys: []config.PseudonymKey{{ID: "p1", File: "p.key"}}, Active: "p1"}
	e.cfg.Store(&cfg)
	now := time.Now().Add(-time.Hour)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: now},
		rec{purpose: "complaints", caller: "09011112222", seconds: 1, started: now.Add(time.Second)},
		rec{purpose: "cs-quality", caller: "0399990000", seconds: 1, started: now.Add(2 * time.Second)})

	res, b := e.send("po", http.MethodPost, "/api/v1/requests/"+e.newRequest("disclosure", "0312345678", "09011112222")+"/disclose", nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("disclose: got %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 5 { // 2 WAVs, manifest.json, summary.txt, SHA256SUMS
		t.Errorf("got %d files, want 5", len(zr.File))
	}

	res, b = e.send("po", http.MethodPost, "/api/v1/requests/provisions", map[string]any{"recipient": "A社", "legal_basis": "consent", "consent_ref": "C-1", "ids": []string{ids[2]}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("provide: got %d %s", res.StatusCode, b)
	}
	res, b = e.send("po", http.MethodGet, "/api/v1/requests/provisions?format=csv", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), ids[2]) {
		t.Errorf("provisions: got %d %s", res.StatusCode, b)
	}

	res, b = e.send("po", http.MethodGet, "/api/v1/requests/pseudonymised?format=csv", nil)
	if res.StatusCode != http.StatusOK || strings.Contains(string(b), "0312345678") || !strings.Contains(string(b), "p1:") {
		t.Errorf("pseudonymised: got %d %s", res.StatusCode, b)
	}

	// An erasure runs once its plan is confirmed: without the confirm
	// (428) or with a wrong one (409) nothing changes and the plan comes
	// back.
	erasure := e.newRequest("erasure", "0312345678")
	var refusal apiclient.PlanRefusal
	res, b = e.send("po", http.MethodPost, "/api/v1/requests/"+erasure+"/erase", nil)
	if json.Unmarshal(b, &refusal); res.StatusCode != http.StatusPreconditionRequired || len(refusal.Plan.Destroy) != 1 || refusal.Plan.Destroy[0].ID != ids[0] {
		t.Fatalf("erase without confirming: got %d %s, want 428 with the plan", res.StatusCode, b)
	}
	res, b = e.send("po", http.MethodPost, "/api/v1/requests/"+erasure+"/erase", map[string]string{"confirm": "0000000000000000"})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("erase with a wrong confirm: got %d %s, want 409", res.StatusCode, b)
	}
	if got, _ := e.do("po", http.MethodGet, "/api/v1/recordings/"+ids[0], nil); got.StatusCode != http.StatusOK {
		t.Fatalf("recording after the unconfirmed erasures: got %d, want 200", got.StatusCode)
	}
	var plan apiclient.ErasurePlan
	e.get("po", "/api/v1/requests/"+erasure+"/erasure-plan", http.StatusOK, &plan)
	if plan.Confirm != refusal.Plan.Confirm || len(plan.Destroy) != 1 {
		t.Fatalf("plan: %+v, want the one the refusal gave", plan)
	}
	res, b = e.send("po", http.MethodPost, "/api/v1/requests/"+erasure+"/erase", apiclient.EraseRequest{Confirm: plan.Confirm})
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), ids[0]) {
		t.Fatalf("erase: got %d %s", res.StatusCode, b)
	}
	if got, _ := e.do("po", http.MethodGet, "/api/v1/recordings/"+ids[0], nil); got.StatusCode != http.StatusNotFound {
		t.Errorf("erased recording: got %d, want 404", got.StatusCode)
	}
	// Answered requests cannot be answered twice.
	var list struct {
		Requests []apiclient.Request `json:"requests"`
	}
	e.get("po", "/api/v1/requests", http.StatusOK, &list)
	if len(list.Requests) != 2 {
		t.Fatalf("got %d requests, want 2", len(list.Requests))
	}
	for _, q := range list.Requests {
		switch q.Kind {
		case "disclosure": // downloaded again, audited again
			if res, b := e.send("po", http.MethodPost, "/api/v1/requests/"+q.ID+"/disclose", nil); res.StatusCode != http.StatusOK || len(b) == 0 {
				t.Errorf("second disclosure: got %d, want 200 with the ZIP", res.StatusCode)
			}
		case "erasure":
			if res, _ := e.send("po", http.MethodPost, "/api/v1/requests/"+q.ID+"/erase", apiclient.EraseRequest{Confirm: plan.Confirm}); res.StatusCode != http.StatusConflict {
				t.Errorf("second erasure: got %d, want 409", res.StatusCode)
			}
		}
	}
}

// TestDisclosureChecksAccess: a disclosure is not a way around a
// purpose's listeners: a privacy officer answering one for a number with
// a recording of a purpose not open to privacy officers gets 403, no
// byte of a ZIP, a "denied" audit entry naming the recording, and the
// request stays open (not answered, nothing disclosed audited).
func TestDisclosureChecksAccess(t *testing.T) {
	e := newEnv(t)
	now := time.Now().Add(-time.Hour)
	ids := e.seed(rec{purpose: "training", caller: "0312345678", seconds: 1, started: now},
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: now.Add(time.Second)})
	req := e.newRequest("disclosure", "0312345678")
	before := e.audit(0)
	res, b := e.send("po", http.MethodPost, "/api/v1/requests/"+req+"/disclose", nil)
	if res.StatusCode != http.StatusForbidden || bytes.HasPrefix(b, []byte("PK")) || res.Header.Get("Content-Type") == "application/zip" {
		t.Fatalf("disclose: got %d %s %.80q, want 403 and no ZIP", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	var denied bool
	for _, en := range e.audit(0)[len(before):] {
		if en.Action == audit.ActionDenied && en.Target == ids[0] {
			denied = true
		}
		if en.Action == audit.ActionDisclose || en.Action == audit.ActionRequestAnswered || en.Action == audit.ActionRequestRefused {
			t.Errorf("a refused disclosure audited %s of %s", en.Action, en.Target)
		}
	}
	if !denied {
		t.Errorf("no denied audit entry for %s", ids[0])
	}
	var list struct {
		Requests []apiclient.Request `json:"requests"`
	}
	e.get("po", "/api/v1/requests", http.StatusOK, &list)
	if len(list.Requests) != 1 || list.Requests[0].Outcome != "" {
		t.Errorf("got requests %+v, want the one still open", list.Requests)
	}
}

// TestPseudonymisedChecksAccess: the pseudonymised export leaves out the
// recordings of a purpose not open to privacy officers (their line,
// purpose and times are not the officer's to read either).
func TestPseudonymisedChecksAccess(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.key"), []byte("pseudonym-key-0123456789"), 0o600)
	cfg := *e.cfg.Load()
	cfg.Source = filepath.Join(dir, "kiroku.yaml")
	cfg.Rights = config.Rights{PseudonymKeys: []config.PseudonymKey{{ID: "p1", File: "p.key"}}, Active: "p1"}
	e.cfg.Store(&cfg)
	now := time.Now().Add(-time.Hour)
	e.seed(rec{purpose: "training", caller: "0312345678", seconds: 1, started: now},
		rec{purpose: "cs-quality", caller: "0399990000", seconds: 1, started: now.Add(time.Second)})
	res, b := e.send("po", http.MethodGet, "/api/v1/requests/pseudonymised?format=csv", nil)
	if res.StatusCode != http.StatusOK || strings.Contains(string(b), "training") || !strings.Contains(string(b), "cs-quality") {
		t.Errorf("pseudonymised: got %d %s, want cs-quality's row only", res.StatusCode, b)
	}
}

// TestProvisionChecksAccess: a privacy officer cannot hand on a recording
// of a purpose not open to privacy officers (nor slip one among others):
// 403, a "denied" audit entry naming it, and no provision recorded.
func TestProvisionChecksAccess(t *testing.T) {
	e := newEnv(t)
	now := time.Now().Add(-time.Hour)
	ids := e.seed(rec{purpose: "training", caller: "0312345678", seconds: 1, started: now},
		rec{purpose: "cs-quality", caller: "0399990000", seconds: 1, started: now.Add(time.Second)})
	for _, asked := range [][]string{{ids[0]}, {ids[1], ids[0]}} {
		before := e.audit(0)
		res, b := e.send("po", http.MethodPost, "/api/v1/requests/provisions", map[string]any{"recipient": "A社", "legal_basis": "consent", "ids": asked})
		if res.StatusCode != http.StatusForbidden || bytes.HasPrefix(b, []byte("PK")) {
			t.Fatalf("provide %v: got %d %.80q, want 403 and no ZIP", asked, res.StatusCode, b)
		}
		var denied bool
		for _, en := range e.audit(0)[len(before):] {
			if en.Action == audit.ActionDenied && en.Target == ids[0] {
				denied = true
			}
			if en.Action == audit.ActionProvide {
				t.Errorf("a refused provision audited %s of %s", en.Action, en.Target)
			}
		}
		if !denied {
			t.Errorf("provide %v: no denied audit entry for %s", asked, ids[0])
		}
	}
	res, b := e.send("po", http.MethodGet, "/api/v1/requests/provisions?format=csv", nil)
	if res.StatusCode != http.StatusOK || strings.Contains(string(b), ids[0]) || strings.Contains(string(b), ids[1]) {
		t.Errorf("provision records after refusals: got %d %s, want none", res.StatusCode, b)
	}
	// The one the officer may read is still provided.
	if res, b := e.send("po", http.MethodPost, "/api/v1/requests/provisions", map[string]any{"recipient": "A社", "legal_basis": "consent", "ids": []string{ids[1]}}); res.StatusCode != http.StatusOK {
		t.Errorf("provide an open recording: got %d %s", res.StatusCode, b)
	}
}

// TestRefuseReason: a refusal's reason is held to a reason's rules (it
// goes into the audit entry): blank, too long, or with a control or
// format character is a 400 naming the problem and leaves the request
// open; a good one closes it, the entry naming the token and the reason.
func TestRefuseReason(t *testing.T) {
	e := newEnv(t)
	q := e.newRequest("stop-of-use", "0312345678")
	for _, c := range []struct{ name, reason, want string }{
		{"blank", "  ", "say why the request is refused"},
		{"too long", strings.Repeat("x", 501), "longer than 500"},
		{"control character", "no\x07proof", "control character"},
		{"bidi override", "no\u202eproof", "format character"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, b := e.send("po", http.MethodPost, "/api/v1/requests/"+q+"/refuse", map[string]string{"reason": c.reason})
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), c.want) {
				t.Errorf("got %d %s, want 400 saying %q", res.StatusCode, b, c.want)
			}
		})
	}
	var r apiclient.Request
	e.get("po", "/api/v1/requests/"+q, http.StatusOK, &r)
	if r.Outcome != "" {
		t.Fatalf("after the bad reasons: outcome %q, want the request open", r.Outcome)
	}
	before := e.head()
	if res, b := e.send("po", http.MethodPost, "/api/v1/requests/"+q+"/refuse", map[string]string{"reason": " 本人確認ができない "}); res.StatusCode != http.StatusOK {
		t.Fatalf("refuse: got %d %s", res.StatusCode, b)
	}
	if got := entries(e, before, audit.ActionRequestRefused); len(got) != 1 || got[0].Actor != "po" || got[0].Reason != "本人確認ができない" {
		t.Errorf("got request-refused entries %+v, want one by po with the reason trimmed", got)
	}
}
