package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/kiroku-voice/kiroku/apiclient"
)

// webhooksUsage is appended to the usage text's command list.
const webhooksUsage = `  webhooks dead [-limit N]                 webhook events given up, the last first (admins)
  webhooks requeue EVENT… | -all           deliver given-up events again, once the endpoint is mended
`

// webhooksCmd: webhooks dead|requeue.
func webhooksCmd(ctx context.Context, g *globals, sub string, args []string, out io.Writer) error {
	switch sub {
	case "dead":
		return deadCmd(ctx, g, args, out)
	case "requeue":
		return requeueCmd(ctx, g, args, out)
	}
	return fmt.Errorf("%w: unknown command \"webhooks %s\"", errUsage, sub)
}

func deadCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("webhooks dead")
	limit := fs.Int("limit", 100, "at most this many (1-500)")
	c, err := g.setup(fs, args, 0, "no arguments")
	if err != nil {
		return err
	}
	if *limit < 1 || *limit > 500 {
		return fmt.Errorf("%w: -limit %d: from 1 to 500", errUsage, *limit)
	}
	res, raw, err := c.DeadEvents(ctx, url.Values{"limit": {strconv.Itoa(*limit)}})
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	t := newTable(out, "EVENT", "TYPE", "RECORDING", "CREATED", "TRIES", "LAST ERROR")
	for _, e := range res.Events {
		t.row(e.ID, e.Type, e.Recording, g.at(e.CreatedAt), strconv.Itoa(e.Tries), strings.ReplaceAll(e.LastError, "\n", " "))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if res.Truncated {
		fmt.Fprintf(out, "(more given up than the %d listed: -limit)\n", *limit)
	}
	return nil
}

func requeueCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("webhooks requeue")
	all := fs.Bool("all", false, "every event given up")
	pos, err := parseFlags(fs, g, args, -1, "event ids, or -all")
	if err != nil {
		return err
	}
	switch {
	case *all && len(pos) > 0:
		return fmt.Errorf("%w: event ids or -all, not both", errUsage)
	case !*all && len(pos) == 0:
		return fmt.Errorf("%w: name the events to requeue (webhooks dead lists them), or -all", errUsage)
	}
	c, err := g.newClient()
	if err != nil {
		return err
	}
	res, raw, err := c.Requeue(ctx, apiclient.RequeueRequest{IDs: pos, All: *all})
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	fmt.Fprintf(out, "requeued %d event(s), due now\n", len(res.Requeued))
	for _, id := range res.NotDead {
		fmt.Fprintf(out, "not given up (delivered, dropped with its recording, or still tried): %s\n", id)
	}
	return nil
}
