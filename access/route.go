package access

import (
	"slices"
	"strings"
)

// Rule is who may call a route: a principal holding one of Roles (and,
// when Unscoped, not scoped to clients), or anyone when Public. Which
// recordings, calls or clients the call then reaches is for the scope
// rules (Policy).
type Rule struct {
	// Roles are the roles of which a principal needs one.
	Roles []string
	// Public routes need no token.
	Public bool
	// Unscoped routes are refused to tokens scoped to clients: what they
	// read or change spans every client.
	Unscoped bool
	// Why (for the audit log) and Answer (for the caller) explain a
	// refusal for want of a role; ScopedWhy and ScopedAnswer one for a
	// scoped token on an Unscoped route.
	Why, Answer             string
	ScopedWhy, ScopedAnswer string
}

// Denial is a refusal: why (kept in the audit log) and what the caller
// is told.
type Denial struct {
	Why    string
	Answer string
}

// Check returns nil when p may call a route under r, else why not.
func (r Rule) Check(p Principal) *Denial {
	switch {
	case r.Public:
		return nil
	case !p.HasAny(r.Roles...):
		return &Denial{Why: r.Why, Answer: r.Answer}
	case r.Unscoped && p.Scoped():
		return &Denial{Why: r.ScopedWhy, Answer: r.ScopedAnswer}
	}
	return nil
}

// Route is one API route: its net/http ServeMux pattern ("METHOD
// /path") and its rule.
type Route struct {
	Pattern string
	Rule
}

// The rules, one per group of routes. Their texts are those the API has
// always answered with.
var (
	public  = Rule{Public: true}
	anyRole = Rule{Roles: roles,
		Why:    "a route open to every role, and the token holds none",
		Answer: "this route is open to the roles " + RoleList()}
	hold = Rule{Roles: []string{PrivacyOfficer},
		Why:    "legal hold without the privacy-officer role",
		Answer: "legal holds are set and cleared by privacy officers"}
	auditLog = Rule{Roles: []string{Auditor}, Unscoped: true,
		Why: "audit log without the auditor role", Answer: "the audit log is open to auditors",
		ScopedWhy:    "audit log with a token scoped to clients",
		ScopedAnswer: "the audit log covers every client: a client-scoped token reads its clients' part through GET /api/v1/incidents"}
	calls = Rule{Roles: []string{Supervisor, Admin},
		Why:    "calls in progress without the supervisor or admin role",
		Answer: "calls in progress are open to supervisors and admins"}
	// Listening in hears the recording: supervisors only (HearsCall).
	listen = Rule{Roles: []string{Supervisor},
		Why:    "listen-in without the supervisor role",
		Answer: "listening in to calls in progress is for supervisors"}
	// Notes are written by those who review recordings; read by anyone
	// the recording is visible to.
	notes = Rule{Roles: []string{Supervisor, PrivacyOfficer},
		Why:    "a note without the supervisor or privacy-officer role",
		Answer: "notes are written by supervisors and privacy officers"}
	bulkHold = Rule{Roles: []string{PrivacyOfficer},
		Why:    "bulk legal hold without the privacy-officer role",
		Answer: "legal holds are set and cleared by privacy officers"}
	// The plan and the purge span every client's recordings.
	retentionPlan = Rule{Roles: []string{PrivacyOfficer, Auditor, Admin}, Unscoped: true,
		Why: "retention plan without privacy-officer, auditor or admin", Answer: "the retention plan is open to privacy officers, auditors and admins",
		ScopedWhy:    "retention plan with a token scoped to clients",
		ScopedAnswer: "the retention plan covers every client: it is read by tokens not scoped to clients"}
	purge = Rule{Roles: []string{PrivacyOfficer, Admin}, Unscoped: true,
		Why: "purge without privacy-officer or admin", Answer: "a purge is run by privacy officers and admins",
		ScopedWhy:    "purge with a token scoped to clients",
		ScopedAnswer: "a purge covers every client: it is run by tokens not scoped to clients"}
	incidents = Rule{Roles: []string{PrivacyOfficer, Auditor},
		Why:    "incident report without privacy-officer or auditor",
		Answer: "incident reports are open to privacy officers and auditors"}
	contractEnd = Rule{Roles: []string{Admin},
		Why:    "contract end without the role admin",
		Answer: "contract ends are open to admin"}
	contractConfirm = Rule{Roles: []string{Admin},
		Why:    "contract end without the role admin",
		Answer: "this is open to admin"}
	contractList = Rule{Roles: []string{Admin, PrivacyOfficer, Auditor},
		Why:    "contract ends without admin, privacy-officer or auditor",
		Answer: "contract ends are open to admins, privacy officers and auditors"}
	contractRead = Rule{Roles: []string{Admin, PrivacyOfficer, Auditor},
		Why:    "contract end without the role admin or privacy-officer or auditor",
		Answer: "this is open to admin, privacy-officer, auditor"}
	// Webhook deliveries are the operator's plumbing, across clients;
	// their bodies name recordings, never callers.
	webhooks = Rule{Roles: []string{Admin}, Unscoped: true,
		Why: "webhook outbox without the role admin", Answer: "the webhook outbox is open to admin",
		ScopedWhy:    "webhook outbox with a token scoped to clients",
		ScopedAnswer: "the webhook outbox is handled by tokens not scoped to clients"}
	// Data-subject requests are keyed by caller number across every
	// line: they are the operator's privacy office's, not a client's.
	requests = Rule{Roles: []string{PrivacyOfficer}, Unscoped: true,
		Why: "data-subject requests need privacy-officer", Answer: "data-subject requests need the privacy-officer role",
		ScopedWhy:    "data-subject requests with a token scoped to clients",
		ScopedAnswer: "data-subject requests are handled by tokens not scoped to clients"}
)

