package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
)

// searchFilters are the flags of recordings search and export, with the
// API's parameter each sets.
var searchFilters = []struct{ flag, param, help string }{
	{"from", "from", "started at or after (RFC 3339, or 2026-11-05[T09:30] in the -tz zone)"},
	{"to", "to", "started before"},
	{"line", "line", "dialled number"},
	{"purpose", "purpose", "purpose name"},
	{"decision", "decision", "notified, opted-out or hung-up-during-notice"},
	{"caller", "caller", "caller number (privacy officers)"},
	{"agent-id", "agent_id", "exactly the agent id the agent platform gave (line's agent_identity)"},
	{"min-duration", "min_duration", "minimum call length (90s, 2m)"},
	{"max-duration", "max_duration", "maximum call length (5m)"},
	{"hold", "hold", "held or not-held"},
	{"end-reason", "end_reason", "how the call ended, such as caller-hangup or agent-hangup"},
	{"sip-call-id", "sip_call_id", "the call's SIP Call-ID, exactly"},
	{"sort", "sort", "started_at or one of duration, line, purpose, caller (privacy officers), decision, agent_id, has_audio, legal_hold, end_reason, state; a leading - for descending (default -started_at, newest first)"},
}

// filterFlags defines searchFilters on fs.
func filterFlags(fs *flag.FlagSet) map[string]*string {
	filters := map[string]*string{}
	for _, f := range searchFilters {
		filters[f.param] = fs.String(f.flag, "", f.help)
	}
	return filters
}

// searchCmd: recordings search.
func searchCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("recordings search")
	filters := filterFlags(fs)
	for _, f := range []struct{ flag, param, help string }{
		{"limit", "limit", "page size (1-500, default 50)"},
		{"cursor", "cursor", "next_cursor of a previous page"},
	} {
		filters[f.param] = fs.String(f.flag, "", f.help)
	}
	all := fs.Bool("all", false, "follow the cursor to the last page")
	c, err := g.setup(fs, args, 0, "no arguments, only filters")
	if err != nil {
		return err
	}
	if err := g.timeFilters(filters); err != nil {
		return err
	}
	q := queryOf(filters)
	var (
		rows []apiclient.Recording
		raws []json.RawMessage
		next string
	)
	for {
		page, raw, err := c.Search(ctx, q)
		if err != nil {
			return err
		}
		rows, raws, next = append(rows, page.Recordings...), append(raws, raw), page.NextCursor
		if !*all || next == "" {
			break
		}
		q.Set("cursor", next)
	}
	if g.output == "json" {
		if len(raws) == 1 {
			return writeRaw(out, raws[0])
		}
		return writeJSON(out, map[string]any{"recordings": rows})
	}
	t := newTable(out, "ID", "STARTED", "LENGTH", "LINE", "PURPOSE", "CALLER", "AGENT", "DECISION", "AUDIO", "HOLD", "STATE")
	for _, r := range rows {
		t.row(r.ID, g.at(r.StartedAt), clock(r.Duration), r.Line, r.Purpose, r.Caller,
			dash(r.AgentID), r.Decision, audioCell(r.HasAudio, r.SilentChannels), yesNo(r.LegalHold), r.State)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if next != "" && !*all {
		fmt.Fprintf(out, "\nmore: -cursor %s (or -all)\n", next)
	}
	return nil
}

// searchExportCmd: recordings export — the whole result of a search as
// CSV (the API audits it as an export, callers masked as the role
// requires), its times in the -tz zone when one is given (else UTC).
func searchExportCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("recordings export")
	filters := filterFlags(fs)
	dest := fs.String("out", "-", "file to write (- for standard output)")
	if _, err := parseFlags(fs, g, args, 0, "no arguments, only filters"); err != nil {
		return err
	}
	if err := g.timeFilters(filters); err != nil {
		return err
	}
	q := queryOf(filters)
	if z := g.zone(); z != time.Local {
		q.Set("tz", z.String())
	}
	return fetchTo(ctx, g, "GET", "/api/v1/recordings/export", q, nil, *dest, out)
}

