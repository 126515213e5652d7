package rights_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/rights"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

const (
	numA  = "0312345678"
	numB  = "09011112222"
	other = "0455556666"
)

func create(t *testing.T, e *env, kind, verification string, callers ...string) string {
	t.Helper()
	r, err := e.svc.Create(t.Context(), "sato", rights.NewRequest{Kind: kind, Callers: callers, Verification: verification, Requester: "本人 / the person"})
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func readZip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	return out
}

func TestDisclosureTwoNumbersTwoPurposes(t *testing.T) {
	e := newEnv(t)
	e.agent = "A-1001"
	ids := []string{
		e.record(t, numA, "cs-quality", 40000),
		e.record(t, numB, "complaints", 30000),
		e.record(t, numA, "complaints", 20000),
	}
	e.record(t, other, "cs-quality", 1000)
	audit.Append(t.Context(), e.cat.DB(), audit.Entry{Actor: "yamada", Action: "play", Target: ids[0], Reason: "品質確認"})
	id := create(t, e, rights.KindDisclosure, "運転免許証 確認番号 R-1234", numA, "090-1111-2222")

	var buf bytes.Buffer
	m, err := e.svc.Disclose(t.Context(), "sato", id, &buf, allowAll)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Items) != 3 {
		t.Fatalf("got %d items, want 3", len(m.Items))
	}
	files := readZip(t, buf.Bytes())
	sums := string(files["SHA256SUMS"])
	for name, b := range files {
		if name == "SHA256SUMS" {
			continue
		}
		h := sha256.Sum256(b)
		if !strings.Contains(sums, hex.EncodeToString(h[:])+"  "+name+"\n") {
			t.Errorf("SHA256SUMS does not verify %s", name)
		}
	}
	var got rights.Manifest
	if err := json.Unmarshal(files["manifest.json"], &got); err != nil {
		t.Fatal(err)
	}
	purposes := map[string]bool{}
	for _, it := range got.Items {
		purposes[it.Purpose] = true
		if !bytes.Equal(files[it.File], e.wavs[it.ID]) {
			t.Errorf("%s: WAV in the ZIP differs from the one recorded", it.ID)
		}
		if len(it.Accesses) == 0 || it.Accesses[0].Action != "store" {
			t.Errorf("%s: got history %+v, want it to start with store", it.ID, it.Accesses)
		}
		if want := map[bool]string{true: "A-1001"}[it.ID == ids[0]]; it.AgentID != want {
			t.Errorf("%s: got agent_id %q, want %q", it.ID, it.AgentID, want)
		}
		if it.PurposeDesc == "" || len(it.Consent) == 0 || it.RetainUntil.IsZero() {
			t.Errorf("%s: got item %+v without purpose description, consent or retention", it.ID, it)
		}
	}
	if len(purposes) != 2 {
		t.Errorf("got purposes %v, want two", purposes)
	}
	sum := string(files["summary.txt"])
	for _, want := range []string{"利用目的 / Purpose", "yamada", "品質確認", "disclose", "担当者 / Agent: A-1001"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	r, _ := e.svc.Get(t.Context(), id)
	if r.Outcome != rights.OutcomeAnswered || r.AnsweredAt == nil {
		t.Errorf("got request %+v, want answered", r)
	}
	// Downloaded again: made afresh, each access audited again, the
	// request's first answer kept.
	var again bytes.Buffer
	m2, err := e.svc.Disclose(t.Context(), "sato", id, &again, allowAll)
	if err != nil || len(m2.Items) == 0 || again.Len() == 0 {
		t.Fatalf("second disclosure: %v, %d bytes, want the ZIP again", err, again.Len())
	}
	if r2, _ := e.svc.Get(t.Context(), id); r2.AnsweredAt == nil || !r2.AnsweredAt.Equal(*r.AnsweredAt) {
		t.Errorf("the second download changed the answer: %v, was %v", r2.AnsweredAt, r.AnsweredAt)
	}
	var agains int
	es, _ := audit.List(t.Context(), e.cat.DB(), audit.Filter{Action: string(audit.ActionDisclose), Limit: 1000})
	for _, en := range es {
		if strings.Contains(en.Detail, `"again":true`) {
			agains++
		}
	}
	if agains != len(m2.Items) {
		t.Errorf("%d accesses audited as disclosed again, want %d", agains, len(m2.Items))
	}
}