// routes is the table: every route of the supervisor API with its rule.
// httpapi registers exactly these (a test holds it to that), and
// httpapi/README.md documents them (a test holds it to that too).
var routes = []Route{
	{"GET /healthz", public},
	{"GET /readyz", public},
	{"GET /api/v1/healthz", public},
	{"GET /api/v1/readyz", public},
	{"GET /{$}", public},
	{"GET /ui/{file}", public},

	{"GET /api/v1/me", anyRole},
	{"GET /api/v1/recordings", anyRole},
	{"GET /api/v1/recordings/export", anyRole},
	{"GET /api/v1/recordings/{id}", anyRole},
	{"POST /api/v1/recordings/{id}/audio-ticket", anyRole},
	{"GET /api/v1/recordings/{id}/audio", anyRole},
	{"GET /api/v1/recordings/{id}/waveform", anyRole},
	{"PUT /api/v1/recordings/{id}/hold", hold},
	{"DELETE /api/v1/recordings/{id}/hold", hold},
	{"GET /api/v1/recordings/{id}/notes", anyRole},
	{"POST /api/v1/recordings/{id}/notes", notes},

	{"GET /api/v1/audit", auditLog},
	{"GET /api/v1/audit/verify", auditLog},

	{"GET /api/v1/calls", calls},
	{"POST /api/v1/calls/{id}/pause", calls},
	{"POST /api/v1/calls/{id}/resume", calls},
	{"GET /api/v1/calls/{id}/listen", listen},

	{"POST /api/v1/holds", bulkHold},
	{"GET /api/v1/retention/plan", retentionPlan},
	{"POST /api/v1/retention/purge", purge},

	{"GET /api/v1/incidents", incidents},

	{"GET /api/v1/webhooks/dead", webhooks},
	{"POST /api/v1/webhooks/dead/requeue", webhooks},

	{"GET /api/v1/clients/{client}/contract-end", contractEnd},
	{"POST /api/v1/clients/{client}/contract-end", contractEnd},
	{"POST /api/v1/contract-ends/{id}/confirm", contractConfirm},
	{"GET /api/v1/contract-ends", contractList},
	{"GET /api/v1/contract-ends/{id}", contractRead},
	{"GET /api/v1/contract-ends/{id}/certificate", contractRead},

	{"POST /api/v1/requests", requests},
	{"GET /api/v1/requests", requests},
	{"GET /api/v1/requests/{id}", requests},
	{"POST /api/v1/requests/{id}/disclose", requests},
	{"POST /api/v1/requests/{id}/correct", requests},
	{"POST /api/v1/requests/{id}/stop-use", requests},
	{"POST /api/v1/requests/{id}/resume-use", requests},
	{"GET /api/v1/requests/{id}/erasure-plan", requests},
	{"POST /api/v1/requests/{id}/erase", requests},
	{"POST /api/v1/requests/{id}/stop-provision", requests},
	{"POST /api/v1/requests/{id}/refuse", requests},
	{"POST /api/v1/requests/provisions", requests},
	{"GET /api/v1/requests/provisions", requests},
	{"GET /api/v1/requests/pseudonymised", requests},
}

// Routes returns a copy of the route table, in its order.
func Routes() []Route {
	out := slices.Clone(routes)
	for i := range out {
		out[i].Roles = slices.Clone(out[i].Roles)
	}
	return out
}

// Lookup returns (a copy of) the route of pattern; runs of spaces in
// pattern read as one.
func Lookup(pattern string) (Route, bool) {
	pattern = strings.Join(strings.Fields(pattern), " ")
	i := slices.IndexFunc(routes, func(r Route) bool { return r.Pattern == pattern })
	if i < 0 {
		return Route{}, false
	}
	r := routes[i]
	r.Roles = slices.Clone(r.Roles)
	return r, true
}

// Allows reports whether p may call the route of pattern (false for a
// pattern not in the table).
func Allows(p Principal, pattern string) bool {
	r, ok := Lookup(pattern)
	return ok && r.Check(p) == nil
}
