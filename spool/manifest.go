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

	Caller             string `json:"caller"`  // normalised caller number (ANI): the asserted one when its trunk asserts identity
	Dialled            string `json:"dialled"` // normalised dialled number (DNIS)
	Line               string `json:"line"`
	Purpose            string `json:"purpose"`
	PurposeDescription string `json:"purpose_description,omitempty"`
	Client             string `json:"client,omitempty"` // id of the company an outsourced line is run for
	Trunk              string `json:"trunk"`
	// CallerFrom is the normalised user of the INVITE's From, kept when
	// Caller was taken from an asserted identity instead ("anonymous"
	// when the caller withheld it).
	CallerFrom string `json:"caller_from,omitempty"`
	// CallerAsserted is the identity the trunk asserted as received (the
	// P-Asserted-Identity or Remote-Party-ID URI), CallerAssertedBy the
	// trunk that asserted it and CallerAssertedIn the header (pai, rpid).
	CallerAsserted   string `json:"caller_asserted,omitempty"`
	CallerAssertedBy string `json:"caller_asserted_by,omitempty"`
	CallerAssertedIn string `json:"caller_asserted_in,omitempty"`
	// CallerPrivacy is the Privacy the trusted trunk sent (id, user,
	// none…; RFC 3323), and CallerWithheld says the caller withheld the
	// number: those who do not handle data-subject requests see
	// "withheld" instead of it.
	CallerPrivacy  string `json:"caller_privacy,omitempty"`
	CallerWithheld bool   `json:"caller_withheld,omitempty"`
	Source         string `json:"source"` // transport and address the INVITE came from
	Downstream     string `json:"downstream"`
	// CallerMedia and AgentMedia say how each leg's audio travelled:
	// "RTP", or "SRTP <suite>" (decrypted before it was recorded).
	CallerMedia string `json:"caller_media,omitempty"`
	AgentMedia  string `json:"agent_media,omitempty"`

	StartedAt  time.Time  `json:"started_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	BridgedAt  *time.Time `json:"bridged_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`

	Consent Consent `json:"consent"`

	// DownstreamStatus is the agent leg's final SIP status (0 when never
	// tried, e.g. caller hung up during the notice).
	DownstreamStatus int    `json:"downstream_status,omitempty"`
	EndReason        string `json:"end_reason,omitempty"`

	// Recording is the audio of the bridged call; nil when nothing was
	// recorded, and then NotRecorded says why.
	Recording   *Recording `json:"recording,omitempty"`
	NotRecorded string     `json:"not_recorded,omitempty"`
}

// Recording describes the stereo WAV beside the manifest.
type Recording struct {
	File      string     `json:"file"`   // base name in the spool
	Format    string     `json:"format"` // see RecordingFormat
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	Duration  float64    `json:"duration_seconds"`
	Size      int64      `json:"size"`
	SHA256    string     `json:"sha256,omitempty"`
	// CutShort is set when the call did not end normally (kirokud was
	// killed); the file was repaired to the audio written until then.
	CutShort bool           `json:"cut_short,omitempty"`
	Error    string         `json:"error,omitempty"` // a write error that ended the recording early
	Channels []ChannelStats `json:"channels,omitempty"`
	Paused   []Pause        `json:"paused,omitempty"`
}

// RecordingFormat names the audio layout of every recording.
const RecordingFormat = "audio/wav; codec=pcm_s16le; rate=8000; channels=2; left=caller; right=agent"

// ChannelStats describes one channel of a recording.
type ChannelStats struct {
	Side    string `json:"side"` // caller | agent
	Codec   string `json:"codec,omitempty"`
	Packets uint64 `json:"packets"`
	Lost    uint64 `json:"lost"`
	Late    uint64 `json:"late"`
	Resyncs uint64 `json:"resyncs"`
	GapMs   int64  `json:"gap_ms"` // audio missing: lost, or arrived too late to place
}

// Pause is an interval the recording holds silence for (card payments).
type Pause struct {
	Start       time.Time  `json:"start"`
	End         *time.Time `json:"end,omitempty"`
	StartOffset float64    `json:"start_offset_seconds"`
	EndOffset   float64    `json:"end_offset_seconds,omitempty"`
	By          string     `json:"by"` // dtmf | api
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