// showCmd: recordings show ID.
func showCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	pos, err := parseFlags(newFlagSet("recordings show"), g, args, 1, "one recording id")
	if err != nil {
		return err
	}
	c, err := g.newClient()
	if err != nil {
		return err
	}
	d, raw, err := c.Recording(ctx, pos[0])
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	var consent apiclient.Consent
	json.Unmarshal(d.Consent, &consent)
	t := newTable(out)
	for _, kv := range [][2]string{
		{"id", d.ID}, {"started", g.at(d.StartedAt)}, {"length", clock(d.Duration)},
		{"line", d.Line}, {"dialled", d.Dialled}, {"purpose", strings.TrimSpace(d.Purpose + "  " + d.PurposeDescription)},
		{"caller", d.Caller}, {"agent", d.Agent}, {"agent id", d.AgentID}, {"state", d.State}, {"retain until", g.day(d.RetainUntil)},
		{"legal hold", yesNo(d.LegalHold) + " " + d.HoldReason}, {"audio", audioLine(d.HasAudio, d.AudioSize, d.AudioSHA256, d.SilentChannels)},
		{"consent", consent.Decision}, {"notice", consent.Notice.File + " sha256:" + consent.Notice.SHA256},
		{"notice heard to the end", yesNo(consent.Notice.Completed)}, {"opt-out key offered", consent.OptOutDigit},
	} {
		t.row(kv[0]+":", kv[1])
	}
	if o := consent.OptOut; o != nil {
		t.row("opted out:", fmt.Sprintf("%s at %s via %s", o.Digit, g.at(o.At), o.Via))
	}
	return t.flush()
}

func audioLine(has bool, size int64, sum string, silent []string) string {
	if !has {
		return "none (not recorded)"
	}
	line := fmt.Sprintf("%d bytes, sha256 %s", size, sum)
	if len(silent) > 0 {
		line += "; silent (no RTP received): " + strings.Join(silent, ", ")
	}
	return line
}

// audioCell is a search row's AUDIO: never a plain yes for a recording
// with a channel that received nothing.
func audioCell(has bool, silent []string) string {
	if has && len(silent) > 0 {
		return "silent:" + strings.Join(silent, ",")
	}
	return yesNo(has)
}

// audioExt is the extension of the file name the API gives the audio
// (Content-Disposition), one of the stored formats', else ".wav".
func audioExt(disposition string) string {
	_, params, err := mime.ParseMediaType(disposition)
	if err == nil {
		switch ext := filepath.Ext(params["filename"]); ext {
		case ".wav", ".flac", ".opus":
			return ext
		}
	}
	return ".wav"
}

// downloadCmd: recordings download ID -reason R [-out FILE].
func downloadCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("recordings download")
	reason := fs.String("reason", "", "why you download it (required; audited)")
	dest := fs.String("out", "", "file to write (default ID.wav, .flac or .opus, as stored; - for standard output)")
	pos, err := parseFlags(fs, g, args, 1, "one recording id")
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return fmt.Errorf("%w: -reason is required: say why you download this recording (it goes into the audit log)", errUsage)
	}
	c, err := g.newClient()
	if err != nil {
		return err
	}
	id := pos[0]
	res, err := c.Audio(ctx, id, *reason, true)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	path := *dest
	if path == "" {
		path = filepath.Base(id) + audioExt(res.Header.Get("Content-Disposition"))
	}
	var w io.Writer = out
	var f *os.File
	if path != "-" {
		// Written beside the destination and renamed once complete and
		// checked, so a cut download never looks like a recording.
		if f, err = os.CreateTemp(filepath.Dir(path), ".kirokuctl-*.part"); err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		w = f
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), res.Body)
	if err != nil {
		return fmt.Errorf("download %s: %w", id, err)
	}
	if res.ContentLength >= 0 && n != res.ContentLength {
		return fmt.Errorf("download %s: got %d of %d bytes", id, n, res.ContentLength)
	}
	if want := strings.Trim(res.Header.Get("ETag"), `"`); want != "" && want != hex.EncodeToString(h.Sum(nil)) {
		return fmt.Errorf("download %s: the audio does not match its SHA-256 %s", id, want)
	}
	if f == nil {
		return nil
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if g.output == "json" {
		return writeJSON(out, map[string]any{"id": id, "file": path, "bytes": n, "sha256": hex.EncodeToString(h.Sum(nil))})
	}
	fmt.Fprintf(out, "%s: %d bytes, sha256 %s\n", path, n, hex.EncodeToString(h.Sum(nil)))
	return nil
}

// holdCmd: hold set|clear ID -reason R.
func holdCmd(ctx context.Context, g *globals, on bool, args []string, out io.Writer) error {
	name := map[bool]string{true: "hold set", false: "hold clear"}[on]
	fs := newFlagSet(name)
	reason := fs.String("reason", "", "why (required; audited)")
	pos, err := parseFlags(fs, g, args, 1, "one recording id")
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return fmt.Errorf("%w: -reason is required (it goes into the audit log)", errUsage)
	}
	c, err := g.newClient()
	if err != nil {
		return err
	}
	res, raw, err := c.Hold(ctx, pos[0], on, *reason)
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	state := map[bool]string{true: "held", false: "not held"}[res.LegalHold]
	if !res.Changed {
		state += " (unchanged)"
	}
	fmt.Fprintf(out, "%s: %s\n", res.ID, state)
	return nil
}

