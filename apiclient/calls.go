package apiclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// The typed calls return the decoded answer and the answer as it came
// (for printing it unchanged); errors are *StatusError for refusals.

// call sends one JSON call and decodes its answer into a T.
func call[T any](ctx context.Context, c *Client, method, path string, q url.Values, hdr http.Header, body any) (T, json.RawMessage, error) {
	var v T
	raw, err := c.JSON(ctx, method, path, q, hdr, body, &v)
	return v, raw, err
}

func recordingPath(id string) string { return "/api/v1/recordings/" + url.PathEscape(id) }

// Me asks who the token is: GET /api/v1/me.
func (c *Client) Me(ctx context.Context) (Me, json.RawMessage, error) {
	return call[Me](ctx, c, http.MethodGet, "/api/v1/me", nil, nil, nil)
}

// Search lists one page of recordings: GET /api/v1/recordings?q (from,
// to, line, purpose, client, decision, caller, agent_id, min_duration,
// sort, limit, cursor).
func (c *Client) Search(ctx context.Context, q url.Values) (SearchPage, json.RawMessage, error) {
	return call[SearchPage](ctx, c, http.MethodGet, "/api/v1/recordings", q, nil, nil)
}

// Recording reads one recording's metadata: GET /api/v1/recordings/{id}.
func (c *Client) Recording(ctx context.Context, id string) (RecordingDetail, json.RawMessage, error) {
	return call[RecordingDetail](ctx, c, http.MethodGet, recordingPath(id), nil, nil, nil)
}

// Hold places (on) or releases a legal hold: PUT or DELETE
// /api/v1/recordings/{id}/hold, the reason in its header.
func (c *Client) Hold(ctx context.Context, id string, on bool, reason string) (HoldResult, json.RawMessage, error) {
	method := http.MethodDelete
	if on {
		method = http.MethodPut
	}
	return call[HoldResult](ctx, c, method, recordingPath(id)+"/hold", nil, ReasonHeader(reason), nil)
}

// AudioTicket asks for a URL that fetches the audio without the token:
// POST /api/v1/recordings/{id}/audio-ticket.
func (c *Client) AudioTicket(ctx context.Context, id string, t TicketRequest) (Ticket, json.RawMessage, error) {
	return call[Ticket](ctx, c, http.MethodPost, recordingPath(id)+"/audio-ticket", nil, nil, t)
}

// Audio fetches a recording's audio (the whole WAV, as a download when
// download is set): GET /api/v1/recordings/{id}/audio. The caller
// closes the body.
func (c *Client) Audio(ctx context.Context, id, reason string, download bool) (*http.Response, error) {
	var q url.Values
	if download {
		q = url.Values{"download": {"1"}}
	}
	return c.Do(ctx, http.MethodGet, recordingPath(id)+"/audio", q, ReasonHeader(reason), nil)
}

// Audit lists one page of the audit log: GET /api/v1/audit?q (actor,
// action, target, from, to, after, limit).
func (c *Client) Audit(ctx context.Context, q url.Values) (AuditPage, json.RawMessage, error) {
	return call[AuditPage](ctx, c, http.MethodGet, "/api/v1/audit", q, nil, nil)
}

// AuditVerify walks the audit chain: GET /api/v1/audit/verify.
func (c *Client) AuditVerify(ctx context.Context) (AuditVerify, json.RawMessage, error) {
	return call[AuditVerify](ctx, c, http.MethodGet, "/api/v1/audit/verify", nil, nil, nil)
}

// Calls lists the calls in progress: GET /api/v1/calls.
func (c *Client) Calls(ctx context.Context) (CallList, json.RawMessage, error) {
	return call[CallList](ctx, c, http.MethodGet, "/api/v1/calls", nil, nil, nil)
}

// Pause pauses (on) or resumes the recording of a call in progress:
// POST /api/v1/calls/{id}/pause or …/resume.
func (c *Client) Pause(ctx context.Context, id string, on bool) (PauseResult, json.RawMessage, error) {
	action := "/resume"
	if on {
		action = "/pause"
	}
	return call[PauseResult](ctx, c, http.MethodPost, "/api/v1/calls/"+url.PathEscape(id)+action, nil, nil, nil)
}

