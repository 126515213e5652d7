package retention

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
)

// ApplyPolicy brings the retention dates of stored recordings in line with
// the purposes and clients of a new configuration: each recording's date
// is the stricter of its purpose's retention and its client's limits. A
// shorter limit brings dates earlier; a longer one moves them later only
// when the purpose sets extend_existing. Each change is audited and
// mirrored in the objects' tags. It returns how many recordings changed.
func ApplyPolicy(ctx context.Context, cat *catalog.Catalog, st storage.Store, old, cur *config.Config, actor string) (int, error) {
	n := 0
	for _, p := range cur.Purposes {
		if !p.ExtendExisting && !ruleChanged(old, cur, p.Name) {
			continue
		}
		err := cat.Select(ctx, catalog.Filter{Purpose: p.Name}, func(batch []*catalog.Recording) error {
			type change struct {
				r    *catalog.Recording
				from string
			}
			var changes []change
			for _, r := range batch {
				want, ok := newDate(cur, p, r)
				if !ok {
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
					detail := map[string]string{"from": c.from, "to": c.r.RetainUntil.Format("2006-01-02"), "retention": p.Retention.String()}
					reason := "retention of purpose " + p.Name + " is now " + p.Retention.String()
					if c.r.Client != "" {
						detail["client"] = c.r.Client
						reason += ", with the limits of client " + c.r.Client
					}
					d, _ := json.Marshal(detail)
					if _, err := audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: audit.ActionRetentionChange, Target: c.r.ID,
						Reason: reason, Detail: string(d)}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, c := range changes {
				tags := recording.Tags(c.r)
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

// newDate is the retention date r gets under cur, whose purpose p it
// is of, and whether that is a change ApplyPolicy makes: a date is
// brought earlier always, moved later only when p extends existing
// recordings. The preview (Preview) and the apply decide by it alike.
func newDate(cur *config.Config, p config.Purpose, r *catalog.Recording) (time.Time, bool) {
	want, ok := cur.RetainUntil(r.Client, p.Name, r.StartedAt)
	if !ok || want.Equal(r.RetainUntil) || (want.After(r.RetainUntil) && !p.ExtendExisting) {
		return time.Time{}, false
	}
	return want, true
}

// ruleChanged reports whether what decides the retention of purpose's
// recordings differs between old and cur: the purpose's limit, or a
// limit of a client (added, removed or changed) that covers it.
func ruleChanged(old, cur *config.Config, purpose string) bool {
	rule := func(c *config.Config, client string) string {
		if c == nil {
			return ""
		}
		p, ok := c.Purpose(purpose)
		if !ok {
			return "none"
		}
		out := p.Retention.String()
		if client == "" {
			return out
		}
		cl, ok := c.Client(client)
		if !ok {
			return out + " no-client"
		}
		out += " " + cl.Limits.Retention.String()
		for _, l := range cl.Limits.Purposes {
			if l.Purpose == purpose {
				out += " " + l.Retention.String()
			}
		}
		return out
	}
	clients := []string{""}
	for _, c := range []*config.Config{old, cur} {
		if c == nil {
			continue
		}
		for _, cl := range c.Clients {
			clients = append(clients, cl.ID)
		}
	}
	for _, cl := range clients {
		if rule(old, cl) != rule(cur, cl) {
			return true
		}
	}
	return false
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

// CheckClients reports clients that recordings still carry but cur no
// longer defines: their retention limits and who may see them would be
// unknown.
func CheckClients(ctx context.Context, cat *catalog.Catalog, cur []config.Client) error {
	counts, err := cat.ClientCounts(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, c := range cur {
		have[c.ID] = true
	}
	var problems []string
	for id, n := range counts {
		if !have[id] {
			problems = append(problems, fmt.Sprintf("client %q was removed, but %d recordings still carry it; keep it until they are returned, destroyed or purged", id, n))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("clients: %s", joinLines(problems))
	}
	return nil
}
