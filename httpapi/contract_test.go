package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/contract"
	"github.com/kiroku-voice/kiroku/spool"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// seedAcme stores five recordings of acme (one opted out, without
// audio), one of globex and one of no client; it holds acme's third.
func seedAcme(t *testing.T, e *env) (acme []string, globex, own string) {
	t.Helper()
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	var recs []rec
	for i := range 5 {
		r := rec{purpose: "cs-quality", client: "acme", caller: fmt.Sprintf("031111111%d", i), seconds: 1, started: start.Add(time.Duration(i) * time.Hour)}
		if i == 4 {
			r.decision, r.seconds = spool.OptedOut, 0
		}
		recs = append(recs, r)
	}
	recs = append(recs, rec{purpose: "cs-quality", client: "globex", caller: "0322222222", seconds: 1, started: start},
		rec{purpose: "cs-quality", caller: "0333333333", seconds: 1, started: start})
	ids := e.seed(recs...)
	if res, b := e.send("acme-po", http.MethodPut, "/api/v1/recordings/"+ids[2]+"/hold", map[string]any{"reason": "訴訟 2026-17"}); res.StatusCode != 200 {
		t.Fatalf("hold: %d %s", res.StatusCode, b)
	}
	return ids[:5], ids[5], ids[6]
}

// TestContractEndRefusals: who may not, and bad targets, change nothing
// and say why.
func TestContractEndRefusals(t *testing.T) { catalogtest.Each(t, testContractEndRefusals) }

func testContractEndRefusals(t *testing.T, db catalogtest.DB) {
	e := newS3Env(t, db)
	seedAcme(t, e.env)
	for _, tc := range []struct {
		name, who, method, path string
		body                    any
		code                    int
		say                     string
		audited                 bool
	}{
		{"supervisor", "sup", "GET", "/api/v1/clients/acme/contract-end", nil, 403, "open to admin", true},
		{"privacy officer runs", "po", "POST", "/api/v1/clients/acme/contract-end", map[string]any{"target": map[string]any{"kind": "zip"}}, 403, "open to admin", true},
		{"unknown client", "adm", "GET", "/api/v1/clients/nosuch/contract-end", nil, 404, "no such client", true},
		{"other client's admin", "acme-adm", "GET", "/api/v1/clients/globex/contract-end", nil, 404, "no such client", true},
		{"bad client id", "adm", "GET", "/api/v1/clients/ACME/contract-end", nil, 400, "not a client id", false},
		{"no target", "adm", "POST", "/api/v1/clients/acme/contract-end", map[string]any{}, 400, "target: required", false},
		{"unknown field", "adm", "POST", "/api/v1/clients/acme/contract-end", map[string]any{"target": map[string]any{"kind": "zip"}, "force": true}, 400, "unknown field", false},
		{"bad kind", "adm", "POST", "/api/v1/clients/acme/contract-end", map[string]any{"target": map[string]any{"kind": "ftp"}}, 400, "is not zip or s3", false},
		{"the store's own bucket", "adm", "POST", "/api/v1/clients/acme/contract-end", map[string]any{"target": map[string]any{"kind": "s3", "bucket": e.srv.Bucket}}, 400, "holds the recordings themselves", false},
		{"bad bucket", "adm", "POST", "/api/v1/clients/acme/contract-end", map[string]any{"target": map[string]any{"kind": "s3", "bucket": "Acme_Returns"}}, 400, "is not an S3 bucket name", false},
		{"bad prefix", "adm", "POST", "/api/v1/clients/acme/contract-end", map[string]any{"target": map[string]any{"kind": "s3", "bucket": returnBucket, "prefix": "a/../b"}}, 400, "is not a key prefix", false},
		{"no such bucket", "adm", "POST", "/api/v1/clients/acme/contract-end", map[string]any{"target": map[string]any{"kind": "s3", "bucket": "no-such-bucket"}}, 400, "no-such-bucket", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head()
			res, b := e.send(tc.who, tc.method, tc.path, tc.body)
			if res.StatusCode != tc.code || !strings.Contains(string(b), tc.say) {
				t.Errorf("got %d %s, want %d saying %s", res.StatusCode, b, tc.code, tc.say)
			}
			es := e.audit(before)
			denied := len(es) == 1 && es[0].Action == "denied"
			if tc.audited != denied {
				t.Errorf("got audit %+v, want a denial: %v", es, tc.audited)
			}
		})
	}
	if runs, err := catalog.ListContractEnds(t.Context(), e.cat.DB()); err != nil || len(runs) != 0 {
		t.Errorf("got %d runs %v, want none", len(runs), err)
	}
	if n, _ := e.cat.Count(t.Context()); n != 7 {
		t.Errorf("got %d recordings, want all 7 still there", n)
	}
}

