package rights_test

import (
	"errors"
	"testing"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/rights"
)

// confirmed erases request id as a privacy officer does: the plan read,
// then confirmed.
func confirmed(t *testing.T, svc *rights.Service, id string) (*rights.Erasure, error) {
	t.Helper()
	p, err := svc.PlanErasure(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return svc.Erase(t.Context(), "sato", id, p.Confirm)
}

// TestErasureConfirmation: an erasure runs only with the confirmation of
// its plan, which lists what it destroys and what a hold keeps; without
// it, or with one read before a hold was placed, nothing changes and the
// plan as it is now comes back; a request without verification is not
// taken at all.
func TestErasureConfirmation(t *testing.T) {
	e := newEnv(t)
	a := e.record(t, numA, "cs-quality", 1000)
	b := e.record(t, numA, "complaints", 1000)
	id := create(t, e, rights.KindErasure, "マイナンバーカード V-7", numA)
	p, err := e.svc.PlanErasure(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Destroy) != 2 || len(p.Held) != 0 || p.Confirm == "" || p.NotYetStored == "" {
		t.Fatalf("plan: %+v, want both recordings to destroy and a confirmation", p)
	}
	if _, err := e.svc.Erase(t.Context(), "sato", id, ""); !errors.Is(err, rights.ErrPlan) {
		t.Fatalf("erase without confirmation: %v, want ErrPlan", err)
	}
	if err := catalog.SetHold(t.Context(), e.cat.DB(), true, "訴訟", b); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Erase(t.Context(), "sato", id, p.Confirm)
	var pe *rights.PlanError
	if !errors.As(err, &pe) || pe.Missing || len(pe.Plan.Destroy) != 1 || len(pe.Plan.Held) != 1 || pe.Plan.Held[0].HoldReason != "訴訟" || pe.Plan.Confirm == p.Confirm {
		t.Fatalf("erase with a stale confirmation: %v (%+v), want the plan as it is now", err, pe)
	}
	for _, rid := range []string{a, b} {
		if _, err := e.cat.Get(t.Context(), rid); err != nil {
			t.Errorf("%s destroyed without confirmation: %v", rid, err)
		}
	}
	if r, _ := e.svc.Get(t.Context(), id); r.Outcome != "" {
		t.Errorf("the request was closed (%s) by an unconfirmed erasure", r.Outcome)
	}
	out, err := e.svc.Erase(t.Context(), "sato", id, pe.Plan.Confirm)
	if err != nil || len(out.Erased) != 1 || out.Erased[0] != a || len(out.Held) != 1 {
		t.Fatalf("confirmed erasure: %+v %v", out, err)
	}
	if _, err := e.svc.Create(t.Context(), "sato", rights.NewRequest{Kind: rights.KindErasure, Callers: []string{numA}, Requester: "本人"}); !errors.Is(err, rights.ErrBadRequest) {
		t.Errorf("a request without verification: %v, want ErrBadRequest", err)
	}
}
