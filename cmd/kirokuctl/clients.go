package main

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
)

// clientsUsage is appended to the usage text's command list.
const clientsUsage = `  contract-end CLIENT -dry-run            what a contract end would return, keep and destroy (admins)
  contract-end CLIENT -s3-bucket B [-s3-prefix P]   return into another bucket, verify, destroy, certify
  contract-end CLIENT -zip FILE            return as a ZIP, check it, confirm its checksums, destroy, certify
  contract-ends list | show RUN | certificate RUN [-format text|json]
  incident report [-actor A] [-client C] [-from T] [-to T] [-format json|csv [-out FILE|-]]
`

// summary prints a certificate's figures in one line.
func summary(c *apiclient.Certificate, out io.Writer) {
	n := c.Counts
	fmt.Fprintf(out, "run %s certified: %d recordings, %d returned and verified, %d destroyed, %d kept under legal hold, %d not returned, %d deleted meanwhile; audit entries %d to %d\n",
		c.Run, n.Recordings, n.Returned, n.Destroyed, n.Held, n.NotReturned, n.Gone, c.Audit.FirstSeq, c.Audit.LastSeq)
}

// contractEndCmd: contract-end CLIENT -dry-run | -s3-bucket B [-s3-prefix P] | -zip FILE.
func contractEndCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("contract-end")
	dry := fs.Bool("dry-run", false, "show what a run would do, changing nothing")
	bucket := fs.String("s3-bucket", "", "return into this bucket of kirokud's S3 service")
	prefix := fs.String("s3-prefix", "", "under this key prefix (default: the run's own folder, CLIENT/RUN-ID)")
	zipFile := fs.String("zip", "", "return as a ZIP written to this file")
	pos, err := parseFlags(fs, g, args, 1, "one client id")
	if err != nil {
		return err
	}
	modes := 0
	for _, on := range []bool{*dry, *bucket != "", *zipFile != ""} {
		if on {
			modes++
		}
	}
	if modes != 1 || (*prefix != "" && *bucket == "") {
		return fmt.Errorf("%w: contract-end takes one of -dry-run, -s3-bucket (with -s3-prefix) and -zip", errUsage)
	}
	c, err := g.newClient()
	if err != nil {
		return err
	}
	path := "/api/v1/clients/" + url.PathEscape(pos[0]) + "/contract-end"
	switch {
	case *dry:
		p, raw, err := c.ContractPlan(ctx, pos[0])
		if err != nil {
			return err
		}
		if g.output == "json" {
			return writeRaw(out, raw)
		}
		fmt.Fprintf(out, "client %s (%s)\n", p.Client, p.ClientName)
		fmt.Fprintf(out, "recordings to return: %d (%d with audio, %d restricted), %d sealed bytes\n", p.Recordings, p.WithAudio, p.Restricted, p.Bytes)
		fmt.Fprintf(out, "then destroyed: %d; kept under legal hold: %d\n", p.ToDestroy, p.Held)
		if p.First != nil {
			fmt.Fprintf(out, "recorded from %s to %s\n", g.at(*p.First), g.at(*p.Last))
		}
		if p.Run != nil {
			fmt.Fprintf(out, "unfinished run %s (%s): %v; a run resumes it\n", p.Run.ID, p.Run.State, p.Run.Items)
		}
		for _, b := range p.Blockers {
			fmt.Fprintf(out, "blocked: %s\n", b)
		}
		for _, b := range p.ZIPRefused {
			fmt.Fprintf(out, "no ZIP return with this token (an S3 return is open): %s\n", b)
		}
		return nil
	case *bucket != "":
		body := map[string]any{"target": map[string]any{"kind": "s3", "bucket": *bucket, "prefix": *prefix}}
		res, err := c.Do(ctx, "POST", path, nil, nil, body)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		if err != nil {
			return fmt.Errorf("contract end: %w (run it again to resume)", err)
		}
		return printCertificate(g, out, raw)
	}
	return contractEndZIP(ctx, g, c, pos[0], path, *zipFile, out)
}

func printCertificate(g *globals, out io.Writer, raw []byte) error {
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	var cert apiclient.Certificate
	if err := json.Unmarshal(raw, &cert); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	summary(&cert, out)
	return nil
}