// TestContractEndS3: the plan's figures, then a return into another
// bucket: every recording copied decrypted with its manifest, read back,
// the originals destroyed (rows tombstoned, objects gone) except the
// held one, which is kept and listed; the certificate gives the plan's
// figures, the checksums of what was returned, who ran it and the audit
// entries covering it.
func TestContractEndS3(t *testing.T) { catalogtest.Each(t, testContractEndS3) }

func testContractEndS3(t *testing.T, db catalogtest.DB) {
	e := newS3Env(t, db)
	acme, globex, own := seedAcme(t, e.env)
	var plan contract.Plan
	e.get("acme-adm", "/api/v1/clients/acme/contract-end", 200, &plan)
	if plan.Recordings != 5 || plan.WithAudio != 4 || plan.Held != 1 || plan.ToDestroy != 4 || len(plan.Blockers) != 0 || plan.Run != nil {
		t.Fatalf("got plan %+v", plan)
	}
	res, b := e.send("acme-adm", http.MethodPost, "/api/v1/clients/acme/contract-end",
		map[string]any{"target": map[string]any{"kind": "s3", "bucket": returnBucket, "prefix": "returns/2026"}})
	if res.StatusCode != 200 {
		t.Fatalf("run: got %d %s", res.StatusCode, b)
	}
	var cert contract.Certificate
	if err := json.Unmarshal(b, &cert); err != nil {
		t.Fatal(err)
	}
	c := cert.Counts
	if c.Recordings != plan.Recordings || c.Returned != plan.Recordings || c.Destroyed != plan.ToDestroy || c.Held != plan.Held ||
		c.NotReturned != 0 || !cert.First.Equal(*plan.First) || !cert.Last.Equal(*plan.Last) {
		t.Errorf("got counts %+v %v–%v, want the plan's %+v", c, cert.First, cert.Last, plan)
	}
	if len(cert.Held) != 1 || cert.Held[0].ID != acme[2] || cert.Held[0].Reason != "訴訟 2026-17" {
		t.Errorf("got held %+v", cert.Held)
	}
	if !slices.Equal(cert.Operators, []string{"acme-adm"}) || cert.Client.Name != "ACME 株式会社" {
		t.Errorf("got operators %v, client %+v", cert.Operators, cert.Client)
	}
	// The copy: decrypted WAVs byte for byte, manifests with the caller
	// in clear, SHA256SUMS and the certificate beside them.
	get := func(key string) []byte {
		o, err := e.cli.GetObject(t.Context(), returnBucket, "returns/2026/"+key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		b, err := io.ReadAll(o)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return b
	}
	sums := string(get("SHA256SUMS"))
	for i, id := range acme {
		m := get("manifests/" + id + ".json")
		if !strings.Contains(string(m), fmt.Sprintf(`"caller": "031111111%d"`, i)) || !strings.Contains(sums, sha(m)+"  manifests/"+id+".json") {
			t.Errorf("manifest of %s: %s", id, m)
		}
		if wav, ok := e.wavs[id]; ok {
			if got := get("recordings/" + id + ".wav"); !bytes.Equal(got, wav) || !strings.Contains(sums, sha(wav)+"  recordings/"+id+".wav") {
				t.Errorf("returned audio of %s: %d bytes, want the %d recorded", id, len(got), len(wav))
			}
		}
	}
	var stored contract.Certificate
	if err := json.Unmarshal(get("certificate.json"), &stored); err != nil || stored.Run != cert.Run {
		t.Errorf("certificate.json in the target: %v", err)
	}
	if txt := string(get("certificate.txt")); !strings.Contains(txt, "法的保全のため保持 / Kept under legal hold: 1") {
		t.Errorf("certificate.txt:\n%s", txt)
	}
	// The originals: destroyed but for the held one; other clients' and
	// own lines untouched.
	var left []string
	for o := range e.cli.ListObjects(t.Context(), e.srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		left = append(left, o.Key)
	}
	held, _ := e.cat.Get(t.Context(), acme[2])
	g, _ := e.cat.Get(t.Context(), globex)
	o, _ := e.cat.Get(t.Context(), own)
	want := []string{held.ObjectKey, held.ManifestKey, g.ObjectKey, g.ManifestKey, o.ObjectKey, o.ManifestKey}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("source bucket after the run:\n%v\nwant\n%v", left, want)
	}
	for i, id := range acme {
		_, err := e.cat.Get(t.Context(), id)
		tomb, terr := e.cat.GetTombstone(t.Context(), id)
		if i == 2 {
			if err != nil || terr == nil {
				t.Errorf("held %s: row %v, tombstone %v", id, err, terr)
			}
			continue
		}
		if err == nil || terr != nil || tomb.Reason != "contract end "+cert.Run || tomb.Actor != "acme-adm" || tomb.Client != "acme" {
			t.Errorf("%s: row %v, tombstone %+v %v", id, err, tomb, terr)
		}
	}
	// The audit range covers every step of the run, and its last entry
	// holds the certificate's SHA-256.
	es := e.audit(0)
	var steps []string
	for _, en := range es {
		if strings.HasPrefix(string(en.Action), "contract-end-") && en.Action != "contract-end-plan" {
			if en.Seq < cert.Audit.FirstSeq || en.Seq > cert.Audit.LastSeq {
				t.Errorf("entry %d %s outside the certificate's range %d–%d", en.Seq, en.Action, cert.Audit.FirstSeq, cert.Audit.LastSeq)
			}
			steps = append(steps, string(en.Action))
		}
	}
	count := func(a string) int {
		n := 0
		for _, s := range steps {
			if s == a {
				n++
			}
		}
		return n
	}
	if count("contract-end-start") != 1 || count("contract-end-export") != 5 || count("contract-end-verify") != 5 ||
		count("contract-end-destroy") != 4 || count("contract-end-held") != 1 || count("contract-end-certify") != 1 {
		t.Errorf("got steps %v", steps)
	}
	last := es[len(es)-1]
	for _, en := range es {
		if en.Seq == cert.Audit.LastSeq {
			last = en
		}
	}
	run, _ := catalog.GetContractEnd(t.Context(), e.cat.DB(), cert.Run)
	if last.Action != "contract-end-certify" || !strings.Contains(last.Detail, sha(run.Certificate)) {
		t.Errorf("entry %d: %s %s, want the certify entry with the certificate's sha256", last.Seq, last.Action, last.Detail)
	}
	if _, err := audit.Verify(t.Context(), e.cat.DB()); err != nil {
		t.Error(err)
	}
	// Read back through the API, as text too.
	res, b = e.do("aud", http.MethodGet, "/api/v1/contract-ends/"+cert.Run+"/certificate?format=text", nil)
	if res.StatusCode != 200 || !strings.Contains(string(b), "消去 / Destroyed: 4") {
		t.Errorf("certificate text: %d %s", res.StatusCode, b)
	}
	if res, _ := e.do("globex-sup", http.MethodGet, "/api/v1/contract-ends/"+cert.Run, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a supervisor reading a run: got %d, want 403", res.StatusCode)
	}
	e.get("acme-adm", "/api/v1/clients/acme/contract-end", 200, &plan)
	if plan.Recordings != 1 || plan.Held != 1 || plan.ToDestroy != 0 {
		t.Errorf("plan after the run: %+v, want the held recording only", plan)
	}
}

