package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
)

const retentionUsage = `  hold bulk [-ids ID,…] [-caller N] [-from T] [-to T] -reason R [-release]
  retention plan [-purpose P -retention 30d [-extend-existing true|false]]
  retention purge [-reason R]
`

// bulkHoldCmd: hold bulk. Every recording the token may hold among
// those selected (each filter narrows) is held, or released with
// -release.
func bulkHoldCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("hold bulk")
	ids := fs.String("ids", "", "recording ids, comma-separated")
	caller := fs.String("caller", "", "every recording of this caller number")
	from := fs.String("from", "", "started at or after (RFC 3339, or 2026-11-05[T09:30] in the -tz zone)")
	to := fs.String("to", "", "started before")
	reason := fs.String("reason", "", "why (required; audited)")
	release := fs.Bool("release", false, "release the hold instead of placing it")
	c, err := g.setup(fs, args, 0, "no arguments, only flags")
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return fmt.Errorf("%w: -reason is required (it goes into the audit log)", errUsage)
	}
	req := apiclient.BulkHoldRequest{Caller: *caller, Reason: *reason}
	on := !*release
	req.On = &on
	if *ids != "" {
		for _, id := range strings.Split(*ids, ",") {
			if id = strings.TrimSpace(id); id != "" {
				req.IDs = append(req.IDs, id)
			}
		}
	}
	for _, f := range []struct {
		name, v string
		t       *time.Time
	}{{"from", *from, &req.From}, {"to", *to, &req.To}} {
		s, err := g.timeArg(f.name, f.v)
		if err != nil {
			return err
		}
		if s != "" {
			*f.t, _ = time.Parse(time.RFC3339, s)
		}
	}
	if len(req.IDs) == 0 && req.Caller == "" && req.From.IsZero() && req.To.IsZero() {
		return fmt.Errorf("%w: select recordings with -ids, -caller, -from or -to", errUsage)
	}
	res, raw, err := c.BulkHold(ctx, req)
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	fmt.Fprintf(out, "%d recordings %s\n", res.Changed, map[bool]string{true: "held", false: "released"}[res.LegalHold])
	return nil
}

// retentionCmd: retention plan|purge.
func retentionCmd(ctx context.Context, g *globals, sub string, args []string, out io.Writer) error {
	switch sub {
	case "plan":
		return retentionPlanCmd(ctx, g, args, out)
	case "purge":
		return purgeCmd(ctx, g, args, out)
	}
	return fmt.Errorf("%w: unknown command %q (retention plan or retention purge)", errUsage, strings.TrimSpace("retention "+sub))
}

// retentionPlanCmd: retention plan, with the preview of a changed limit
// when -purpose and -retention are given.
func retentionPlanCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("retention plan")
	purpose := fs.String("purpose", "", "preview a changed limit of this purpose")
	limit := fs.String("retention", "", "the limit to preview (90d, 12w, 6m, 1y)")
	extend := fs.String("extend-existing", "", "preview with extend_existing true or false (default: the purpose's)")
	c, err := g.setup(fs, args, 0, "no arguments, only flags")
	if err != nil {
		return err
	}
	if (*purpose == "") != (*limit == "") || (*extend != "" && *purpose == "") {
		return fmt.Errorf("%w: a preview needs both -purpose and -retention", errUsage)
	}
	q := url.Values{}
	if *purpose != "" {
		q.Set("purpose", *purpose)
		q.Set("retention", *limit)
	}
	if *extend != "" {
		q.Set("extend_existing", *extend)
	}
	plan, raw, err := c.RetentionPlan(ctx, q)
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	t := newTable(out, "PURPOSE", "CLIENT", "STORED", "DUE", "HELD", "OLDEST KEPT")
	for _, p := range plan.Purposes {
		oldest := "-"
		if p.OldestKept != nil {
			oldest = g.at(*p.OldestKept)
		}
		t.row(p.Purpose, dash(p.Client), fmt.Sprint(p.Stored), fmt.Sprint(p.Due), fmt.Sprint(p.Held), oldest)
	}
	if err := t.flush(); err != nil {
		return err
	}
	pv := plan.Preview
	if pv == nil {
		return nil
	}
	fmt.Fprintf(out, "\n%s: %s → %s (extend existing: %s), at %s\n", pv.Purpose, pv.From, pv.To, yesNo(pv.ExtendExisting), g.at(pv.Now))
	fmt.Fprintf(out, "%d stored: %d dates earlier, %d later, %d unchanged; %d would be deleted by the next purge, %d more are held\n",
		pv.Stored, pv.Earlier, pv.Later, pv.Unchanged, pv.Due, pv.DueHeld)
	if len(pv.Recordings) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	t = newTable(out, "ID", "CLIENT", "STARTED", "RETAINED UNTIL", "NEW DATE", "HELD")
	for _, d := range pv.Recordings {
		t.row(d.ID, dash(d.Client), g.at(d.StartedAt), g.day(d.RetainUntil), g.day(d.NewUntil), yesNo(d.LegalHold))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if pv.More {
		fmt.Fprintf(out, "(the first %d listed)\n", len(pv.Recordings))
	}
	return nil
}

// purgeCmd: retention purge.
func purgeCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("retention purge")
	reason := fs.String("reason", "", "why it runs now (audited)")
	c, err := g.setup(fs, args, 0, "no arguments, only flags")
	if err != nil {
		return err
	}
	res, raw, err := c.Purge(ctx, *reason)
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	fmt.Fprintf(out, "deleted %d (%d from the spool), %d held past their date, %d failed (retried next run), in %.1f s\n",
		res.Deleted, res.SpoolDeleted, res.Held, res.Failed, res.Seconds)
	return nil
}