// auditListCmd: audit list.
func auditListCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("audit list")
	filters := map[string]*string{}
	for _, k := range []string{"actor", "action", "target", "from", "to", "after", "limit"} {
		filters[k] = fs.String(k, "", k)
	}
	all := fs.Bool("all", false, "follow to the last entry")
	c, err := g.setup(fs, args, 0, "no arguments, only filters")
	if err != nil {
		return err
	}
	if err := g.timeFilters(filters); err != nil {
		return err
	}
	q := queryOf(filters)
	var (
		entries []apiclient.AuditEntry
		raws    []json.RawMessage
		next    int64
	)
	// Each read adds an entry of its own, so the walk ends on the page
	// that holds only the reads before it.
	for {
		page, raw, err := c.Audit(ctx, q)
		if err != nil {
			return err
		}
		entries, raws, next = append(entries, page.Entries...), append(raws, raw), page.NextAfter
		if !*all || next == 0 {
			break
		}
		q.Set("after", fmt.Sprint(next))
	}
	if g.output == "json" {
		if len(raws) == 1 {
			return writeRaw(out, raws[0])
		}
		return writeJSON(out, map[string]any{"entries": entries})
	}
	t := newTable(out, "SEQ", "AT", "ACTOR", "ACTION", "TARGET", "REASON", "DETAIL")
	for _, e := range entries {
		t.row(fmt.Sprint(e.Seq), g.at(e.At), e.Actor, e.Action, e.Target, e.Reason, string(e.Detail))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if next != 0 && !*all {
		fmt.Fprintf(out, "\nmore: -after %d (or -all)\n", next)
	}
	return nil
}

// errBroken is returned when the audit chain does not verify.
var errBroken = errors.New("audit log does not verify")

// auditVerifyCmd: audit verify.
func auditVerifyCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	c, err := g.setup(newFlagSet("audit verify"), args, 0, "no arguments")
	if err != nil {
		return err
	}
	v, raw, err := c.AuditVerify(ctx)
	if err != nil {
		return err
	}
	if g.output == "json" {
		if err := writeRaw(out, raw); err != nil {
			return err
		}
	} else if v.OK {
		fmt.Fprintf(out, "ok: the audit chain holds (%d entries)", v.Entries)
		switch {
		case v.CheckpointsMatched > 0:
			fmt.Fprintf(out, " and matches the newest signed checkpoint (entry %d)\n", v.NewestCheckpoint)
		case v.Checkpoints > 0:
			fmt.Fprintln(out, "; the newest checkpoint is signed with another master key (not checked)")
		default:
			fmt.Fprintln(out, "; no signed checkpoint in the store to hold it to")
		}
	}
	if !v.OK {
		if v.BrokenAt == 0 {
			return fmt.Errorf("%w: %s", errBroken, v.Why)
		}
		return fmt.Errorf("%w at entry %d: %s", errBroken, v.BrokenAt, v.Why)
	}
	return nil
}

// callsCmd: calls list.
func callsCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	c, err := g.setup(newFlagSet("calls list"), args, 0, "no arguments")
	if err != nil {
		return err
	}
	res, raw, err := c.Calls(ctx)
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	t := newTable(out, "ID", "LINE", "PURPOSE", "CALLER", "AGENT", "PHASE", "CONSENT", "RECORDING", "LENGTH", "LISTEN")
	for _, cl := range res.Calls {
		t.row(cl.ID, cl.Line, cl.Purpose, cl.Caller, cl.AgentID, cl.Phase, cl.Consent, cl.Recording, clock(cl.Duration), yesNo(cl.Listenable))
	}
	return t.flush()
}

// whoamiCmd: whoami.
func whoamiCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	c, err := g.setup(newFlagSet("whoami"), args, 0, "no arguments")
	if err != nil {
		return err
	}
	me, raw, err := c.Me(ctx)
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	var ps []string
	for _, p := range me.Purposes {
		ps = append(ps, p.Name)
	}
	fmt.Fprintf(out, "%s (%s); purposes: %s\n", me.Name, strings.Join(me.Roles, ", "), strings.Join(ps, ", "))
	return nil
}