// TestContractEndZIP: a ZIP return waits for the recipient's checksums;
// a file that does not match keeps its recording (never destroyed), and
// the next ZIP carries only what is left; once all match the run is
// certified.
func TestContractEndZIP(t *testing.T) { catalogtest.Each(t, testContractEndZIP) }

func testContractEndZIP(t *testing.T, db catalogtest.DB) {
	e := newEnvOn(t, db, t.TempDir(), mustFS(t), clientConfig(t, ""), nil)
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	ids := e.seed(rec{purpose: "cs-quality", client: "acme", caller: "0311111111", seconds: 1, started: start},
		rec{purpose: "cs-quality", client: "acme", caller: "0311111112", seconds: 1, started: start.Add(time.Hour)},
		rec{purpose: "cs-quality", client: "acme", caller: "0311111113", decision: spool.OptedOut, started: start.Add(2 * time.Hour)})
	zipOf := func() map[string][]byte {
		res, b := e.send("adm", http.MethodPost, "/api/v1/clients/acme/contract-end", map[string]any{"target": map[string]any{"kind": "zip"}})
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/zip" {
			t.Fatalf("zip: got %d %s", res.StatusCode, b)
		}
		return zipFiles(t, b)
	}
	files := zipOf()
	var index contract.ZIPIndex
	json.Unmarshal(files["index.json"], &index)
	if len(index.Items) != 3 || !bytes.Equal(files["recordings/"+ids[0]+".wav"], e.wavs[ids[0]]) {
		t.Fatalf("got index %+v and files %v", index, keysOf(files))
	}
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(files["SHA256SUMS"])), "\n") {
		sum, name, _ := strings.Cut(line, "  ")
		if sha(files[name]) != sum {
			t.Errorf("SHA256SUMS: %s does not match %s", sum, name)
		}
		sums[name] = sum
	}
	// The recipient's copy of one file differs: its recording stays.
	sums["recordings/"+ids[1]+".wav"] = strings.Repeat("0", 64)
	var conf contract.Confirmation
	res, b := e.send("adm", http.MethodPost, "/api/v1/contract-ends/"+index.Run+"/confirm", map[string]any{"sums": sums})
	if json.Unmarshal(b, &conf); res.StatusCode != 200 || conf.Verified != 2 || len(conf.Mismatches) != 1 || conf.Certificate != nil {
		t.Fatalf("confirm: got %d %s", res.StatusCode, b)
	}
	if _, err := e.cat.Get(t.Context(), ids[1]); err != nil {
		t.Errorf("the recording whose copy did not match is gone: %v", err)
	}
	for _, id := range []string{ids[0], ids[2]} {
		if _, err := e.cat.Get(t.Context(), id); err == nil {
			t.Errorf("%s confirmed but not destroyed", id)
		}
	}
	if res, b := e.send("adm", http.MethodPost, "/api/v1/contract-ends/"+index.Run+"/confirm", map[string]any{"sums": sums}); res.StatusCode != http.StatusConflict {
		t.Errorf("confirm of a run not awaiting one: got %d %s", res.StatusCode, b)
	}
	files = zipOf()
	want := []string{"SHA256SUMS", "index.json", "manifests/" + ids[1] + ".json", "recordings/" + ids[1] + ".wav"}
	if got := keysOf(files); !slices.Equal(got, want) {
		t.Fatalf("second ZIP: %v, want only what is left: %v", got, want)
	}
	sums = map[string]string{}
	for name, body := range files {
		sums[name] = sha(body)
	}
	res, b = e.send("adm", http.MethodPost, "/api/v1/contract-ends/"+index.Run+"/confirm", map[string]any{"sums": sums})
	if json.Unmarshal(b, &conf); res.StatusCode != 200 || conf.Certificate == nil {
		t.Fatalf("second confirm: got %d %s", res.StatusCode, b)
	}
	if c := conf.Certificate.Counts; c.Recordings != 3 || c.Returned != 3 || c.Destroyed != 3 || c.Held != 0 {
		t.Errorf("got counts %+v", c)
	}
	if n, _ := e.cat.Count(t.Context()); n != 0 {
		t.Errorf("%d recordings left", n)
	}
}

