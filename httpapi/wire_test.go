package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/contract"
	"github.com/kiroku-voice/kiroku/incident"
	"github.com/kiroku-voice/kiroku/rights"
)

// strict decodes raw into a fresh T refusing unknown fields, and checks
// that encoding it again gives raw back: the API's answer and the wire
// type agree field for field.
func strict[T any](t *testing.T, what string, raw json.RawMessage) {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, raw)
	}
	again, _ := json.Marshal(v)
	var want bytes.Buffer
	json.Compact(&want, raw)
	if !bytes.Equal(again, want.Bytes()) {
		t.Errorf("%s: got %s again, want %s", what, again, want.Bytes())
	}
}

// TestWireTypes calls the API through its own client package and holds
// each answer to the client's wire type, so kirokuctl (which decodes
// with those types) and the API cannot drift apart.
func TestWireTypes(t *testing.T) {
	e := newRetentionEnv(t)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 1})
	base, _ := url.Parse(e.srv.URL)
	as := func(name string) *apiclient.Client { return apiclient.New(base, token(name), e.srv.Client()) }
	ctx := t.Context()

	check := func(what string, raw json.RawMessage, err error, decode func(string, json.RawMessage)) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		decode(what, raw)
	}
	_, raw, err := as("po").Me(ctx)
	check("me", raw, err, func(w string, r json.RawMessage) { strict[apiclient.Me](t, w, r) })
	page, raw, err := as("po").Search(ctx, url.Values{"limit": {"1"}})
	check("search", raw, err, func(w string, r json.RawMessage) { strict[apiclient.SearchPage](t, w, r) })
	if len(page.Recordings) != 1 || page.Recordings[0].ID != ids[0] || page.Recordings[0].Caller != "0312345678" {
		t.Errorf("search: got %+v, want %s with its caller in clear", page.Recordings, ids[0])
	}
	d, raw, err := as("sup").Recording(ctx, ids[0])
	check("recording", raw, err, func(w string, r json.RawMessage) { strict[apiclient.RecordingDetail](t, w, r) })
	if !d.CallerMasked || !d.Can.Play || d.Can.Hold {
		t.Errorf("recording for a supervisor: got masked %v play %v hold %v, want true true false", d.CallerMasked, d.Can.Play, d.Can.Hold)
	}
	_, raw, err = as("po").Hold(ctx, ids[0], true, "監査のため")
	check("hold", raw, err, func(w string, r json.RawMessage) { strict[apiclient.HoldResult](t, w, r) })
	_, raw, err = as("sup").AudioTicket(ctx, ids[0], apiclient.TicketRequest{Reason: "quality check"})
	check("ticket", raw, err, func(w string, r json.RawMessage) { strict[apiclient.Ticket](t, w, r) })
	_, raw, err = as("aud").Audit(ctx, url.Values{"limit": {"5"}})
	check("audit", raw, err, func(w string, r json.RawMessage) { strict[apiclient.AuditPage](t, w, r) })
	_, raw, err = as("aud").AuditVerify(ctx)
	check("audit verify", raw, err, func(w string, r json.RawMessage) { strict[apiclient.AuditVerify](t, w, r) })
	rq, raw, err := as("po").CreateRequest(ctx, apiclient.NewRequest{Kind: "disclosure", Callers: []string{"0312345678"},
		Verification: "passport checked", Requester: "the caller"})
	check("create request", raw, err, func(w string, r json.RawMessage) { strict[apiclient.Request](t, w, r) })
	_, raw, err = as("po").RequestByID(ctx, rq.ID)
	check("request", raw, err, func(w string, r json.RawMessage) { strict[apiclient.Request](t, w, r) })
	_, raw, err = as("po").Requests(ctx)
	check("requests", raw, err, func(w string, r json.RawMessage) { strict[apiclient.RequestList](t, w, r) })

	on := true
	_, raw, err = as("po").BulkHold(ctx, apiclient.BulkHoldRequest{Caller: "0312345678", On: &on, Reason: "監査のため"})
	check("bulk hold", raw, err, func(w string, r json.RawMessage) { strict[apiclient.BulkHoldResult](t, w, r) })
	_, raw, err = as("po").RetentionPlan(ctx, nil)
	check("retention plan", raw, err, func(w string, r json.RawMessage) { strict[apiclient.RetentionPlan](t, w, r) })
	_, raw, err = as("po").RetentionPlan(ctx, url.Values{"purpose": {"cs-quality"}, "retention": {"30d"}})
	check("retention preview", raw, err, func(w string, r json.RawMessage) { strict[apiclient.RetentionPlan](t, w, r) })
	_, raw, err = as("sup").AddNote(ctx, ids[0], apiclient.NewNote{Body: "挨拶なし"})
	check("add note", raw, err, func(w string, r json.RawMessage) { strict[apiclient.Note](t, w, r) })
	_, raw, err = as("sup").Notes(ctx, ids[0])
	check("notes", raw, err, func(w string, r json.RawMessage) { strict[apiclient.NoteList](t, w, r) })
	// The incident report's client type is the part kirokuctl prints:
	// TestContractWireTypes holds it to the server's.
	_, _, err = as("po").Incident(ctx, url.Values{"actor": {"sup"}})
	check("incident", nil, err, func(string, json.RawMessage) {})
	_, raw, err = as("po").Purge(ctx, "")
	check("purge", raw, err, func(w string, r json.RawMessage) { strict[apiclient.PurgeResult](t, w, r) })
	_, raw, err = as("adm").DeadEvents(ctx, nil)
	check("dead events", raw, err, func(w string, r json.RawMessage) { strict[apiclient.DeadEvents](t, w, r) })
	_, raw, err = as("adm").Requeue(ctx, apiclient.RequeueRequest{All: true})
	check("requeue", raw, err, func(w string, r json.RawMessage) { strict[apiclient.RequeueResult](t, w, r) })

	// A refusal is a *StatusError carrying the API's message.
	_, _, err = as("sup").Audit(ctx, nil)
	var se *apiclient.StatusError
	if !errors.As(err, &se) || se.Status != 403 || se.Msg != "the audit log is open to auditors" {
		t.Errorf("audit as a supervisor: got %v, want a 403 StatusError", err)
	}
}

