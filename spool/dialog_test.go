package spool

import (
	"errors"
	"os"
	"path/filepath"
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
