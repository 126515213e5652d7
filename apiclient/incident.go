package apiclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// IncidentReport is the parts of an incident report (the incident
// package's Report, GET /api/v1/incidents?format=json) a client prints
// as a table.
type IncidentReport struct {
	From           *time.Time          `json:"from"`
	To             *time.Time          `json:"to"`
	Generated      time.Time           `json:"generated_at"`
	Entries        int                 `json:"audit_entries"`
	FirstSeq       int64               `json:"first_seq"`
	LastSeq        int64               `json:"last_seq"`
	Recordings     []IncidentRecording `json:"recordings"`
	Callers        []string            `json:"callers"`
	CallersUnknown int                 `json:"callers_unknown"`
	// Withheld counts the recordings left out: of purposes the token's
	// roles may not read.
	Withheld int             `json:"recordings_withheld"`
	Denied   []IncidentEntry `json:"denied"`
	Other    []IncidentEntry `json:"other"`
}

// IncidentRecording is one recording an incident report covers.
type IncidentRecording struct {
	ID        string          `json:"id"`
	Client    string          `json:"client"`
	Purpose   string          `json:"purpose"`
	Line      string          `json:"line"`
	AgentID   string          `json:"agent_id"`
	StartedAt *time.Time      `json:"started_at"`
	Caller    string          `json:"caller"`
	State     string          `json:"state"`
	Accessed  bool            `json:"accessed"`
	Exported  bool            `json:"exported"`
	Changed   bool            `json:"changed"`
	Entries   []IncidentEntry `json:"entries"`
}

// IncidentEntry is one audit entry of an incident report.
type IncidentEntry struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Reason string    `json:"reason"`
}

// Incident builds the incident report of q (actor, client, from, to):
// GET /api/v1/incidents in JSON.
func (c *Client) Incident(ctx context.Context, q url.Values) (*IncidentReport, json.RawMessage, error) {
	q.Set("format", "json")
	var r IncidentReport
	raw, err := c.JSON(ctx, http.MethodGet, "/api/v1/incidents", q, nil, nil, &r)
	if err != nil {
		return nil, nil, err
	}
	return &r, raw, nil
}