func TestDisclosureUnverifiedIsRefusedAndRecorded(t *testing.T) {
	e := newEnv(t)
	e.record(t, numA, "cs-quality", 1000)
	// A request taken unverified before verification was required.
	id := create(t, e, rights.KindDisclosure, "ref", numA)
	if _, err := e.cat.DB().ExecContext(t.Context(), `UPDATE requests SET verification = '' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := e.svc.Disclose(t.Context(), "sato", id, &buf, allowAll); !errors.Is(err, rights.ErrRefused) {
		t.Fatalf("got %v, want ErrRefused", err)
	}
	if buf.Len() != 0 {
		t.Errorf("got %d bytes written for a refused request", buf.Len())
	}
	r, _ := e.svc.Get(t.Context(), id)
	if r.Outcome != rights.OutcomeRefused || !strings.Contains(string(r.Result), "not verified") {
		t.Errorf("got outcome %q result %s, want refused with the reason", r.Outcome, r.Result)
	}
}

// TestRefuseRecordsWhy: a refusal keeps its reason on the request and
// in its audit entry, by the operator; an unverified request refused on
// its own says why there too; a refusal without a reason changes nothing.
func TestRefuseRecordsWhy(t *testing.T) {
	e := newEnv(t)
	id := create(t, e, rights.KindStopUse, "ref", numA)
	if err := e.svc.Refuse(t.Context(), "sato", id, "  "); !errors.Is(err, rights.ErrBadRequest) {
		t.Fatalf("refuse without a reason: got %v, want ErrBadRequest", err)
	}
	if r, _ := e.svc.Get(t.Context(), id); r.Outcome != "" {
		t.Fatalf("after a refusal without a reason: outcome %q, want the request open", r.Outcome)
	}
	const why = "代理権を確認できない"
	if err := e.svc.Refuse(t.Context(), "sato", id, why); err != nil {
		t.Fatal(err)
	}
	unverified := create(t, e, rights.KindDisclosure, "ref", numA)
	if _, err := e.cat.DB().ExecContext(t.Context(), `UPDATE requests SET verification = '' WHERE id = ?`, unverified); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Disclose(t.Context(), "sato", unverified, io.Discard, allowAll); !errors.Is(err, rights.ErrRefused) {
		t.Fatalf("got %v, want ErrRefused", err)
	}
	for _, c := range []struct{ id, want string }{{id, why}, {unverified, "identity not verified"}} {
		es, _ := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: c.id, Action: string(audit.ActionRequestRefused)})
		if len(es) != 1 || es[0].Actor != "sato" || !strings.Contains(es[0].Reason, c.want) {
			t.Errorf("request-refused entries of %s: %+v, want one by sato with reason %q", c.id, es, c.want)
		}
	}
}

// TestStopAndResumeUse: a stop of use restricts the numbers' stored
// recordings, drops their undelivered webhook events (not another
// number's), and covers the recording still in the spool, which is then
// stored restricted; a resume of use makes all of them usable again, and
// a recording spooled before it and stored after it is stored usable.
func TestStopAndResumeUse(t *testing.T) {
	e := newEnv(t)
	a := e.record(t, numA, "cs-quality", 1000)
	b := e.record(t, numB, "complaints", 1000)
	o := e.record(t, other, "complaints", 1000)
	for _, id := range []string{a, o} {
		if err := catalog.AddOutbox(t.Context(), e.cat.DB(), &catalog.OutboxEvent{Recording: id, Type: "recording.stored", Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	e.spoolCall(t, numA, "cs-quality", 1000)
	spooled := e.lastID
	ch, err := e.svc.StopUse(t.Context(), "sato", create(t, e, rights.KindStopUse, "ref", numA, numB))
	if err != nil || len(ch.Recordings) != 2 {
		t.Fatalf("stop: got %v, %v", ch, err)
	}
	if ch.EventsDropped != 1 || !strings.Contains(ch.NotYetStored, "stored restricted") {
		t.Errorf("stop answered %+v, want 1 event dropped and what becomes of recordings not yet stored", ch)
	}
	if evs, _ := e.cat.Outbox(t.Context(), a); len(evs) != 0 {
		t.Errorf("restricted recording's events still queued: %d", len(evs))
	}
	if evs, _ := e.cat.Outbox(t.Context(), o); len(evs) != 1 {
		t.Errorf("another number's events: %d queued, want its 1 kept", len(evs))
	}
	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{a: catalog.StateRestricted, b: catalog.StateRestricted, o: catalog.StateStored, spooled: catalog.StateRestricted} {
		if r, _ := e.cat.Get(t.Context(), id); r.State != want {
			t.Errorf("%s: got state %s, want %s", id, r.State, want)
		}
	}
	e.spoolCall(t, numB, "complaints", 1000)
	later := e.lastID
	if _, err := e.svc.Provide(t.Context(), "sato", rights.ProvisionRequest{Recipient: "X", LegalBasis: "consent", IDs: []string{a}}, io.Discard, allowAll); !errors.Is(err, rights.ErrNotProvidable) {
		t.Errorf("provide restricted: got %v, want ErrNotProvidable", err)
	}
	if _, err := e.svc.ResumeUse(t.Context(), "sato", create(t, e, rights.KindResumeUse, "ref", numA, numB)); err != nil {
		t.Fatal(err)
	}
	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a, b, spooled, later} {
		if r, _ := e.cat.Get(t.Context(), id); r.State != catalog.StateStored {
			t.Errorf("%s: got state %s after resume, want stored", id, r.State)
		}
	}
}

func TestCorrectionAuditsBeforeAndAfter(t *testing.T) {
	e := newEnv(t)
	a := e.record(t, numA, "cs-quality", 1000)
	id := create(t, e, rights.KindCorrection, "ref", numA)
	if _, err := e.svc.Correct(t.Context(), "sato", id, rights.Correction{Field: "caller", Value: "x"}); !errors.Is(err, rights.ErrBadRequest) {
		t.Errorf("correct caller: got %v, want ErrBadRequest", err)
	}
	if _, err := e.svc.Correct(t.Context(), "sato", id, rights.Correction{Field: "customer_ref", Value: "C-2"}); err != nil {
		t.Fatal(err)
	}
	if ref, _ := catalog.CustomerRef(t.Context(), e.cat.DB(), a); ref != "C-2" {
		t.Errorf("got customer ref %q, want C-2", ref)
	}
	es, _ := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: a, Action: "correct"})
	if len(es) != 1 || !strings.Contains(es[0].Detail, `"before":""`) || !strings.Contains(es[0].Detail, `"after":"C-2"`) {
		t.Errorf("got audit %+v, want before and after", es)
	}
}

func TestErasureShredsAndKeepsHeld(t *testing.T) {
	for _, driver := range catalogtest.Drivers {
		t.Run(driver, func(t *testing.T) {
			e := newEnvOn(t, driver)
			a1 := e.record(t, numA, "cs-quality", 20000)
			a2 := e.record(t, numA, "complaints", 20000)
			held := e.record(t, numB, "complaints", 1000)
			if err := catalog.SetHold(t.Context(), e.cat.DB(), true, "litigation", held); err != nil {
				t.Fatal(err)
			}
			// A backup: the sealed object's bytes and what it takes to open it.
			r1, _ := e.cat.Get(t.Context(), a1)
			rc, _ := e.store.Get(t.Context(), r1.ObjectKey, 0, -1)
			backup, _ := io.ReadAll(rc)
			rc.Close()
			heldRec, _ := e.cat.Get(t.Context(), held)

			out, err := confirmed(t, e.svc, create(t, e, rights.KindErasure, "ref", numA, numB))
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Erased) != 2 || len(out.Held) != 1 || out.Held[0] != held {
				t.Fatalf("got %+v, want 2 erased and the held one reported", out)
			}
			for _, id := range []string{a1, a2} {
				if _, err := e.cat.Get(t.Context(), id); !errors.Is(err, catalog.ErrNotFound) {
					t.Errorf("%s: row still there (%v)", id, err)
				}
				if _, err := e.cat.GetTombstone(t.Context(), id); err != nil {
					t.Errorf("%s: no tombstone: %v", id, err)
				}
			}
			if _, err := e.store.Stat(t.Context(), r1.ObjectKey); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("object still stored: %v", err)
			}
			if _, err := e.store.Stat(t.Context(), r1.ManifestKey); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("manifest object still stored: %v", err)
			}
			if r, err := e.cat.Get(t.Context(), held); err != nil || r.ObjectKey == "" {
				t.Errorf("held recording: got %v, %v, want kept", r, err)
			}
			// The backup cannot be opened: its wrapped key is gone, and no other
			// wrapped key opens it.
			if _, err := e.keys.Unwrap(heldRec.KeyID, heldRec.WrappedKey, a1); err == nil {
				t.Error("another recording's wrapped key unwrapped for the erased one")
			}
			if dk, err := e.keys.Unwrap(heldRec.KeyID, heldRec.WrappedKey, held); err == nil {
				rr, _ := crypt.NewRangeReader(dk, int64(len(backup)), func(off, n int64) (io.ReadCloser, error) {
					return io.NopCloser(bytes.NewReader(backup[off : off+n])), nil
				})
				if rr != nil && rr.WriteRange(io.Discard, 0, rr.Size()) == nil {
					t.Error("backup decrypted with another recording's data key")
				}
			}
			// Erase compacted the catalog (WAL checkpointed, VACUUM); scan the
			// files for the erased number and the wrapped key (SQLite's: a
			// PostgreSQL catalog has no file here).
			for _, f := range []string{"catalog.db", "catalog.db-wal"} {
				b, err := os.ReadFile(filepath.Join(e.dir, f))
				if err != nil {
					continue
				}
				if bytes.Contains(b, []byte(numA)) {
					t.Errorf("%s still holds the erased caller number", f)
				}
				if bytes.Contains(b, r1.WrappedKey) {
					t.Errorf("%s still holds the erased wrapped key", f)
				}
				// numB stays only in the held recording's row.
			}
			rs, _ := e.svc.List(t.Context())
			if strings.Contains(strings.Join(rs[0].Callers, ","), numA) {
				t.Errorf("request still names the erased number: %v", rs[0].Callers)
			}
		})
	}
}

func TestProvisionRecordedAndExported(t *testing.T) {
	e := newEnv(t)
	a := e.record(t, numA, "cs-quality", 1000)
	b := e.record(t, other, "cs-quality", 1000)
	var buf bytes.Buffer
	p, err := e.svc.Provide(t.Context(), "sato", rights.ProvisionRequest{Recipient: "委託先 A社", LegalBasis: "APPI 27(1) consent", ConsentRef: "C-77", IDs: []string{a, b}}, &buf, allowAll)
	if err != nil {
		t.Fatal(err)
	}
	files := readZip(t, buf.Bytes())
	if len(files) != 4 { // two WAVs, manifest.json, SHA256SUMS
		t.Errorf("got %d files in the provision ZIP, want 4", len(files))
	}
	ps, _ := e.svc.Provisions(t.Context())
	if len(ps) != 1 || ps[0].ID != p.ID || len(ps[0].Items) != 2 || ps[0].ConsentRef != "C-77" {
		t.Errorf("got provisions %+v", ps)
	}
	var csv bytes.Buffer
	if err := e.svc.ExportProvisions(t.Context(), &csv, "csv"); err != nil || !strings.Contains(csv.String(), "委託先 A社") {
		t.Errorf("got csv %q, %v", csv.String(), err)
	}
	// After a stop-of-provision request, the caller's recordings are refused.
	if err := e.svc.StopProvision(t.Context(), "sato", create(t, e, rights.KindStopProvision, "ref", numA)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Provide(t.Context(), "sato", rights.ProvisionRequest{Recipient: "X", LegalBasis: "y", IDs: []string{a}}, io.Discard, allowAll); !errors.Is(err, rights.ErrNotProvidable) {
		t.Errorf("got %v, want ErrNotProvidable", err)
	}
}

func TestPseudonymisedExport(t *testing.T) {
	e := newEnv(t)
	e.record(t, numA, "cs-quality", 1000)
	e.record(t, numA, "complaints", 1000)
	e.record(t, other, "complaints", 1000)
	k1 := rights.PseudonymKey{ID: "k1", Key: bytes.Repeat([]byte("1"), 32)}
	k2 := rights.PseudonymKey{ID: "k2", Key: bytes.Repeat([]byte("2"), 32)}
	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			n, err := e.svc.Pseudonymise(t.Context(), &buf, format, k1, time.Time{}, time.Time{}, "sato", allowAll)
			if err != nil || n != 3 {
				t.Fatalf("got %d, %v", n, err)
			}
			out := buf.String()
			if strings.Contains(out, numA) || strings.Contains(out, other) {
				t.Error("export holds a caller number")
			}
			if c := strings.Count(out, rights.Pseudonym(k1, numA)); c != 2 {
				t.Errorf("got the caller's pseudonym %d times, want 2", c)
			}
			if !strings.Contains(out, "removed") {
				t.Error("no statement of removed items")
			}
		})
	}
	if rights.Pseudonym(k1, numA) == rights.Pseudonym(k2, numA) {
		t.Error("two keys gave the same pseudonym")
	}
}

// allowAll is an operator who may read every recording.
func allowAll(*catalog.Recording) (bool, string) { return true, "" }

// TestProvisionCSVDefused: the free text of a provision record (recipient,
// legal basis, consent reference) comes out of the CSV as cells a
// spreadsheet shows rather than runs (csvsafe).
func TestProvisionCSVDefused(t *testing.T) {
	e := newEnv(t)
	a := e.record(t, numA, "cs-quality", 1000)
	req := rights.ProvisionRequest{Recipient: `=HYPERLINK("http://evil")`, LegalBasis: "x,=1+2", ConsentRef: "@SUM(A1)", IDs: []string{a}}
	if _, err := e.svc.Provide(t.Context(), "-sato", req, io.Discard, allowAll); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := e.svc.ExportProvisions(t.Context(), &b, "csv"); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("got %q, %v; want a header and one record", rows, err)
	}
	for _, c := range rows[1] {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			t.Errorf("cell %q starts a formula", c)
		}
	}
	if got := rows[1][1] + "|" + rows[1][4] + "|" + rows[1][5]; got != `'=HYPERLINK("http://evil")|x,=1+2|'@SUM(A1)` {
		t.Errorf("got recipient|legal basis|consent ref %q", got)
	}
}
