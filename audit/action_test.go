package audit_test

import (
	"errors"
	"testing"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
)

// TestUnknownActionRefused: an action outside the list is not written,
// and the chain does not move.
func TestUnknownActionRefused(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		c := db.Open(t)
		for _, tt := range []struct {
			name   string
			action audit.Action
		}{{"misspelt", "dowload"}, {"empty", ""}, {"ad hoc", "request-" + "unheard-of"}} {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := audit.Append(t.Context(), c.DB(), audit.Entry{Actor: "tester", Action: tt.action, Target: "rec-a"}); !errors.Is(err, audit.ErrUnknownAction) {
					t.Errorf("Append %q: got %v, want ErrUnknownAction", tt.action, err)
				}
				ap, err := audit.NewAppender(t.Context(), c.DB())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := ap.Append(t.Context(), audit.Entry{Actor: "tester", Action: tt.action}); !errors.Is(err, audit.ErrUnknownAction) {
					t.Errorf("Appender.Append %q: got %v, want ErrUnknownAction", tt.action, err)
				}
			})
		}
		if seq, _, err := audit.Head(t.Context(), c.DB()); err != nil || seq != 0 {
			t.Errorf("got head %d (%v), want an empty log", seq, err)
		}
	})
}

// TestActionKinds: every action has one of the four kinds, and the
// incident report's rules for the actions it relies on hold.
func TestActionKinds(t *testing.T) {
	kinds := map[audit.Kind]bool{audit.KindAccessed: true, audit.KindExported: true, audit.KindChanged: true, audit.KindDenied: true}
	for _, a := range audit.Actions() {
		if !kinds[a.Kind()] || !a.Known() {
			t.Errorf("%s: got kind %q, want one of the four", a, a.Kind())
		}
	}
	for _, tt := range []struct {
		action audit.Action
		want   audit.Kind
	}{
		{audit.ActionPlay, audit.KindAccessed},
		{audit.ActionDownload, audit.KindExported},
		{audit.ActionDisclose, audit.KindExported},
		{audit.ActionProvide, audit.KindExported},
		{audit.ActionErase, audit.KindChanged},
		{audit.ActionDelete, audit.KindChanged},
		{audit.ActionDenied, audit.KindDenied},
		{"no-such-action", ""},
	} {
		if got := tt.action.Kind(); got != tt.want {
			t.Errorf("%s: got kind %q, want %q", tt.action, got, tt.want)
		}
	}
	if !audit.ActionSearch.ListsRecordings() || !audit.ActionIncidentReport.ListsRecordings() || audit.ActionView.ListsRecordings() {
		t.Error("only a search and an incident report keep the ids they listed")
	}
}
