package retention

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/storage"
)

// ApplyPolicy brings the retention dates of stored recordings in line with
// the purposes of a new configuration. A shorter limit brings dates
// earlier; a longer one moves them later only when the purpose sets
// extend_existing. Each change is audited and mirrored in the objects'
// retain-until tags. It returns how many recordings changed.
func ApplyPolicy(ctx context.Context, cat *catalog.Catalog, st storage.Store, old, cur []config.Purpose, actor string) (int, error) {
	before := map[string]config.Retention{}
	for _, p := range old {
		before[p.Name] = p.Retention
	}
	n := 0
	for _, p := range cur {
		if prev, ok := before[p.Name]; ok && prev == p.Retention && !p.ExtendExisting {
			continue
		}
		err := cat.Select(ctx, catalog.Filter{Purpose: p.Name}, func(batch []*catalog.Recording) error {
			type change struct {
				r    *catalog.Recording
				from string
			}
			var changes []change
			for _, r := range batch {
				want := p.Retention.Until(r.StartedAt)
				if want.Equal(r.RetainUntil) || (want.After(r.RetainUntil) && !p.ExtendExisting) {
					continue
				}
				changes = append(changes, change{r, r.RetainUntil.Format("2006-01-02")})
				r.RetainUntil = want
			}
			if len(changes) == 0 {
				return nil
			}
			err := cat.Tx(ctx, func(tx *sql.Tx) error {
				for _, c := range changes {
					if err := catalog.SetRetainUntil(ctx, tx, c.r.ID, c.r.RetainUntil); err != nil {
						return err
					}
					d, _ := json.Marshal(map[string]string{"from": c.from, "to": c.r.RetainUntil.Format("2006-01-02"), "retention": p.Retention.String()})
					if _, err := audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "retention-change", Target: c.r.ID,
						Reason: "retention of purpose " + p.Name + " is now " + p.Retention.String(), Detail: string(d)}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, c := range changes {
				tags := map[string]string{"purpose": c.r.Purpose, "retain-until": c.r.RetainUntil.Format("2006-01-02")}
				for _, k := range []string{c.r.ObjectKey, c.r.ManifestKey} {
					if k == "" {
						continue
					}
					if err := st.SetTags(ctx, k, tags); err != nil {
						return fmt.Errorf("retain-until tag of %s: %w", k, err)
					}
				}
			}
			n += len(changes)
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// CheckPurposes reports purposes that recordings still carry but cur no
// longer defines: removing a purpose with recordings is a configuration
// error (their retention would be unknown).
func CheckPurposes(ctx context.Context, cat *catalog.Catalog, cur []config.Purpose) error {
	counts, err := cat.PurposeCounts(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, p := range cur {
		have[p.Name] = true
	}
	var problems []string
	for name, n := range counts {
		if !have[name] {
			problems = append(problems, fmt.Sprintf("purpose %q was removed, but %d recordings still carry it; keep it until they are purged", name, n))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("purposes: %s", joinLines(problems))
	}
	return nil
}

func joinLines(s []string) string {
	out := ""
	for i, l := range s {
		if i > 0 {
			out += "; "
		}
		out += l
	}
	return out
}