// contractEndZIP receives the ZIP into file (through a temporary file),
// checks every file in it against its SHA256SUMS, confirms the checksums
// it computed itself, and writes the certificate beside the ZIP.
func contractEndZIP(ctx context.Context, g *globals, c *client, clientID, path, file string, out io.Writer) error {
	res, err := c.Do(ctx, "POST", path, nil, nil, map[string]any{"target": map[string]any{"kind": "zip"}})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		// Nothing was left to return: the answer is the certificate.
		raw, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		return printCertificate(g, out, raw)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".kirokuctl-*.part")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, res.Body); err != nil {
		return fmt.Errorf("contract-end ZIP cut short: %w (run it again to resume)", err)
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return err
	}
	sums, run, err := checkZIP(file)
	if err != nil {
		return fmt.Errorf("%s: %w (nothing confirmed; run it again)", file, err)
	}
	conf, raw, err := c.ConfirmContractEnd(ctx, run, sums)
	if err != nil {
		return err
	}
	if len(conf.Certificate) == 0 || string(conf.Certificate) == "null" {
		if g.output == "json" {
			return writeRaw(out, raw)
		}
		return fmt.Errorf("%s: %d recordings confirmed, %d files did not match: the run is not certified; run it again", file, conf.Verified, len(conf.Mismatches))
	}
	base := strings.TrimSuffix(file, ".zip")
	if err := os.WriteFile(base+".certificate.json", conf.Certificate, 0o600); err != nil {
		return err
	}
	txt, err := c.Do(ctx, "GET", "/api/v1/contract-ends/"+url.PathEscape(run)+"/certificate", url.Values{"format": {"text"}}, nil, nil)
	if err != nil {
		return err
	}
	defer txt.Body.Close()
	b, err := io.ReadAll(txt.Body)
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".certificate.txt", b, 0o600); err != nil {
		return err
	}
	if err := printCertificate(g, out, conf.Certificate); err != nil {
		return err
	}
	if g.output != "json" {
		fmt.Fprintf(out, "%s, %s.certificate.json, %s.certificate.txt written\n", file, base, base)
	}
	return nil
}

// checkZIP reads a returned ZIP, checks each file against its SHA256SUMS
// and returns the checksums computed here, with the run's id.
func checkZIP(file string) (map[string]string, string, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, "", err
	}
	defer zr.Close()
	got := map[string]string{}
	var listed, index []byte
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, "", err
		}
		h := sha256.New()
		var keep strings.Builder
		w := io.Writer(h)
		if f.Name == "SHA256SUMS" || f.Name == "index.json" {
			w = io.MultiWriter(h, &keep)
		}
		_, err = io.Copy(w, rc)
		rc.Close()
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", f.Name, err)
		}
		switch f.Name {
		case "SHA256SUMS":
			listed = []byte(keep.String())
		case "index.json":
			index = []byte(keep.String())
		}
		got[f.Name] = hex.EncodeToString(h.Sum(nil))
	}
	if listed == nil || index == nil {
		return nil, "", errors.New("no SHA256SUMS or index.json: not a contract-end ZIP")
	}
	sc := bufio.NewScanner(strings.NewReader(string(listed)))
	n := 0
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			return nil, "", fmt.Errorf("SHA256SUMS: bad line %q", sc.Text())
		}
		if got[name] != sum {
			return nil, "", fmt.Errorf("%s: sha256 %s, SHA256SUMS says %s", name, got[name], sum)
		}
		n++
	}
	if n != len(got)-1 {
		return nil, "", fmt.Errorf("SHA256SUMS lists %d files, the ZIP holds %d others", n, len(got)-1)
	}
	var idx struct {
		Run string `json:"run"`
	}
	if err := json.Unmarshal(index, &idx); err != nil || idx.Run == "" {
		return nil, "", fmt.Errorf("index.json: no run id (%v)", err)
	}
	delete(got, "SHA256SUMS")
	return got, idx.Run, nil
}

// contractEndsCmd: contract-ends list | show RUN | certificate RUN.
func contractEndsCmd(ctx context.Context, g *globals, sub string, args []string, out io.Writer) error {
	switch sub {
	case "list":
		c, err := g.setup(newFlagSet("contract-ends list"), args, 0, "no arguments")
		if err != nil {
			return err
		}
		res, raw, err := c.ContractRuns(ctx)
		if err != nil {
			return err
		}
		if g.output == "json" {
			return writeRaw(out, raw)
		}
		t := newTable(out, "RUN", "CLIENT", "STATE", "STARTED", "BY", "ITEMS")
		for _, r := range res.Runs {
			t.row(r.ID, r.Client, r.State, g.at(r.StartedAt), strings.Join(r.Operators, ","), fmt.Sprint(r.Items))
		}
		return t.flush()
	case "show":
		pos, err := parseFlags(newFlagSet("contract-ends show"), g, args, 1, "one run id")
		if err != nil {
			return err
		}
		return requestCall(ctx, g, "GET", "/api/v1/contract-ends/"+url.PathEscape(pos[0]), nil, out)
	case "certificate":
		fs := newFlagSet("contract-ends certificate")
		format := fs.String("format", "text", "text or json")
		pos, err := parseFlags(fs, g, args, 1, "one run id")
		if err != nil {
			return err
		}
		return fetchTo(ctx, g, "GET", "/api/v1/contract-ends/"+url.PathEscape(pos[0])+"/certificate", url.Values{"format": {*format}}, nil, "-", out)
	}
	return fmt.Errorf("%w: unknown command \"contract-ends %s\"", errUsage, sub)
}

