package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDialogsTeardown: a call in progress with its dialogs kept is left
// by Recover for teardown, and FinishTeardown finishes it as interrupted
// with the teardown's outcome and forgets the dialogs; a finished call's
// stale dialogs are removed.
func TestDialogsTeardown(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	legs := []DialogLeg{
		{Side: SideCaller, CallID: "c1", LocalTag: "l", RemoteTag: "r", LocalURI: "sip:0120000001@127.0.0.1",
			RemoteURI: "sip:0312345678@127.0.0.1", RemoteTarget: "sip:0312345678@127.0.0.1:5062", CSeq: 2, Transport: "udp", Destination: "127.0.0.1:5062"},
		{Side: SideAgent, CallID: "a1", LocalTag: "x", RemoteTag: "y", RouteSet: []string{"<sip:proxy;lr>"}, CSeq: 3},
	}
	for _, m := range []*Manifest{{ID: "up", State: StateActive}, {ID: "ended", State: StateDone}} {
		if err := d.WriteManifest(m); err != nil {
			t.Fatal(err)
		}
		if err := d.WriteDialogs(Dialogs{ID: m.ID, Legs: legs}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.ReadDialogs("up")
	if err != nil || len(got.Legs) != 2 || got.Legs[1].RouteSet[0] != "<sip:proxy;lr>" || got.Legs[0].Destination != "127.0.0.1:5062" {
		t.Fatalf("got %+v, %v; want the dialogs written", got, err)
	}
	rs, err := d.Recover()
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].ID != "up" || !rs[0].Teardown {
		t.Fatalf("got %+v, want only the call in progress, left for teardown", rs)
	}
	if m, _ := d.ReadManifest("up"); m.State != StateActive {
		t.Errorf("got state %q before the teardown, want it left active", m.State)
	}
	if _, err := d.ReadDialogs("ended"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a finished call's dialogs: got %v, want removed", err)
	}
	td := Teardown{At: time.Now().UTC(), Legs: []TeardownLeg{{Side: SideCaller, Status: 200}, {Side: SideAgent, Error: "no final response to the BYE"}}}
	if r := d.FinishTeardown("up", td); r.Err != nil || r.Repaired {
		t.Fatalf("got %+v, want finished without a recording", r)
	}
	m, err := d.ReadManifest("up")
	if err != nil {
		t.Fatal(err)
	}
	if m.State != StateDone || m.EndReason != "interrupted" || m.Teardown == nil || len(m.Teardown.Legs) != 2 || m.Teardown.Legs[0].Status != 200 {
		t.Errorf("got state %q end %q teardown %+v, want done, interrupted, the teardown", m.State, m.EndReason, m.Teardown)
	}
	if _, err := d.ReadDialogs("up"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dialogs after the teardown: got %v, want removed", err)
	}
	if err := d.WriteDialogs(Dialogs{ID: "../x"}); err == nil {
		t.Error("a bad id was written")
	}
}

// BenchmarkWriteDialogs is the cost a call's answer (and its agent's)
// adds: one atomic, fsynced write of its dialogs, beside a manifest write
// for scale.
func BenchmarkWriteDialogs(b *testing.B) {
	d, err := Open(filepath.Join(b.TempDir(), "spool"))
	if err != nil {
		b.Fatal(err)
	}
	ds := Dialogs{ID: "0190-abc", Legs: []DialogLeg{
		{Side: SideCaller, CallID: "c1", LocalTag: "l", RemoteTag: "r", LocalURI: "sip:0120000001@127.0.0.1",
			RemoteURI: "sip:0312345678@127.0.0.1", RemoteTarget: "sip:0312345678@127.0.0.1:5062", CSeq: 2, Transport: "udp", Destination: "127.0.0.1:5062"},
		{Side: SideAgent, CallID: "a1", LocalTag: "x", RemoteTag: "y", RemoteTarget: "sip:agent@127.0.0.1:5090", CSeq: 3, Transport: "udp", Destination: "127.0.0.1:5090"},
	}}
	b.Run("dialogs", func(b *testing.B) {
		for b.Loop() {
			if err := d.WriteDialogs(ds); err != nil {
				b.Fatal(err)
			}
		}
	})
	m := &Manifest{ID: "0190-abc", Caller: "0312345678", StartedAt: time.Now(), State: StateActive}
	b.Run("manifest", func(b *testing.B) {
		for b.Loop() {
			if err := d.WriteManifest(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestForgetDialogsInOrder: a call's queued dialog writes and their
// removal apply in the order they were queued, within a batch and across
// batches, so that a write still queued at the call's end cannot bring
// its dialogs back once forgotten.
func TestForgetDialogsInOrder(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	leg := []DialogLeg{{Side: SideCaller, CallID: "c1", CSeq: 2}}
	// Held up behind a batch of other calls' manifests, the writes and the
	// removal of one call land in one batch.
	var wg sync.WaitGroup
	results := make([]error, 4)
	note := func(i int) func(error) {
		wg.Add(1)
		return func(err error) { results[i] = err; wg.Done() }
	}
	for i := range 50 {
		d.QueueManifest(&Manifest{ID: fmt.Sprintf("other-%d", i), State: StateActive}, nil)
	}
	d.QueueDialogs(Dialogs{ID: "a", Legs: leg}, note(0))
	d.QueueDialogs(Dialogs{ID: "a", Legs: append(leg, DialogLeg{Side: SideAgent, CallID: "a1"})}, note(1))
	d.ForgetDialogs("a", note(2))
	d.ForgetDialogs("never-kept", note(3))
	wg.Wait()
	for i, err := range results {
		if err != nil {
			t.Errorf("op %d: %v", i, err)
		}
	}
	if _, err := d.ReadDialogs("a"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dialogs forgotten after two writes: got %v, want none", err)
	}
	// Kept again after a removal (a name reused): the write stands.
	if err := d.WriteDialogs(Dialogs{ID: "a", Legs: leg}); err != nil {
		t.Fatal(err)
	}
	if ds, err := d.ReadDialogs("a"); err != nil || len(ds.Legs) != 1 {
		t.Errorf("got %+v, %v; want the later write", ds, err)
	}
	entries, err := os.ReadDir(d.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
	done := make(chan error, 1)
	d.ForgetDialogs("../x", func(err error) { done <- err })
	if err := <-done; err == nil {
		t.Error("a bad id was accepted for removal")
	}
}

// TestQueueDialogsDoesNotWait: a call's dialogs are queued, not waited
// for: QueueDialogs and ForgetDialogs return while the spool's writer is
// held in a batch (in a storm a batch took seconds, and a call's answer
// waited for its dialogs before its notice played), and both apply once
// it goes on.
func TestQueueDialogsDoesNotWait(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	d.OnCommit(func(int, time.Duration) {
		once.Do(func() { close(held); <-release })
	})
	d.QueueManifest(&Manifest{ID: "first", State: StateActive}, nil)
	<-held
	wrote, forgot := make(chan error, 1), make(chan error, 1)
	returned := make(chan struct{})
	go func() {
		d.QueueDialogs(Dialogs{ID: "a", Legs: []DialogLeg{{Side: SideCaller, CallID: "c1"}}}, func(err error) { wrote <- err })
		d.QueueDialogs(Dialogs{ID: "b", Legs: []DialogLeg{{Side: SideCaller, CallID: "c2"}}}, nil)
		d.ForgetDialogs("b", func(err error) { forgot <- err })
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("QueueDialogs waited for the spool's writer")
	}
	select {
	case err := <-wrote:
		t.Fatalf("dialogs reported written (%v) while the writer was held", err)
	default:
	}
	close(release)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if err := <-forgot; err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadDialogs("a"); err != nil {
		t.Errorf("queued dialogs: %v", err)
	}
	if _, err := d.ReadDialogs("b"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("forgotten dialogs: got %v, want none", err)
	}
}
