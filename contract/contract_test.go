package contract_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/contract"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
	"github.com/kiroku-voice/kiroku/storage/fs"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// env is a catalog, an fs store, keys and an uploader, recordings made
// the way kirokud makes them, and a second fs store as the return target.
type env struct {
	cat    *catalog.Catalog
	st     storage.Store
	target *fs.Store
	keys   *crypt.Keyring
	dir    string
	sp     *spool.Dir
	svc    *contract.Service
	ids    []string
}

var acme = contract.Client{ID: "acme", Name: "ACME"}

func TestMain(m *testing.M) { os.Exit(catalogtest.Main(m)) }

// newEnv makes an env with n recordings of acme, its catalog in db.
func newEnv(t *testing.T, db catalogtest.DB, n int) *env {
	t.Helper()
	keys, _ := crypt.NewKeyring("a", map[string][]byte{"a": bytes.Repeat([]byte("k"), crypt.KeySize)})
	return newEnvKeys(t, db, n, t.TempDir(), keys)
}

// newEnvKeys is newEnv in dir with keys.
func newEnvKeys(t *testing.T, db catalogtest.DB, n int, dir string, keys *crypt.Keyring) *env {
	t.Helper()
	sp, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := fs.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	target, err := fs.New(filepath.Join(dir, "target"))
	if err != nil {
		t.Fatal(err)
	}
	cat := db.Open(t)
	e := &env{cat: cat, st: st, target: target, keys: keys, dir: dir, sp: sp}
	e.record(t, 0, n)
	e.svc = e.service(t, cat, nil)
	return e
}

// record stores n more recordings of acme the way kirokud does, the
// first numbered from, and adds their ids to e.ids.
func (e *env) record(t *testing.T, from, n int) {
	t.Helper()
	sp := e.sp
	start := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		id := uuid.Must(uuid.NewV7()).String()
		f, _ := os.Create(sp.RecordingPath(id))
		w, _ := wav.NewWriter(f, 8000, 2)
		w.Write(bytes.Repeat([]byte{byte(i), 1, 2, 3}, 8000))
		w.Close()
		f.Close()
		b, _ := os.ReadFile(sp.RecordingPath(id))
		sum := sha256.Sum256(b)
		s := start.Add(time.Duration(i) * time.Minute)
		m := &spool.Manifest{ID: id, State: spool.StateSpooled, Caller: "0312345678", Line: "0120000002", Purpose: "cs",
			Client: "acme", StartedAt: s, EndedAt: &s, Consent: spool.Consent{Decision: spool.Notified},
			Recording: &spool.Recording{File: id + ".wav", Duration: 1, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}}
		if err := sp.WriteManifest(m); err != nil {
			t.Fatal(err)
		}
		e.ids = append(e.ids, id)
	}
	up := upload.New(upload.Options{Spool: sp, Store: e.st, Catalog: e.cat, Keys: e.keys,
		RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true }})
	if err := up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// service is a contract-end service on cat (a node's handle on the
// catalog), with spooled as its spool count.
func (e *env) service(t *testing.T, cat *catalog.Catalog, spooled func(string) (int, error)) *contract.Service {
	t.Helper()
	svc, err := contract.New(contract.Options{Catalog: cat, Store: e.st, Keys: e.keys, Bucket: "kiroku", Spooled: spooled,
		// A run closes its target: each opens its own, as kirokud's do.
		Target: func(context.Context, string) (storage.Store, error) { return fs.New(filepath.Join(e.dir, "target")) }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestMissingObjectKept: a recording whose audio object is gone cannot
// be returned: it is kept (its row and key stay), listed as not
// returned, and the others are returned and destroyed.
func TestMissingObjectKept(t *testing.T) {
	catalogtest.Each(t, testMissingObjectKept)
}

func testMissingObjectKept(t *testing.T, db catalogtest.DB) {
	e := newEnv(t, db, 3)
	lost, _ := e.cat.Get(t.Context(), e.ids[1])
	if r := e.st.Delete(t.Context(), []string{lost.ObjectKey}); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	cert, err := e.svc.ReturnS3(t.Context(), "adm", acme, contract.Target{Kind: contract.KindS3, Bucket: "returns"})
	if err != nil {
		t.Fatal(err)
	}
	if c := cert.Counts; c.Returned != 2 || c.Destroyed != 2 || c.NotReturned != 1 || len(cert.NotReturned) != 1 || cert.NotReturned[0].ID != lost.ID {
		t.Fatalf("got counts %+v, not returned %+v", c, cert.NotReturned)
	}
	if _, err := e.cat.Get(t.Context(), lost.ID); err != nil {
		t.Errorf("the recording not returned was destroyed: %v", err)
	}
	for _, id := range []string{e.ids[0], e.ids[2]} {
		// Given no prefix, the run's own folder.
		rc, err := e.target.Get(t.Context(), "acme/"+cert.Run+"/recordings/"+id+".wav", 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.HasPrefix(b, []byte("RIFF")) {
			t.Errorf("returned %s is not the decrypted WAV", id)
		}
	}
}

// TestConfirmedThenInterrupted: when a confirmation verified everything
// but was cut before destroying it, running the ZIP return again sends
// nothing: it destroys what was confirmed and certifies the run.
func TestConfirmedThenInterrupted(t *testing.T) {
	catalogtest.Each(t, testConfirmedThenInterrupted)
}

func testConfirmedThenInterrupted(t *testing.T, db catalogtest.DB) {
	e := newEnv(t, db, 2)
	var zipped bytes.Buffer
	info, cert, err := e.svc.ReturnZIP(t.Context(), "adm", acme, &zipped)
	if err != nil || cert != nil || info.State != contract.StateAwaiting {
		t.Fatalf("zip: %+v %v %v", info, cert, err)
	}
	// The confirmation got as far as verifying every item.
	sdb := e.cat.DB()
	err = catalog.EachContractEndItem(t.Context(), sdb, info.ID, func(it *catalog.ContractEndItem) error {
		now := time.Now()
		it.State, it.VerifiedAt = catalog.ItemVerified, &now
		return catalog.PutContractEndItem(t.Context(), sdb, it)
	})
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	_, cert, err = e.svc.ReturnZIP(t.Context(), "adm2", acme, &again)
	if err != nil || cert == nil || again.Len() != 0 {
		t.Fatalf("rerun: cert %v, %d bytes, %v", cert, again.Len(), err)
	}
	if c := cert.Counts; c.Destroyed != 2 || c.Returned != 2 || len(cert.Operators) != 2 {
		t.Errorf("got %+v by %v", c, cert.Operators)
	}
	if n, _ := e.cat.Count(t.Context()); n != 0 {
		t.Errorf("%d recordings left", n)
	}
	if _, err := audit.Verify(t.Context(), sdb); err != nil {
		t.Error(err)
	}
	// A finished run is not confirmed again.
	if _, err := e.svc.Confirm(t.Context(), "adm", info.ID, map[string]string{"x": "y"}, acme); !errors.Is(err, contract.ErrNotAwaiting) {
		t.Errorf("confirm of a certified run: %v", err)
	}
}
