package main

import (
	"archive/zip"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiroku-voice/kiroku/apiclient"
)

func TestRequestsDiscloseAndStopUse(t *testing.T) {
	k := startKirokud(t)
	code, out, stderr := k.ctl(t, "po", "requests", "create", "-kind", "disclosure", "-caller", "03-1234-5678",
		"-verification", "運転免許証 R-1", "-requester", "本人", "-o", "json")
	var r apiclient.Request
	if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil {
		t.Fatalf("create: exit %d %v\n%s%s", code, err, out, stderr)
	}
	file := filepath.Join(t.TempDir(), "d.zip")
	if code, out, stderr := k.ctl(t, "po", "requests", "disclose", r.ID, "-out", file); code != 0 {
		t.Fatalf("disclose: exit %d\n%s%s", code, out, stderr)
	}
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	// Two recordings with audio, one opted out (no audio), manifest, summary, sums.
	if len(names) != 5 {
		t.Errorf("got ZIP files %v, want 2 WAVs, manifest.json, summary.txt and SHA256SUMS", names)
	}
	if code, out, _ := k.ctl(t, "po", "requests", "list"); code != 0 || !strings.Contains(out, "answered") {
		t.Errorf("list: exit %d\n%s", code, out)
	}

	_, out, _ = k.ctl(t, "po", "requests", "create", "-kind", "stop-of-use", "-caller", "0312345678", "-verification", "R-2", "-requester", "本人", "-o", "json")
	json.Unmarshal([]byte(out), &r)
	if code, out, stderr := k.ctl(t, "po", "requests", "stop-use", r.ID); code != 0 {
		t.Fatalf("stop-use: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, _ := k.ctl(t, "sup", "recordings", "search"); code != 0 || strings.Contains(out, k.ids[0]) {
		t.Errorf("supervisor search after stop-use: exit %d\n%s", code, out)
	}
	if code, _, stderr := k.ctl(t, "sup", "requests", "list"); code != exitFail || !strings.Contains(stderr, "HTTP 403") {
		t.Errorf("supervisor requests list: exit %d %s", code, stderr)
	}
}

// TestRequestTables: a request shown and the provision records print as
// tables by default (fields, rows), and as JSON with -o json.
func TestRequestTables(t *testing.T) {
	k := startKirokud(t)
	_, out, _ := k.ctl(t, "po", "requests", "create", "-kind", "disclosure", "-caller", "0312345678", "-verification", "R-3", "-requester", "本人", "-o", "json")
	var r apiclient.Request
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	code, out, stderr := k.ctl(t, "po", "requests", "show", r.ID, "-tz", "UTC")
	if code != 0 || !strings.Contains(out, "id:") || !strings.Contains(out, r.ID) || !strings.Contains(out, " UTC") || strings.Contains(out, "{\n") {
		t.Errorf("show: exit %d, want fields with UTC times\n%s%s", code, out, stderr)
	}
	if code, out, _ := k.ctl(t, "po", "requests", "provisions"); code != 0 || !strings.Contains(out, "(none)") {
		t.Errorf("provisions before any: exit %d\n%s", code, out)
	}
	file := filepath.Join(t.TempDir(), "p.zip")
	if code, out, stderr := k.ctl(t, "po", "requests", "provide", "-recipient", "Acme Research", "-legal-basis", "consent", "-consent-ref", "C-1", "-ids", k.ids[0], "-out", file); code != 0 {
		t.Fatalf("provide: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = k.ctl(t, "po", "requests", "provisions")
	if code != 0 || !strings.HasPrefix(out, "ID") || !strings.Contains(out, "RECIPIENT") || !strings.Contains(out, "Acme Research") || !strings.Contains(out, k.ids[0]) {
		t.Errorf("provisions: exit %d, want a table\n%s%s", code, out, stderr)
	}
	code, out, _ = k.ctl(t, "po", "requests", "provisions", "-o", "json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 {
		t.Errorf("provisions -o json: exit %d %v\n%s", code, err, out)
	}
}

// TestRequestErase: requests erase without -confirm prints what the
// erasure destroys and keeps, and the command that runs it, changing
// nothing; with the confirm it erases; the disclosure ZIP downloads
// again.
func TestRequestErase(t *testing.T) {
	k := startKirokud(t)
	_, out, _ := k.ctl(t, "po", "requests", "create", "-kind", "erasure", "-caller", "0312345678", "-verification", "R-9", "-requester", "本人", "-o", "json")
	var r apiclient.Request
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	code, out, stderr := k.ctl(t, "po", "requests", "erase", r.ID)
	if code != 0 || !strings.Contains(out, "would destroy 3 recordings and keep 0") || !strings.Contains(out, k.ids[0]) {
		t.Fatalf("erase without -confirm: exit %d\n%s%s", code, out, stderr)
	}
	i := strings.Index(out, "-confirm ")
	if i < 0 {
		t.Fatalf("no confirm in\n%s", out)
	}
	confirm := strings.TrimSpace(out[i+len("-confirm "):])
	if n, _ := k.d.Catalog().Count(t.Context()); n != 3 {
		t.Fatalf("%d recordings after the plan, want the 3 still there", n)
	}
	if code, _, stderr := k.ctl(t, "po", "requests", "erase", r.ID, "-confirm", "0000000000000000"); code != exitFail || !strings.Contains(stderr, "HTTP 409") {
		t.Errorf("erase with a wrong confirm: exit %d %s", code, stderr)
	}
	if code, out, stderr := k.ctl(t, "po", "requests", "erase", r.ID, "-confirm", confirm); code != 0 || !strings.Contains(out, k.ids[0]) {
		t.Fatalf("erase: exit %d\n%s%s", code, out, stderr)
	}
	if n, _ := k.d.Catalog().Count(t.Context()); n != 0 {
		t.Errorf("%d recordings after the erasure", n)
	}
	if code, _, stderr := k.ctl(t, "po", "requests", "create", "-kind", "erasure", "-caller", "0312345678", "-requester", "本人"); code != exitFail || !strings.Contains(stderr, "verification") {
		t.Errorf("a request without verification: exit %d %s", code, stderr)
	}
}
