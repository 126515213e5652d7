package contract_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/contract"
	"github.com/kiroku-voice/kiroku/storage"
)

// actions counts the audit entries of each action whose name starts
// with "contract-end-", by actor.
func actions(t *testing.T, cat *catalog.Catalog) map[string]int {
	t.Helper()
	es, err := audit.List(t.Context(), cat.DB(), audit.Filter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range es {
		if strings.HasPrefix(string(e.Action), "contract-end-") {
			out[e.Actor+" "+string(e.Action)]++
		}
	}
	return out
}

// TestOneRunPerClient: two nodes sharing the catalog start the same
// client's contract end together: the one holding the client's catalog
// lock runs it, the other is refused (it neither resumes the run nor
// audits anything), and the run is certified once.
func TestOneRunPerClient(t *testing.T) {
	catalogtest.Each(t, testOneRunPerClient)
}

func testOneRunPerClient(t *testing.T, db catalogtest.DB) {
	e := newEnv(t, db, 3)
	// Node b has a handle of its own on PostgreSQL; a SQLite file is
	// one process's, so there b shares a's handle, as two requests to
	// one kirokud do.
	catB := e.cat
	if db.Driver == catalog.Postgres {
		catB = db.Open(t)
	}
	// a stops while it holds the lock (at its spool check) until b has
	// tried.
	inA, goA := make(chan struct{}), make(chan struct{})
	var once sync.Once
	a := e.service(t, e.cat, func(string) (int, error) {
		once.Do(func() { close(inA) })
		<-goA
		return 0, nil
	})
	b := e.service(t, catB, nil)
	target := contract.Target{Kind: contract.KindS3, Bucket: "returns"}
	type result struct {
		cert *contract.Certificate
		err  error
	}
	done := make(chan result, 1)
	go func() {
		cert, err := a.ReturnS3(t.Context(), "adm-a", acme, target)
		done <- result{cert, err}
	}()
	<-inA
	_, errS3 := b.ReturnS3(t.Context(), "adm-b", acme, target)
	var zipped strings.Builder
	_, _, errZIP := b.ReturnZIP(t.Context(), "adm-b", acme, &zipped)
	close(goA)
	ra := <-done
	for name, err := range map[string]error{"s3": errS3, "zip": errZIP} {
		if !errors.Is(err, contract.ErrBlocked) || !strings.Contains(err.Error(), "running on another node") {
			t.Errorf("b's %s return while a runs: got %v, want ErrBlocked, running on another node", name, err)
		}
	}
	if ra.err != nil {
		t.Fatalf("a: %v", ra.err)
	}
	if c := ra.cert.Counts; c.Returned != 3 || c.Destroyed != 3 || len(ra.cert.Operators) != 1 {
		t.Errorf("a's certificate: got %+v by %v", c, ra.cert.Operators)
	}
	got := actions(t, e.cat)
	want := map[string]int{"adm-a contract-end-start": 1, "adm-a contract-end-export": 3, "adm-a contract-end-verify": 3,
		"adm-a contract-end-destroy": 3, "adm-a contract-end-certify": 1}
	if len(got) != len(want) {
		t.Errorf("got audit %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: got %d entries, want %d (all: %v)", k, got[k], n, got)
		}
	}
	runs, err := catalog.ListContractEnds(t.Context(), e.cat.DB())
	if err != nil || len(runs) != 1 {
		t.Fatalf("got %d runs %v, want one", len(runs), err)
	}
	// Once a is done, b may run: the lock was released.
	if _, err := b.Plan(t.Context(), "adm-b", acme); err != nil {
		t.Errorf("plan after: %v", err)
	}
}

