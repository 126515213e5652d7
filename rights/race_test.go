package rights_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/retention"
	"github.com/kiroku-voice/kiroku/rights"
)

// TestErasureRacesHoldAndPurge: after the erasure has read the
// recordings of the numbers and before its transaction, one of them is
// put under legal hold and another is purged (another node's run). The
// held one is kept and reported as held; the purged one is audited once,
// by the purge, and reported as gone, not erased.
func TestErasureRacesHoldAndPurge(t *testing.T) {
	for _, driver := range catalogtest.Drivers {
		t.Run(driver, func(t *testing.T) {
			e := newEnvOn(t, driver)
			held := e.record(t, numA, "cs-quality", 1000)
			purged := e.record(t, numA, "complaints", 1000)
			erased := e.record(t, numA, "cs-quality", 1000)
			if err := catalog.SetRetainUntil(t.Context(), e.cat.DB(), purged, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			p := retention.New(retention.Options{Catalog: e.cat, Store: e.store,
				Now: func() time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }})
			// Erase reads the clock once between its read of the recordings
			// and its transaction: the others act there.
			var once sync.Once
			svc, err := rights.New(rights.Options{Catalog: e.cat, Store: e.store, Keys: e.keys, Now: func() time.Time {
				once.Do(func() {
					if _, err := retention.SetHold(t.Context(), e.cat, e.store, retention.HoldRequest{IDs: []string{held},
						On: true, Reason: "litigation", Actor: "legal"}); err != nil {
						t.Error(err)
					}
					if res, err := p.Purge(t.Context()); err != nil || res.Deleted != 1 {
						t.Errorf("purge: %+v, %v; want 1 deleted", res, err)
					}
				})
				return time.Now()
			}})
			if err != nil {
				t.Fatal(err)
			}
			out, err := confirmed(t, svc, create(t, e, rights.KindErasure, "ref", numA))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out.Erased, []string{erased}) || !slices.Equal(out.Held, []string{held}) || !slices.Equal(out.Gone, []string{purged}) {
				t.Errorf("got erased %v held %v gone %v, want erased [%s] held [%s] gone [%s]", out.Erased, out.Held, out.Gone, erased, held, purged)
			}
			if r, err := e.cat.Get(t.Context(), held); err != nil || !r.LegalHold {
				t.Errorf("held recording: got %+v, %v, want kept", r, err)
			} else {
				for _, k := range []string{r.ObjectKey, r.ManifestKey} {
					if _, err := e.store.Stat(t.Context(), k); err != nil {
						t.Errorf("held recording's %s: %v, want kept", k, err)
					}
				}
			}
			for id, want := range map[string][]string{held: {"hold"}, purged: {"delete"}, erased: {"erase"}} {
				es, err := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: id})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, en := range es {
					if en.Action != "store" {
						got = append(got, string(en.Action))
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: got audit actions %v, want %v", id, got, want)
				}
			}
		})
	}
}
