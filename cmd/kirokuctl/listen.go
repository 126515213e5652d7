package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/internal/wav"
)

// listenCmd: calls listen ID -reason R [-out FILE|-] [-for D]. It saves
// what it hears of a call in progress as a WAV: until the call ends, -for
// has passed or it is interrupted (Ctrl-C keeps what was heard).
func listenCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("calls listen")
	reason := fs.String("reason", "", "why you listen in (required; audited)")
	dest := fs.String("out", "", "WAV file to write (default ID-live.wav; - for the raw stream on standard output)")
	limit := fs.Duration("for", 0, "stop after this long (default: until the call ends)")
	pos, err := parseFlags(fs, g, args, 1, "one call id")
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return fmt.Errorf("%w: -reason is required: say why you listen in to this call (it goes into the audit log)", errUsage)
	}
	if *limit < 0 {
		return fmt.Errorf("%w: -for %v: want a duration above 0", errUsage, *limit)
	}
	c, err := g.newClient()
	if err != nil {
		return err
	}
	id := pos[0]
	path := *dest
	if path == "" {
		path = filepath.Base(id) + "-live.wav"
	}
	var w io.Writer = out
	var f *os.File
	if path != "-" {
		// Written beside the destination and renamed once its header is
		// repaired, so a cut listen never looks like a whole file.
		if f, err = os.CreateTemp(filepath.Dir(path), ".kirokuctl-*.part"); err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		w = f
	}
	lctx := ctx
	if *limit > 0 {
		var cancel context.CancelFunc
		lctx, cancel = context.WithTimeout(ctx, *limit)
		defer cancel()
	}
	start := time.Now()
	res, err := c.Listen(lctx, id, *reason)
	if err != nil {
		return err
	}
	n, err := io.Copy(w, res.Body)
	res.Body.Close()
	if err != nil && lctx.Err() == nil {
		return fmt.Errorf("listen %s: %w", id, err)
	}
	if f == nil {
		return nil
	}
	if err := f.Close(); err != nil {
		return err
	}
	data, err := wav.Repair(f.Name())
	if err != nil {
		return fmt.Errorf("listen %s: %d bytes heard, not a WAV stream: %w", id, n, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	took := time.Since(start).Round(time.Millisecond)
	if g.output == "json" {
		return writeJSON(out, map[string]any{"id": id, "file": path, "audio_bytes": data, "seconds": took.Seconds()})
	}
	fmt.Fprintf(out, "%s: %d bytes of audio, listened %v\n", path, data, took)
	return nil
}
