package apiclient

import (
	"encoding/json"
	"time"
)

// Error is the body of every answer other than 2xx: {"error": "…"}.
type Error struct {
	Error string `json:"error"`
}

// Health is the answer of /healthz and /readyz: "ok", "ready" or
// "unavailable".
type Health struct {
	Status string `json:"status"`
}

// Recording is a recording as a search lists it, and the head of its
// metadata (RecordingDetail).
type Recording struct {
	ID         string     `json:"id"`
	StartedAt  time.Time  `json:"started_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	Duration   float64    `json:"duration_seconds"`
	Line       string     `json:"line"`
	Dialled    string     `json:"dialled"`
	Purpose    string     `json:"purpose"`
	Client     string     `json:"client,omitempty"`
	// Caller is the caller number, masked (0312****78) unless the
	// token reads it through the privacy-officer role.
	Caller       string    `json:"caller"`
	CallerMasked bool      `json:"caller_masked"`
	Decision     string    `json:"decision"`
	HasAudio     bool      `json:"has_audio"`
	LegalHold    bool      `json:"legal_hold"`
	State        string    `json:"state"`
	RetainUntil  time.Time `json:"retain_until"`
	CutShort     bool      `json:"cut_short,omitempty"`
	// SilentChannels names the channels (caller, agent) of a recording
	// with audio that received no RTP packet: silence there, not the
	// party's voice.
	SilentChannels []string `json:"silent_channels,omitempty"`

	// CallerWithheld: the caller withheld the number; Caller is then
	// "withheld" for all but privacy officers.
	CallerWithheld bool `json:"caller_withheld,omitempty"`
	// AgentID is who took the call as the agent platform named them in
	// its answer (a line's agent_identity); "" when it did not.
	AgentID string `json:"agent_id,omitempty"`
	// EndReason is why the call ended (caller-hangup, agent-hangup…), as
	// its manifest says.
	EndReason string `json:"end_reason,omitempty"`
	// SIPCallID is the Call-ID of the caller's SIP dialog.
	SIPCallID string `json:"sip_call_id,omitempty"`
}

// SearchPage is the answer of GET /api/v1/recordings: one page, and the
// cursor of the next when there is one.
type SearchPage struct {
	Recordings []Recording `json:"recordings"`
	NextCursor string      `json:"next_cursor,omitempty"`
	// Total is how many recordings the search matches, when its first
	// page (a request without a cursor) asked (count=1); counted up to
	// 1,000: beyond, Total is 1,000 and TotalAtLeast is set.
	Total        *int `json:"total,omitempty"`
	TotalAtLeast bool `json:"total_at_least,omitempty"`
}

// RecordingDetail is the answer of GET /api/v1/recordings/{id}: the
// recording's metadata with its consent evidence.
type RecordingDetail struct {
	Recording
	PurposeDescription string    `json:"purpose_description,omitempty"`
	ClientName         string    `json:"client_name,omitempty"`
	SIPCallID          string    `json:"sip_call_id"`
	Agent              string    `json:"agent"`
	HoldReason         string    `json:"hold_reason,omitempty"`
	StoredAt           time.Time `json:"stored_at"`
	// AudioSize is the size of the decrypted audio as stored (AudioFormat).
	AudioSize   int64  `json:"audio_size,omitempty"`
	AudioSHA256 string `json:"audio_sha256,omitempty"`
	AudioFormat string `json:"audio_format,omitempty"`
	// AudioFile is the audio's file name: the id and its format's
	// extension (.wav for pcm and g711, .flac).
	AudioFile string `json:"audio_file,omitempty"`
	// Consent is the consent evidence (Consent describes its fields);
	// Manifest the spool manifest, caller masked as Caller is.
	Consent  json.RawMessage `json:"consent"`
	Manifest json.RawMessage `json:"manifest"`
	Can      RecordingCan    `json:"can"`
}

// RecordingCan is what the token may do with one recording.
type RecordingCan struct {
	Play bool `json:"play"`
	Hold bool `json:"hold"`
}

// Consent is the consent evidence of a recording as RecordingDetail
// carries it (the fields kirokuctl shows; the spool writes more).
type Consent struct {
	Decision string `json:"decision"`
	Notice   struct {
		File      string `json:"file"`
		SHA256    string `json:"sha256"`
		Completed bool   `json:"completed"`
	} `json:"notice"`
	OptOutDigit string `json:"opt_out_digit"`
	OptOut      *struct {
		Digit string    `json:"digit"`
		At    time.Time `json:"at"`
		Via   string    `json:"via"`
	} `json:"opt_out"`
}

// HoldRequest is the optional body of PUT and DELETE
// /api/v1/recordings/{id}/hold (the reason may come in the
// X-Kiroku-Reason header instead).
type HoldRequest struct {
	Reason string `json:"reason"`
}

// HoldResult is the answer of PUT and DELETE /api/v1/recordings/{id}/hold.
type HoldResult struct {
	Changed   bool   `json:"changed"`
	ID        string `json:"id"`
	LegalHold bool   `json:"legal_hold"`
}

// TicketRequest is the body of POST /api/v1/recordings/{id}/audio-ticket.
type TicketRequest struct {
	Reason   string `json:"reason"`
	Download bool   `json:"download"`
}

// Ticket is the answer of POST /api/v1/recordings/{id}/audio-ticket: the
// URL that plays (or downloads) the audio without the token, until
// ExpiresAt.
type Ticket struct {
	ExpiresAt time.Time `json:"expires_at"`
	URL       string    `json:"url"`
}

// Me is the answer of GET /api/v1/me: who the token is and what it may
// do. Fields are in the order of their JSON names, as the API has
// always sent them.
type Me struct {
	Can      MeCan       `json:"can"`
	Clients  []MeClient  `json:"clients"`
	Name     string      `json:"name"`
	Purposes []MePurpose `json:"purposes"`
	Roles    []string    `json:"roles"`
}

// MeCan is what the token may do, for the UI to show or hide.
type MeCan struct {
	Audit        bool `json:"audit"`
	Calls        bool `json:"calls"`
	ContractEnd  bool `json:"contract_end"`
	Hold         bool `json:"hold"`
	Incident     bool `json:"incident"`
	Note         bool `json:"note"`
	SearchCaller bool `json:"search_caller"`
}

// MePurpose is a purpose whose recordings the token sees.
type MePurpose struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Privacy: through the privacy-officer role (callers in clear,
	// restricted recordings, holds).
	Privacy bool `json:"privacy_officer"`
}

// MeClient is a client the token is scoped to.
type MeClient struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AuditEntry is an audit log entry; Detail is JSON (a JSON string when
// the entry's detail was not JSON).
type AuditEntry struct {
	Seq      int64           `json:"seq"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Target   string          `json:"target,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Detail   json.RawMessage `json:"detail,omitempty"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// AuditPage is the answer of GET /api/v1/audit: entries in sequence
// order, and the seq to pass as after= for the next page.
type AuditPage struct {
	Entries   []AuditEntry `json:"entries"`
	NextAfter int64        `json:"next_after,omitempty"`
}

// AuditVerify is the answer of GET /api/v1/audit/verify: whether the
// chain holds, over how many entries, and where and why it breaks.
type AuditVerify struct {
	BrokenAt int64  `json:"broken_at,omitempty"`
	Entries  int64  `json:"entries"`
	OK       bool   `json:"ok"`
	Why      string `json:"why,omitempty"`
	// Checkpoints is how many signed checkpoints in the store were held
	// against the log (the newest; the command kirokud -verify-audit
	// checks every one), CheckpointsMatched how many matched, and
	// NewestCheckpoint the entry the newest matching one names.
	Checkpoints        int   `json:"checkpoints"`
	CheckpointsMatched int   `json:"checkpoints_matched"`
	NewestCheckpoint   int64 `json:"newest_checkpoint,omitempty"`
}

// Call is a call in progress, caller masked.
type Call struct {
	ID        string    `json:"id"`
	Line      string    `json:"line"`
	Purpose   string    `json:"purpose"`
	Client    string    `json:"client,omitempty"`
	Caller    string    `json:"caller"`
	Consent   string    `json:"consent,omitempty"`
	Phase     string    `json:"phase"`
	Recording string    `json:"recording,omitempty"`
	StartedAt time.Time `json:"started_at"`
	Duration  float64   `json:"duration_seconds"`
	AgentID   string    `json:"agent_id,omitempty"` // who took the call, as the agent platform said
	// Listenable says the token may listen in now (GET
	// /api/v1/calls/{id}/listen): the call is being recorded and the
	// token hears its purpose.
	Listenable bool `json:"listenable"`
}

// CallList is the answer of GET /api/v1/calls.
type CallList struct {
	Calls []Call `json:"calls"`
}

// PauseResult is the answer of POST /api/v1/calls/{id}/pause and
// …/resume: "paused" or "recording".
type PauseResult struct {
	ID        string `json:"id"`
	Recording string `json:"recording"`
}

// Request is a data-subject request.
type Request struct {
	ID           string          `json:"id"`
	Kind         string          `json:"kind"`
	Callers      []string        `json:"callers"`
	Verification string          `json:"verification"`
	Requester    string          `json:"requester"`
	ReceivedAt   time.Time       `json:"received_at"`
	AnsweredAt   *time.Time      `json:"answered_at,omitempty"`
	Outcome      string          `json:"outcome,omitempty"`
	Result       json.RawMessage `json:"result,omitempty"`
	Operator     string          `json:"operator"`
}

// RequestList is the answer of GET /api/v1/requests.
type RequestList struct {
	Requests []Request `json:"requests"`
}

// Outcome is the answer of the request routes that only say how the
// request ended (refuse, stop-provision).
type Outcome struct {
	Outcome string `json:"outcome"`
}

// NewRequest is the body of POST /api/v1/requests: a data-subject
// request received (kind: disclosure, correction, stop-of-use,
// resume-use, erasure or stop-third-party-provision).
type NewRequest struct {
	Kind         string   `json:"kind"`
	Callers      []string `json:"callers"`
	Verification string   `json:"verification"`
	Requester    string   `json:"requester"`
	// ReceivedAt is when it was received; nil: now.
	ReceivedAt *time.Time `json:"received_at,omitempty"`
}

// Correction is the body of POST /api/v1/requests/{id}/correct: the
// fact to correct (field: customer_ref), its corrected value, and the
// recordings it applies to (none: all of the request's).
type Correction struct {
	Field      string   `json:"field"`
	Value      string   `json:"value"`
	Recordings []string `json:"recordings"`
}

// Refusal is the body of POST /api/v1/requests/{id}/refuse: why the
// request cannot be answered.
type Refusal struct {
	Reason string `json:"reason"`
}

// ProvisionRequest is the body of POST /api/v1/requests/provisions: a
// provision of recordings to a third party, recorded and exported as a
// ZIP.
type ProvisionRequest struct {
	Recipient  string   `json:"recipient"`
	LegalBasis string   `json:"legal_basis"`
	ConsentRef string   `json:"consent_ref"`
	IDs        []string `json:"ids"`
}

// BulkHoldRequest is the body of POST /api/v1/holds: a legal hold
// placed (On true) or released on the recordings of IDs, of Caller, of
// started_at in [From, To), or of any combination (each narrows). The
// actor is the token; the reason is required.
type BulkHoldRequest struct {
	IDs    []string  `json:"ids,omitempty"`
	Caller string    `json:"caller,omitempty"`
	From   time.Time `json:"from,omitzero"`
	To     time.Time `json:"to,omitzero"`
	On     *bool     `json:"on"`
	Reason string    `json:"reason"`
}

// BulkHoldResult is the answer of POST /api/v1/holds.
type BulkHoldResult struct {
	Changed   int  `json:"changed"`
	LegalHold bool `json:"legal_hold"`
}

// PurposePlan is one row of a retention plan: what the next purge would
// do for a purpose (and, on a client's lines, for that client).
type PurposePlan struct {
	Purpose    string     `json:"purpose"`
	Client     string     `json:"client,omitempty"`
	Stored     int        `json:"stored"`
	Due        int        `json:"due"`
	Held       int        `json:"held"`
	OldestKept *time.Time `json:"oldest_kept,omitempty"`
}

// RetentionPlan is the answer of GET /api/v1/retention/plan, with the
// preview of a changed limit when the query asked for one.
type RetentionPlan struct {
	Purposes []PurposePlan     `json:"purposes"`
	Preview  *RetentionPreview `json:"preview,omitempty"`
}

// RetentionPreview is what changing one purpose's limit would do.
type RetentionPreview struct {
	Purpose        string         `json:"purpose"`
	From           string         `json:"from"`
	To             string         `json:"to"`
	ExtendExisting bool           `json:"extend_existing"`
	Now            time.Time      `json:"now"`
	Stored         int            `json:"stored"`
	Earlier        int            `json:"earlier"`
	Later          int            `json:"later"`
	Unchanged      int            `json:"unchanged"`
	Due            int            `json:"due"`
	DueHeld        int            `json:"due_held"`
	Recordings     []DueRecording `json:"recordings"`
	More           bool           `json:"more"`
}

// DueRecording is a recording a preview says would pass its date at once.
type DueRecording struct {
	ID          string    `json:"id"`
	Client      string    `json:"client,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	RetainUntil time.Time `json:"retain_until"`
	NewUntil    time.Time `json:"new_until"`
	LegalHold   bool      `json:"legal_hold"`
}

// PurgeRequest is the optional body of POST /api/v1/retention/purge.
type PurgeRequest struct {
	Reason string `json:"reason,omitempty"`
}

// PurgeResult is the answer of POST /api/v1/retention/purge.
type PurgeResult struct {
	Deleted      int     `json:"deleted"`
	SpoolDeleted int     `json:"spool_deleted"`
	Held         int     `json:"held"`
	Failed       int     `json:"failed"`
	Seconds      float64 `json:"seconds"`
}

// ErasurePlan is the answer of GET /api/v1/requests/{id}/erasure-plan:
// what the erasure would destroy and keep now, and the confirm that
// POST /api/v1/requests/{id}/erase takes back.
type ErasurePlan struct {
	Request      string           `json:"request"`
	Destroy      []PlannedErasure `json:"destroy"`
	Held         []PlannedErasure `json:"held"`
	NotYetStored string           `json:"not_yet_stored"`
	Confirm      string           `json:"confirm"`
}

// PlannedErasure is one recording of an ErasurePlan.
type PlannedErasure struct {
	ID         string    `json:"id"`
	StartedAt  time.Time `json:"started_at"`
	Line       string    `json:"line"`
	Purpose    string    `json:"purpose"`
	Client     string    `json:"client,omitempty"`
	Audio      bool      `json:"audio"`
	HoldReason string    `json:"hold_reason,omitempty"`
}

// EraseRequest is the body of POST /api/v1/requests/{id}/erase.
type EraseRequest struct {
	Confirm string `json:"confirm"`
}

// PlanRefusal is the answer of an erasure not confirmed (428) or
// confirmed against a plan that changed since (409): the plan now.
type PlanRefusal struct {
	Error string      `json:"error"`
	Plan  ErasurePlan `json:"plan"`
}

// Note is a comment on a recording (GET and POST
// /api/v1/recordings/{id}/notes): At is the point of the audio it is
// about, in seconds from the start; nil for the whole recording.
type Note struct {
	ID        string    `json:"id"`
	At        *float64  `json:"at"`
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// NoteList is the answer of GET /api/v1/recordings/{id}/notes.
type NoteList struct {
	Notes []Note `json:"notes"`
}

// NewNote is the body of POST /api/v1/recordings/{id}/notes.
type NewNote struct {
	At   *float64 `json:"at,omitempty"`
	Body string   `json:"body"`
}

// DeadEvent is a webhook event given up after its tries: what it says
// (Body, as it would be delivered), why it was given up, and how often
// it was tried.
type DeadEvent struct {
	ID        string          `json:"id"`
	Recording string          `json:"recording"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Tries     int             `json:"tries"`
	LastError string          `json:"last_error"`
	Body      json.RawMessage `json:"body"`
}

// DeadEvents is the answer of GET /api/v1/webhooks/dead.
type DeadEvents struct {
	Events []DeadEvent `json:"events"`
	// Truncated: more are given up than the answer's limit lists.
	Truncated bool `json:"truncated"`
}

// RequeueRequest is the body of POST /api/v1/webhooks/dead/requeue: the
// given-up events to deliver again, by id, or every one.
type RequeueRequest struct {
	IDs []string `json:"ids,omitempty"`
	All bool     `json:"all,omitempty"`
}

// RequeueResult is its answer: the events due again now, and those of
// the ids asked that are not given up (delivered, dropped with their
// recording, or still being tried).
type RequeueResult struct {
	Requeued []string `json:"requeued"`
	NotDead  []string `json:"not_dead"`
}