// Requests lists the data-subject requests: GET /api/v1/requests.
func (c *Client) Requests(ctx context.Context) (RequestList, json.RawMessage, error) {
	return call[RequestList](ctx, c, http.MethodGet, "/api/v1/requests", nil, nil, nil)
}

// CreateRequest records a data-subject request: POST /api/v1/requests.
func (c *Client) CreateRequest(ctx context.Context, n NewRequest) (Request, json.RawMessage, error) {
	return call[Request](ctx, c, http.MethodPost, "/api/v1/requests", nil, nil, n)
}

// RequestByID reads one data-subject request: GET /api/v1/requests/{id}.
func (c *Client) RequestByID(ctx context.Context, id string) (Request, json.RawMessage, error) {
	return call[Request](ctx, c, http.MethodGet, "/api/v1/requests/"+url.PathEscape(id), nil, nil, nil)
}

// BulkHold places or releases a legal hold on many recordings at once:
// POST /api/v1/holds.
func (c *Client) BulkHold(ctx context.Context, req BulkHoldRequest) (BulkHoldResult, json.RawMessage, error) {
	return call[BulkHoldResult](ctx, c, http.MethodPost, "/api/v1/holds", nil, nil, req)
}

// RetentionPlan asks what the next purge would do, and with q's purpose
// and retention (and extend_existing) what changing that limit would:
// GET /api/v1/retention/plan.
func (c *Client) RetentionPlan(ctx context.Context, q url.Values) (RetentionPlan, json.RawMessage, error) {
	return call[RetentionPlan](ctx, c, http.MethodGet, "/api/v1/retention/plan", q, nil, nil)
}

// Purge runs a purge at once: POST /api/v1/retention/purge.
func (c *Client) Purge(ctx context.Context, reason string) (PurgeResult, json.RawMessage, error) {
	return call[PurgeResult](ctx, c, http.MethodPost, "/api/v1/retention/purge", nil, nil, PurgeRequest{Reason: reason})
}

// Notes lists a recording's notes: GET /api/v1/recordings/{id}/notes.
func (c *Client) Notes(ctx context.Context, id string) (NoteList, json.RawMessage, error) {
	return call[NoteList](ctx, c, http.MethodGet, recordingPath(id)+"/notes", nil, nil, nil)
}

// AddNote adds a note to a recording: POST /api/v1/recordings/{id}/notes.
func (c *Client) AddNote(ctx context.Context, id string, n NewNote) (Note, json.RawMessage, error) {
	return call[Note](ctx, c, http.MethodPost, recordingPath(id)+"/notes", nil, nil, n)
}

// DeadEvents lists the webhook events given up: GET /api/v1/webhooks/dead.
func (c *Client) DeadEvents(ctx context.Context, q url.Values) (DeadEvents, json.RawMessage, error) {
	return call[DeadEvents](ctx, c, http.MethodGet, "/api/v1/webhooks/dead", q, nil, nil)
}

// Requeue makes given-up webhook events due again:
// POST /api/v1/webhooks/dead/requeue.
func (c *Client) Requeue(ctx context.Context, req RequeueRequest) (RequeueResult, json.RawMessage, error) {
	return call[RequeueResult](ctx, c, http.MethodPost, "/api/v1/webhooks/dead/requeue", nil, nil, req)
}

// Listen listens in to a call in progress: GET /api/v1/calls/{id}/listen,
// the reason in its header. The body is a WAV of unknown length (its
// sizes are the placeholder 0xFFFFFFFF): 16-bit stereo PCM, caller left,
// agent right, as the recording is written, until the call ends. The
// caller closes the body; closing it ends the listening.
func (c *Client) Listen(ctx context.Context, id, reason string) (*http.Response, error) {
	return c.Do(ctx, http.MethodGet, "/api/v1/calls/"+url.PathEscape(id)+"/listen", nil, ReasonHeader(reason), nil)
}