// incidentCmd: incident report [filters]. It prints a table like every
// command; -format json or csv (or -o json) gives the report as a file
// format, to standard output or -out.
func incidentCmd(ctx context.Context, g *globals, sub string, args []string, out io.Writer) error {
	if sub != "report" {
		return fmt.Errorf("%w: unknown command \"incident %s\"", errUsage, sub)
	}
	fs := newFlagSet("incident report")
	actor := fs.String("actor", "", "a token's name (the audit log's actor)")
	client := fs.String("client", "", "a client id")
	from := fs.String("from", "", "start of the time window (RFC 3339 or 2026-11-05[T09:30] in the -tz zone)")
	to := fs.String("to", "", "end of the time window")
	format := fs.String("format", "", "json or csv: the report as a file rather than a table")
	dest := fs.String("out", "-", "file to write with -format (- for standard output)")
	if _, err := parseFlags(fs, g, args, 0, "no arguments"); err != nil {
		return err
	}
	if err := g.timeFilters(map[string]*string{"from": from, "to": to}); err != nil {
		return err
	}
	if *format != "" && *format != "json" && *format != "csv" {
		return fmt.Errorf("%w: -format %q is not json or csv", errUsage, *format)
	}
	q := url.Values{}
	for k, v := range map[string]string{"actor": *actor, "client": *client, "from": *from, "to": *to} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *format == "" && g.output == "json" {
		*format = "json"
	}
	if *format != "" {
		q.Set("format", *format)
		return fetchTo(ctx, g, "GET", "/api/v1/incidents", q, nil, *dest, out)
	}
	if *dest != "-" {
		return fmt.Errorf("%w: -out writes a file format: give -format json or csv with it", errUsage)
	}
	c, err := g.newClient()
	if err != nil {
		return err
	}
	r, _, err := c.Incident(ctx, q)
	if err != nil {
		return err
	}
	return incidentTable(g, r, out)
}

// incidentTable prints an incident report: the window and audit range,
// then each recording with what was done to it, and the refused and
// other entries.
func incidentTable(g *globals, r *apiclient.IncidentReport, out io.Writer) error {
	window := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return g.at(*t)
	}
	fmt.Fprintf(out, "window: %s to %s; generated %s\n", window(r.From), window(r.To), g.at(r.Generated))
	fmt.Fprintf(out, "audit entries: %d (seq %d to %d); recordings: %d; callers: %d (%d no longer known); left out (purposes not open to your roles): %d\n\n",
		r.Entries, r.FirstSeq, r.LastSeq, len(r.Recordings), len(r.Callers), r.CallersUnknown, r.Withheld)
	t := newTable(out, "RECORDING", "STARTED", "LINE", "PURPOSE", "CALLER", "AGENT", "STATE", "ACCESSED", "EXPORTED", "CHANGED", "ENTRIES")
	for _, rec := range r.Recordings {
		t.row(rec.ID, window(rec.StartedAt), dash(rec.Line), dash(rec.Purpose), dash(rec.Caller), dash(rec.AgentID), rec.State,
			yesNo(rec.Accessed), yesNo(rec.Exported), yesNo(rec.Changed), fmt.Sprint(len(rec.Entries)))
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, part := range []struct {
		title   string
		entries []apiclient.IncidentEntry
	}{{"refused", r.Denied}, {"other entries", r.Other}} {
		if len(part.entries) == 0 {
			continue
		}
		fmt.Fprintf(out, "\n%s:\n", part.title)
		t := newTable(out, "SEQ", "AT", "ACTOR", "ACTION", "TARGET", "REASON")
		for _, e := range part.entries {
			t.row(fmt.Sprint(e.Seq), g.at(e.At), e.Actor, e.Action, dash(e.Target), dash(e.Reason))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return nil
}
