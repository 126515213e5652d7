package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiroku-voice/kiroku/apiclient"
)

// requestsUsage is appended to the usage text's command list.
const requestsUsage = `  requests create -kind K -caller N[,N…] -verification V -requester R
  requests list | show ID
  requests disclose ID [-out FILE|-]       disclosure ZIP
  requests correct ID -field customer_ref -value V [-recordings ID,…]
  requests stop-use|resume-use|stop-provision ID
  requests erase ID [-confirm C]           without -confirm: what it destroys and keeps, and C
  requests refuse ID -reason R
  requests provide -recipient R -legal-basis B [-consent-ref C] -ids ID,… [-out FILE|-]
  requests provisions [-format json|csv [-out FILE|-]]
  requests pseudonymised [-from T] [-to T] [-format json|csv [-out FILE|-]]
`

// requestsCmd runs "requests SUB …" (privacy officers).
func requestsCmd(ctx context.Context, g *globals, sub string, args []string, out io.Writer) error {
	switch sub {
	case "create":
		return requestCreateCmd(ctx, g, args, out)
	case "list":
		return requestListCmd(ctx, g, args, out)
	case "show":
		return requestPostCmd(ctx, g, "requests show", "GET", "", args, out)
	case "disclose":
		return requestDownloadCmd(ctx, g, args, out)
	case "correct":
		return requestCorrectCmd(ctx, g, args, out)
	case "erase":
		return requestEraseCmd(ctx, g, args, out)
	case "stop-use", "resume-use", "stop-provision":
		return requestPostCmd(ctx, g, "requests "+sub, "POST", "/"+sub, args, out)
	case "refuse":
		return requestRefuseCmd(ctx, g, args, out)
	case "provide":
		return provideCmd(ctx, g, args, out)
	case "provisions":
		return exportCmd(ctx, g, "requests provisions", "/api/v1/requests/provisions", args, out)
	case "pseudonymised":
		return exportCmd(ctx, g, "requests pseudonymised", "/api/v1/requests/pseudonymised", args, out)
	}
	return fmt.Errorf("%w: unknown command \"requests %s\"", errUsage, sub)
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func requestCreateCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("requests create")
	kind := fs.String("kind", "", "disclosure, correction, stop-of-use, resume-use, erasure or stop-third-party-provision")
	callers := fs.String("caller", "", "the person's caller numbers, comma-separated")
	verification := fs.String("verification", "", "reference to the identity documents checked (never the documents)")
	requester := fs.String("requester", "", "the person, or their legal or appointed agent")
	c, err := g.setup(fs, args, 0, "no arguments")
	if err != nil {
		return err
	}
	r, raw, err := c.CreateRequest(ctx, apiclient.NewRequest{Kind: *kind, Callers: splitList(*callers), Verification: *verification, Requester: *requester})
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	fmt.Fprintf(out, "%s: %s request recorded\n", r.ID, r.Kind)
	return nil
}

func requestListCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	c, err := g.setup(newFlagSet("requests list"), args, 0, "no arguments")
	if err != nil {
		return err
	}
	res, raw, err := c.Requests(ctx)
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	t := newTable(out, "ID", "KIND", "RECEIVED", "OUTCOME", "OPERATOR")
	for _, r := range res.Requests {
		t.row(r.ID, r.Kind, g.at(r.ReceivedAt), r.Outcome, r.Operator)
	}
	return t.flush()
}

// requestPostCmd sends method /api/v1/requests/ID+suffix and prints the
// JSON answer.
func requestPostCmd(ctx context.Context, g *globals, name, method, suffix string, args []string, out io.Writer) error {
	pos, err := parseFlags(newFlagSet(name), g, args, 1, "one request id")
	if err != nil {
		return err
	}
	return requestCall(ctx, g, method, "/api/v1/requests/"+url.PathEscape(pos[0])+suffix, nil, out)
}

func requestCall(ctx context.Context, g *globals, method, path string, body any, out io.Writer) error {
	c, err := g.newClient()
	if err != nil {
		return err
	}
	raw, err := c.JSON(ctx, method, path, nil, nil, body, nil)
	if err != nil {
		return err
	}
	if g.output == "json" {
		return writeRaw(out, raw)
	}
	return writeFields(g, out, raw)
}

func requestCorrectCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("requests correct")
	field := fs.String("field", "customer_ref", "the fact to correct")
	value := fs.String("value", "", "its corrected value")
	recs := fs.String("recordings", "", "recording ids, comma-separated (default: all of the request's)")
	pos, err := parseFlags(fs, g, args, 1, "one request id")
	if err != nil {
		return err
	}
	body := apiclient.Correction{Field: *field, Value: *value, Recordings: splitList(*recs)}
	return requestCall(ctx, g, "POST", "/api/v1/requests/"+url.PathEscape(pos[0])+"/correct", body, out)
}

func requestRefuseCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("requests refuse")
	reason := fs.String("reason", "", "why the request cannot be answered (recorded on it)")
	pos, err := parseFlags(fs, g, args, 1, "one request id")
	if err != nil {
		return err
	}
	return requestCall(ctx, g, "POST", "/api/v1/requests/"+url.PathEscape(pos[0])+"/refuse", apiclient.Refusal{Reason: *reason}, out)
}

func requestDownloadCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("requests disclose")
	dest := fs.String("out", "", "file to write (default disclosure-ID.zip; - for standard output)")
	pos, err := parseFlags(fs, g, args, 1, "one request id")
	if err != nil {
		return err
	}
	path := *dest
	if path == "" {
		path = "disclosure-" + filepath.Base(pos[0]) + ".zip"
	}
	return fetchTo(ctx, g, "POST", "/api/v1/requests/"+url.PathEscape(pos[0])+"/disclose", nil, nil, path, out)
}

func provideCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("requests provide")
	recipient := fs.String("recipient", "", "the third party")
	basis := fs.String("legal-basis", "", "the legal basis of the provision")
	consent := fs.String("consent-ref", "", "reference to the consent obtained")
	ids := fs.String("ids", "", "recording ids, comma-separated")
	dest := fs.String("out", "provision.zip", "file to write (- for standard output)")
	if _, err := parseFlags(fs, g, args, 0, "no arguments"); err != nil {
		return err
	}
	body := apiclient.ProvisionRequest{Recipient: *recipient, LegalBasis: *basis, ConsentRef: *consent, IDs: splitList(*ids)}
	return fetchTo(ctx, g, "POST", "/api/v1/requests/provisions", nil, body, *dest, out)
}

func exportCmd(ctx context.Context, g *globals, name, path string, args []string, out io.Writer) error {
	fs := newFlagSet(name)
	format := fs.String("format", "", "json or csv: the export as a file rather than a table")
	from := fs.String("from", "", "start (pseudonymised only; RFC 3339 or 2026-11-05[T09:30] in the -tz zone)")
	to := fs.String("to", "", "end (pseudonymised only)")
	dest := fs.String("out", "-", "file to write (- for standard output)")
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
	if *from != "" {
		q.Set("from", *from)
	}
	if *to != "" {
		q.Set("to", *to)
	}
	if *format == "" && (g.output == "json" || *dest != "-") {
		*format = "json"
	}
	if *format != "" {
		q.Set("format", *format)
		return fetchTo(ctx, g, "GET", path, q, nil, *dest, out)
	}
	c, err := g.newClient()
	if err != nil {
		return err
	}
	q.Set("format", "json")
	raw, err := c.JSON(ctx, "GET", path, q, nil, nil, nil)
	if err != nil {
		return err
	}
	return writeRows(g, out, raw)
}

// fetchTo writes an answer's body to path ("-": out), through a
// temporary file renamed once complete.
func fetchTo(ctx context.Context, g *globals, method, apiPath string, q url.Values, body any, path string, out io.Writer) error {
	c, err := g.newClient()
	if err != nil {
		return err
	}
	res, err := c.Do(ctx, method, apiPath, q, nil, body)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if path == "-" {
		_, err := io.Copy(out, res.Body)
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".kirokuctl-*.part")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, res.Body)
	if err != nil {
		return fmt.Errorf("%s: %w", apiPath, err)
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
		return writeJSON(out, map[string]any{"file": path, "bytes": n})
	}
	fmt.Fprintf(out, "%s: %d bytes\n", path, n)
	return nil
}

// requestEraseCmd: requests erase ID [-confirm C]. Without -confirm it
// prints the plan (what the erasure destroys, what a hold keeps) and the
// confirm to run it with; nothing changes.
func requestEraseCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("requests erase")
	confirm := fs.String("confirm", "", "the confirm of the plan this prints without it")
	pos, err := parseFlags(fs, g, args, 1, "one request id")
	if err != nil {
		return err
	}
	c, err := g.newClient()
	if err != nil {
		return err
	}
	path := "/api/v1/requests/" + url.PathEscape(pos[0])
	if *confirm == "" {
		var p apiclient.ErasurePlan
		raw, err := c.JSON(ctx, "GET", path+"/erasure-plan", nil, nil, nil, &p)
		if err != nil {
			return err
		}
		if g.output == "json" {
			return writeRaw(out, raw)
		}
		fmt.Fprintf(out, "erasure %s would destroy %d recordings and keep %d under legal hold:\n\n", p.Request, len(p.Destroy), len(p.Held))
		t := newTable(out, "", "ID", "STARTED", "LINE", "PURPOSE", "CLIENT", "AUDIO", "HOLD")
		for _, d := range p.Destroy {
			t.row("destroy", d.ID, g.at(d.StartedAt), d.Line, d.Purpose, dash(d.Client), yesNo(d.Audio), "")
		}
		for _, h := range p.Held {
			t.row("keep", h.ID, g.at(h.StartedAt), h.Line, h.Purpose, dash(h.Client), yesNo(h.Audio), h.HoldReason)
		}
		if err := t.flush(); err != nil {
			return err
		}
		fmt.Fprintf(out, "\n%s.\nto erase: kirokuctl requests erase %s -confirm %s\n", p.NotYetStored, p.Request, p.Confirm)
		return nil
	}
	return requestCall(ctx, g, "POST", path+"/erase", apiclient.EraseRequest{Confirm: *confirm}, out)
}