// jsonNames adds to out the JSON names of t's fields as paths
// ("counts.returned"), through embedded structs, pointers and slices of
// structs; json.RawMessage, maps and times are leaves.
func jsonNames(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t == reflect.TypeFor[json.RawMessage]() {
			return
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() {
		return
	}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
			continue
		case f.Anonymous && name == "":
			jsonNames(f.Type, prefix, out)
			continue
		case name == "":
			name = f.Name
		}
		out[prefix+name] = true
		jsonNames(f.Type, prefix+name+".", out)
	}
}

// TestContractWireTypes: the contract-end answers are the contract
// package's types, the incident report the incident package's; every field apiclient reads of them is one the
// server sends, so a renamed or dropped field fails here instead of
// reading as zero in kirokuctl.
func TestContractWireTypes(t *testing.T) {
	for _, c := range []struct {
		client, server reflect.Type
	}{
		{reflect.TypeFor[apiclient.ContractPlan](), reflect.TypeFor[contract.Plan]()},
		{reflect.TypeFor[apiclient.ContractRun](), reflect.TypeFor[contract.RunInfo]()},
		{reflect.TypeFor[apiclient.Certificate](), reflect.TypeFor[contract.Certificate]()},
		{reflect.TypeFor[apiclient.Confirmation](), reflect.TypeFor[contract.Confirmation]()},
		{reflect.TypeFor[apiclient.IncidentReport](), reflect.TypeFor[incident.Report]()},
	} {
		t.Run(c.client.Name(), func(t *testing.T) {
			have, want := map[string]bool{}, map[string]bool{}
			jsonNames(c.server, "", have)
			jsonNames(c.client, "", want)
			for name := range want {
				if !have[name] {
					t.Errorf("apiclient.%s reads %q, which %s does not send", c.client.Name(), name, c.server)
				}
			}
		})
	}
}

// TestRequestBodies: every request body apiclient sends decodes, field
// for field, into the type the API decodes it into (which refuses
// unknown fields).
func TestRequestBodies(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name   string
		body   any
		server any
	}{
		{"new request", apiclient.NewRequest{Kind: "disclosure", Callers: []string{"0312345678"}, Verification: "v", Requester: "r", ReceivedAt: &now}, &rights.NewRequest{}},
		{"correction", apiclient.Correction{Field: "customer_ref", Value: "C-1", Recordings: []string{"x"}}, &rights.Correction{}},
		{"provision", apiclient.ProvisionRequest{Recipient: "r", LegalBasis: "b", ConsentRef: "c", IDs: []string{"x"}}, &rights.ProvisionRequest{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _ := json.Marshal(c.body)
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(c.server); err != nil {
				t.Fatalf("the API would refuse %s: %v", b, err)
			}
			again, _ := json.Marshal(c.server)
			var x, y map[string]any
			json.Unmarshal(b, &x)
			json.Unmarshal(again, &y)
			for k := range x {
				if _, ok := y[k]; !ok {
					t.Errorf("%s: field %q is lost on the way in", b, k)
				}
			}
		})
	}
}