// TestContractEndClientLimits: a client-scoped admin ends a client's
// contract only if the client's limits.roles allow admin: hooli's allow
// supervisors and auditors only, so hooli-adm is refused the dry run,
// the run and the runs' list, each audited, and nothing starts.
func TestContractEndClientLimits(t *testing.T) { catalogtest.Each(t, testContractEndClientLimits) }

func testContractEndClientLimits(t *testing.T, db catalogtest.DB) {
	e := newEnvOn(t, db, t.TempDir(), mustFS(t), limitsConfig(t), func(o *Options) {
		ce, err := newContractService(o, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		o.Contract = ce
	})
	e.seed(rec{purpose: "cs-quality", client: "hooli", caller: "0311111111", seconds: 1})
	for _, tc := range []struct {
		method string
		body   any
	}{{http.MethodGet, nil}, {http.MethodPost, map[string]any{"target": map[string]any{"kind": "zip"}}}} {
		before := e.head()
		res, b := e.send("hooli-adm", tc.method, "/api/v1/clients/hooli/contract-end", tc.body)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "limits") {
			t.Errorf("%s: got %d %s, want 403 naming the client's limits", tc.method, res.StatusCode, b)
		}
		if es := e.audit(before); len(es) != 1 || es[0].Action != "denied" {
			t.Errorf("%s: got audit %+v, want one denial", tc.method, es)
		}
	}
	if runs, err := catalog.ListContractEnds(t.Context(), e.cat.DB()); err != nil || len(runs) != 0 {
		t.Errorf("got %d runs %v, want none", len(runs), err)
	}
	if n, _ := e.cat.Count(t.Context()); n != 1 {
		t.Errorf("got %d recordings, want hooli's still there", n)
	}
}

