package spool

import "time"

// Consent decisions.
const (
	Notified           = "notified"
	OptedOut           = "opted-out"
	HungUpDuringNotice = "hung-up-during-notice"
)

// Manifest states.
const (
	StateNotice   = "notice"   // answered, notice playing
	StateBridging = "bridging" // consent decided, reaching the agent
	StateActive   = "active"   // bridged to the agent
	StateDone     = "done"     // ended; nothing recorded (this version)
	StateSpooled  = "spooled"  // ended with audio in the spool
)

// ManifestVersion is the manifest schema version written by this build.
const ManifestVersion = 1

// Manifest is the JSON record of one call: who called which line for which
// purpose, the consent evidence, and how the call went. Later stages
// (recorder, uploader) extend the same document.
type Manifest struct {
	Version   int    `json:"version"`
	ID        string `json:"id"` // Kiroku's call id (UUIDv7), also the recording id
	SIPCallID string `json:"sip_call_id"`
	State     string `json:"state"`

	Caller             string `json:"caller"`  // normalised caller number (ANI)
	Dialled            string `json:"dialled"` // normalised dialled number (DNIS)
	Line               string `json:"line"`
	Purpose            string `json:"purpose"`
	PurposeDescription string `json:"purpose_description,omitempty"`
	Trunk              string `json:"trunk"`
	Source             string `json:"source"` // transport and address the INVITE came from
	Downstream         string `json:"downstream"`

	StartedAt  time.Time  `json:"started_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	BridgedAt  *time.Time `json:"bridged_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`

	Consent Consent `json:"consent"`

	// DownstreamStatus is the agent leg's final SIP status (0 when never
	// tried, e.g. caller hung up during the notice).
	DownstreamStatus int    `json:"downstream_status,omitempty"`
	EndReason        string `json:"end_reason,omitempty"`
}

// Consent is the evidence of what the caller was told and what they chose.
type Consent struct {
	Decision string  `json:"decision"` // notified | opted-out | hung-up-during-notice
	Notice   Notice  `json:"notice"`
	OptOut   *OptOut `json:"opt_out,omitempty"`
	// OptOutDigit is the key the line offered for opting out ("" if none).
	OptOutDigit string `json:"opt_out_digit,omitempty"`
}

// Notice identifies the prompt played and how much of it was heard.
type Notice struct {
	File      string     `json:"file"`
	SHA256    string     `json:"sha256"`
	Duration  float64    `json:"duration_seconds"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	Completed bool       `json:"completed"`
}

// OptOut is the caller's key press declining the recording.
type OptOut struct {
	Digit string    `json:"digit"`
	At    time.Time `json:"at"`
	Via   string    `json:"via"` // rfc4733 | sip-info
}