// zipSums returns the SHA-256 of every file of a ZIP, as its recipient
// computes them.
func zipSums(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		out[f.Name] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

// TestStrayRecordingBlocksCertificate: a recording of the client stored
// after the run listed its items (by a node still recording for the
// client, or draining its spool) keeps the run from being certified, and
// the refusal names it; running again returns it, and the certificate
// then covers it.
func TestStrayRecordingBlocksCertificate(t *testing.T) {
	catalogtest.Each(t, testStrayRecordingBlocksCertificate)
}

func testStrayRecordingBlocksCertificate(t *testing.T, db catalogtest.DB) {
	e := newEnv(t, db, 2)
	var zipped bytes.Buffer
	info, _, err := e.svc.ReturnZIP(t.Context(), "adm", acme, &zipped)
	if err != nil {
		t.Fatal(err)
	}
	e.record(t, 2, 1) // another node stores one more call of acme
	stray := e.ids[2]
	_, err = e.svc.Confirm(t.Context(), "adm", info.ID, zipSums(t, zipped.Bytes()), acme)
	if !errors.Is(err, contract.ErrBlocked) || !strings.Contains(err.Error(), stray) {
		t.Fatalf("confirm with a recording outside the run: got %v, want ErrBlocked naming %s", err, stray)
	}
	if run, _ := e.svc.Get(t.Context(), info.ID); run.FinishedAt != nil || len(run.Cert) != 0 {
		t.Fatalf("the run was certified: %+v", run)
	}
	if _, err := e.cat.Get(t.Context(), stray); err != nil {
		t.Fatalf("the stray recording: %v", err)
	}
	// Running again adds it and returns it alone.
	zipped.Reset()
	info, _, err = e.svc.ReturnZIP(t.Context(), "adm", acme, &zipped)
	if err != nil {
		t.Fatal(err)
	}
	sums := zipSums(t, zipped.Bytes())
	if _, ok := sums["recordings/"+stray+".wav"]; !ok || len(sums) != 4 {
		t.Fatalf("second ZIP: got files %v, want the stray recording's", sums)
	}
	conf, err := e.svc.Confirm(t.Context(), "adm", info.ID, sums, acme)
	if err != nil || conf.Certificate == nil {
		t.Fatalf("confirm: %+v %v", conf, err)
	}
	if c := conf.Certificate.Counts; c.Recordings != 3 || c.Returned != 3 || c.Destroyed != 3 {
		t.Errorf("got %+v, want 3 returned and destroyed", c)
	}
}

// TestDefaultPrefix: an S3 return given no prefix goes into a folder of
// its own, <client>/<run id>/, so a second return into the same bucket
// does not overwrite the first one's SHA256SUMS and certificate; a run
// interrupted is resumed by asking again without a prefix.
func TestDefaultPrefix(t *testing.T) {
	catalogtest.Each(t, testDefaultPrefix)
}

func testDefaultPrefix(t *testing.T, db catalogtest.DB) {
	e := newEnv(t, db, 1)
	target := contract.Target{Kind: contract.KindS3, Bucket: "returns"}
	// A file where the client's folder goes stops the first attempt.
	block := filepath.Join(e.dir, "target", "acme")
	if err := os.WriteFile(block, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ReturnS3(t.Context(), "adm", acme, target); err == nil {
		t.Fatal("a return into a folder that cannot be made succeeded")
	}
	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	first, err := e.svc.ReturnS3(t.Context(), "adm", acme, target)
	if err != nil {
		t.Fatalf("resumed without a prefix: %v", err)
	}
	e.record(t, 1, 1)
	second, err := e.svc.ReturnS3(t.Context(), "adm", acme, target)
	if err != nil {
		t.Fatal(err)
	}
	for _, cert := range []*contract.Certificate{first, second} {
		dir := "acme/" + cert.Run
		if cert.Target.Prefix != dir || cert.Counts.Returned != 1 {
			t.Errorf("run %s: got target %+v, %d returned; want prefix %s, 1", cert.Run, cert.Target, cert.Counts.Returned, dir)
		}
		rc, err := e.target.Get(t.Context(), dir+"/certificate.json", 0, -1)
		if err != nil {
			t.Fatalf("run %s: %v", cert.Run, err)
		}
		var got contract.Certificate
		err = json.NewDecoder(rc).Decode(&got)
		rc.Close()
		if err != nil || got.Run != cert.Run {
			t.Errorf("%s/certificate.json: got run %s %v, want %s", dir, got.Run, err, cert.Run)
		}
		if _, err := e.target.Stat(t.Context(), dir+"/recordings/"+cert.Returned[0].ID+".wav"); err != nil {
			t.Errorf("run %s: its recording is not in its folder: %v", cert.Run, err)
		}
	}
	if _, err := e.target.Stat(t.Context(), "SHA256SUMS"); err == nil {
		t.Error("SHA256SUMS written at the bucket's root")
	}
}

// TestCrashAfterShred: a run that destroyed recordings (tombstones
// committed: rows and data keys gone) but stopped before deleting their
// objects, as a crash there leaves it, deletes them when run again and
// certifies them destroyed once, with one destruction entry each.
func TestCrashAfterShred(t *testing.T) {
	catalogtest.Each(t, testCrashAfterShred)
}

func testCrashAfterShred(t *testing.T, db catalogtest.DB) {
	e := newEnv(t, db, 2)
	var keys []string
	for _, id := range e.ids {
		rec, err := e.cat.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, rec.ObjectKey, rec.ManifestKey)
	}
	var zipped bytes.Buffer
	info, _, err := e.svc.ReturnZIP(t.Context(), "adm", acme, &zipped)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ConfirmUntilShred(t.Context(), "adm", info.ID); err != nil {
		t.Fatal(err)
	}
	counts, _ := catalog.ContractEndCounts(t.Context(), e.cat.DB(), info.ID)
	if counts[catalog.ItemShredded] != 2 {
		t.Fatalf("got item states %v, want 2 shredded", counts)
	}
	for _, id := range e.ids {
		if _, err := e.cat.Get(t.Context(), id); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("%s: got %v, want its row gone (tombstone)", id, err)
		}
	}
	for _, k := range keys {
		if _, err := e.st.Stat(t.Context(), k); err != nil {
			t.Fatalf("object %s before the rerun: %v", k, err)
		}
	}
	// Run again: the objects are deleted and the run certified.
	var again bytes.Buffer
	_, cert, err := e.svc.ReturnZIP(t.Context(), "adm2", acme, &again)
	if err != nil || cert == nil || again.Len() != 0 {
		t.Fatalf("rerun: cert %v, %d bytes, %v", cert, again.Len(), err)
	}
	if c := cert.Counts; c.Recordings != 2 || c.Returned != 2 || c.Destroyed != 2 || c.Pending != 0 || len(cert.Destroyed) != 2 {
		t.Errorf("got %+v, destroyed %v", c, cert.Destroyed)
	}
	for _, k := range keys {
		if _, err := e.st.Stat(t.Context(), k); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("object %s after the rerun: got %v, want it deleted", k, err)
		}
	}
	got := actions(t, e.cat)
	if got["adm contract-end-destroy"] != 2 || got["adm2 contract-end-destroy"] != 0 || got["adm2 contract-end-certify"] != 1 {
		t.Errorf("got audit %v, want 2 destructions (by the first run) and 1 certification", got)
	}
	if _, err := audit.Verify(t.Context(), e.cat.DB()); err != nil {
		t.Error(err)
	}
}