// TestContractEndChecksPurposes: a contract-end ZIP hands the client's
// audio decrypted to the token's holder, so it is a read like any other:
// an admin whose role is not among the listeners of one of the client's
// purposes (complaints: privacy officers only) sees why in the plan
// (zip_refused, not a blocker: an S3 return is open), and a ZIP run is
// refused with 403, a denied audit entry, no byte of a ZIP and no run
// begun; the recordings stay. Once the only such recording is gone, the
// same admin's ZIP is served.
func TestContractEndChecksPurposes(t *testing.T) {
	e := newEnvOn(t, catalogtest.New(t, catalog.SQLite), t.TempDir(), mustFS(t), clientConfig(t, ""), nil)
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	ids := e.seed(rec{purpose: "cs-quality", client: "acme", caller: "0311111111", seconds: 1, started: start},
		rec{purpose: "complaints", client: "acme", caller: "0311111112", seconds: 1, started: start.Add(time.Hour)})
	var plan contract.Plan
	e.get("adm", "/api/v1/clients/acme/contract-end", 200, &plan)
	if len(plan.ZIPRefused) != 1 || !strings.Contains(plan.ZIPRefused[0], `purpose "complaints"`) || len(plan.Blockers) != 0 {
		t.Errorf("plan: ZIP refused %q, blockers %q; want the complaints purpose named for a ZIP only", plan.ZIPRefused, plan.Blockers)
	}
	for _, target := range []map[string]any{{"kind": "zip"}} {
		before := e.audit(0)
		res, b := e.send("adm", http.MethodPost, "/api/v1/clients/acme/contract-end", map[string]any{"target": target})
		if res.StatusCode != http.StatusForbidden || bytes.HasPrefix(b, []byte("PK")) || !strings.Contains(string(b), "complaints") {
			t.Fatalf("%v: got %d %.120q, want 403 naming the purpose and no ZIP", target["kind"], res.StatusCode, b)
		}
		var denied bool
		for _, en := range e.audit(0)[len(before):] {
			if en.Action == audit.ActionDenied && en.Target == "client:acme" {
				denied = true
			} else {
				t.Errorf("%v: a refused contract end audited %s %s", target["kind"], en.Action, en.Target)
			}
		}
		if !denied {
			t.Errorf("%v: no denied audit entry", target["kind"])
		}
	}
	if runs, err := catalog.ListContractEnds(t.Context(), e.cat.DB()); err != nil || len(runs) != 0 {
		t.Errorf("runs after refusals: %v, %v; want none begun", runs, err)
	}
	for _, id := range ids {
		if _, err := e.cat.Get(t.Context(), id); err != nil {
			t.Errorf("%s after a refused contract end: %v", id, err)
		}
	}
	if _, err := e.cat.DB().Exec(`DELETE FROM recordings WHERE id = ?`, ids[1]); err != nil {
		t.Fatal(err)
	}
	if res, b := e.send("adm", http.MethodPost, "/api/v1/clients/acme/contract-end", map[string]any{"target": map[string]any{"kind": "zip"}}); res.StatusCode != 200 || !bytes.HasPrefix(b, []byte("PK")) {
		t.Errorf("zip with only cs-quality left: got %d %.80q, want the ZIP", res.StatusCode, b)
	}
}
