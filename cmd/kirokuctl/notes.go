package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kiroku-voice/kiroku/apiclient"
)

// notesCmd: recordings notes ID.
func notesCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("recordings notes")
	pos, err := parseFlags(fs, g, args, 1, "one recording id")
	if err != nil {
		return err
	}
	c, err := g.newClient()
	if err != nil {
		return err
	}
	res, raw, err := c.Notes(ctx, pos[0])
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	t := newTable(out, "WRITTEN", "BY", "AT", "NOTE")
	for _, n := range res.Notes {
		t.row(g.at(n.CreatedAt), n.Author, noteAt(n.At), strings.ReplaceAll(n.Body, "\n", " / "))
	}
	return t.flush()
}

// noteCmd: recordings note ID -text T [-at S].
func noteCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("recordings note")
	text := fs.String("text", "", "the note (required)")
	at := fs.String("at", "", "the point of the audio it is about: seconds (83.5) or m:ss (1:23.5); default the whole recording")
	pos, err := parseFlags(fs, g, args, 1, "one recording id")
	if err != nil {
		return err
	}
	n := apiclient.NewNote{Body: *text}
	if strings.TrimSpace(*text) == "" {
		return fmt.Errorf("%w: -text is required", errUsage)
	}
	if *at != "" {
		s, err := seconds(*at)
		if err != nil {
			return fmt.Errorf("%w: -at %q: %v", errUsage, *at, err)
		}
		n.At = &s
	}
	c, err := g.newClient()
	if err != nil {
		return err
	}
	res, raw, err := c.AddNote(ctx, pos[0], n)
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	fmt.Fprintf(out, "note %s added at %s\n", res.ID, noteAt(res.At))
	return nil
}

// seconds reads "83.5" or "1:23.5".
func seconds(s string) (float64, error) {
	m, sec, ok := strings.Cut(s, ":")
	if !ok {
		m, sec = "0", s
	}
	mi, err := strconv.Atoi(m)
	if err != nil || mi < 0 {
		return 0, fmt.Errorf("want seconds or m:ss")
	}
	f, err := strconv.ParseFloat(sec, 64)
	if err != nil || f < 0 || (ok && f >= 60) {
		return 0, fmt.Errorf("want seconds or m:ss")
	}
	return float64(mi)*60 + f, nil
}

// noteAt prints a note's point of the audio as m:ss.s, "-" for the whole.
func noteAt(at *float64) string {
	if at == nil {
		return "-"
	}
	return fmt.Sprintf("%d:%04.1f", int(*at)/60, *at-float64(int(*at)/60*60))
}
