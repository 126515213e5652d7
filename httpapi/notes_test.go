package httpapi

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
)

// TestNotes: a supervisor notes a point of a recording it may see; the
// note is listed to whoever sees the recording, audited without its
// text, disclosed to the person with the recording, and destroyed with
// it; a role that may not write notes, a recording out of view and a
// bad note change nothing.
func TestNotes(t *testing.T) {
	e := newEnv(t)
	started := time.Now().Add(-time.Hour)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 4, started: started},
		rec{purpose: "complaints", caller: "0312345678", seconds: 2, started: started.Add(time.Minute)},
		rec{purpose: "training", caller: "0399999999", seconds: 2, started: started.Add(2 * time.Minute)})
	cs, complaints, training := ids[0], ids[1], ids[2]
	path := func(id string) string { return "/api/v1/recordings/" + id + "/notes" }
	before := e.head()
	for _, tc := range []struct {
		who, id string
		body    any
		want    int
	}{
		{"sup", cs, map[string]any{"body": ""}, http.StatusBadRequest},
		{"sup", cs, map[string]any{"body": "a\u202eb"}, http.StatusBadRequest},
		{"sup", cs, map[string]any{"body": "bell\a"}, http.StatusBadRequest},
		{"sup", cs, map[string]any{"body": strings.Repeat("長", maxNote+1)}, http.StatusBadRequest},
		{"sup", cs, map[string]any{"body": "x", "at": -1}, http.StatusBadRequest},
		{"sup", cs, map[string]any{"body": "x", "at": 60}, http.StatusBadRequest},
		{"sup", cs, map[string]any{"body": "x", "author": "someone"}, http.StatusBadRequest},
		{"aud", training, map[string]any{"body": "x"}, http.StatusForbidden},
		{"sup", complaints, map[string]any{"body": "x"}, http.StatusNotFound},
	} {
		if res, b := e.send(tc.who, http.MethodPost, path(tc.id), tc.body); res.StatusCode != tc.want {
			t.Errorf("%s %v: got %d %s, want %d", tc.who, tc.body, res.StatusCode, b, tc.want)
		}
	}
	for _, id := range ids {
		if ns, _ := catalog.Notes(t.Context(), e.cat.DB(), id); len(ns) != 0 {
			t.Fatalf("a refused note was stored: %+v", ns)
		}
	}
	for _, a := range e.audit(before) {
		if a.Action == audit.ActionNote {
			t.Errorf("a refused note was audited: %+v", a)
		}
	}

	at := 1.5
	res, b := e.send("sup", http.MethodPost, path(cs), apiclient.NewNote{At: &at, Body: "挨拶なし\n要指導"})
	var n apiclient.Note
	if json.Unmarshal(b, &n); res.StatusCode != http.StatusCreated || n.Author != "sup" || n.At == nil || *n.At != 1.5 || n.Body != "挨拶なし\n要指導" {
		t.Fatalf("note: got %d %s", res.StatusCode, b)
	}
	if res, b := e.send("po", http.MethodPost, path(cs), apiclient.NewNote{Body: "確認済み"}); res.StatusCode != http.StatusCreated {
		t.Fatalf("a privacy officer's note: %d %s", res.StatusCode, b)
	}
	var list apiclient.NoteList
	e.get("po", path(cs), http.StatusOK, &list)
	if len(list.Notes) != 2 || list.Notes[0].ID != n.ID || list.Notes[1].At != nil || list.Notes[1].Author != "po" {
		t.Errorf("notes: %+v", list.Notes)
	}
	e.get("aud", path(cs), http.StatusNotFound, nil) // cs-quality is not open to auditors
	var notes int
	for _, a := range e.audit(before) {
		if a.Action != audit.ActionNote {
			continue
		}
		notes++
		if a.Target != cs || strings.Contains(a.Detail, "挨拶") || strings.Contains(a.Detail, "確認") {
			t.Errorf("note audited as %+v: want the recording as target and no text", a)
		}
	}
	if notes != 2 {
		t.Errorf("%d note entries, want 2", notes)
	}

	// Disclosed with the recording.
	res, b = e.send("po", http.MethodPost, "/api/v1/requests/"+e.newRequest("disclosure", "0312345678")+"/disclose", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("disclose: %d %s", res.StatusCode, b)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name != "manifest.json" && f.Name != "summary.txt" {
			continue
		}
		rc, _ := f.Open()
		body, _ := io.ReadAll(rc)
		rc.Close()
		if !strings.Contains(string(body), "要指導") || !strings.Contains(string(body), "確認済み") {
			t.Errorf("%s does not hold the notes:\n%s", f.Name, body)
		}
	}

	// Destroyed with the recording.
	r, err := e.cat.Get(t.Context(), cs)
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.Tombstone(t.Context(), e.cat.DB(), r, time.Now(), "test", "test"); err != nil {
		t.Fatal(err)
	}
	if ns, err := catalog.Notes(t.Context(), e.cat.DB(), cs); err != nil || len(ns) != 0 {
		t.Errorf("notes of a destroyed recording: %+v %v", ns, err)
	}
}
