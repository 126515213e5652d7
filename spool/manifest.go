package spool

import (
	"strconv"
	"time"
)

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
	// AgentID is who took the call as the agent platform said in its
	// answer, where the line's agent_identity says to look; AgentIDSource
	// is that setting (header:X-Agent-Id, pai, contact). Both are empty
	// when the line reads none or the answer carried none fit to keep:
	// nothing is guessed from the downstream URI. After a transfer it
	// stays the first agent's; each segment names its own.
	AgentID       string `json:"agent_id,omitempty"`
	AgentIDSource string `json:"agent_id_source,omitempty"`
	// CallerMedia and AgentMedia say how each leg's audio travelled:
	// "RTP", or "SRTP <suite>" (decrypted before it was recorded).
	CallerMedia string `json:"caller_media,omitempty"`
	AgentMedia  string `json:"agent_media,omitempty"`
	// MediaSources say where each leg's RTP came from (caller, then
	// agent when there was an agent leg).
	MediaSources []MediaSource `json:"media_sources,omitempty"`

	StartedAt  time.Time  `json:"started_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	BridgedAt  *time.Time `json:"bridged_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`

	Consent Consent `json:"consent"`
	// NoticeMode is "early-media" when the notice played in a 183 and the
	// caller was answered when the agent answered (AnsweredAt then); ""
	// when the 200 came first.
	NoticeMode string `json:"notice_mode,omitempty"`

	// DownstreamStatus is the agent leg's final SIP status (0 when never
	// tried, e.g. caller hung up during the notice).
	DownstreamStatus int `json:"downstream_status,omitempty"`
	// Attempts lists every downstream of the line's group in the order it
	// was tried or skipped, with what it answered.
	Attempts []Attempt `json:"downstream_attempts,omitempty"`
	// Segments are the agents the caller was connected to, in order.
	Segments []Segment `json:"segments,omitempty"`
	// Holds are the times a leg put the call on hold (a re-INVITE or
	// UPDATE offering sendonly or inactive) until it took it off.
	Holds     []Hold `json:"holds,omitempty"`
	EndReason string `json:"end_reason,omitempty"`

	// Recording is the audio of the bridged call; nil when nothing was
	// recorded, and then NotRecorded says why.
	Recording   *Recording `json:"recording,omitempty"`
	NotRecorded string     `json:"not_recorded,omitempty"`

	// Teardown is set on a call kirokud found interrupted at start (end
	// reason "interrupted") whose dialogs it then ended with BYE.
	Teardown *Teardown `json:"teardown,omitempty"`
}

// Outcomes of a downstream attempt.
const (
	AttemptAnswered   = "answered"    // 2xx with a usable answer: the caller was bridged to it
	AttemptNoResponse = "no-response" // nothing within sip.ring_timeout, or the request could not be sent
	AttemptNoAnswer   = "no-answer"   // it rang until sip.answer_timeout
	AttemptBusy       = "busy"        // 486, 600 or 603
	AttemptFailed     = "failed"      // any other final response, or an unusable answer
	AttemptSkipped    = "skipped"     // not tried: Why says why
	AttemptCancelled  = "cancelled"   // the caller hung up (or shutdown) while it rang
	AttemptRedirected = "redirected"  // a 3xx whose Contact the line's transfer_targets allow: tried next
)

// Hold is a time a leg held the call: By is the leg that held it
// (caller | agent), Direction what it offered (sendonly | inactive); End
// is nil for a hold still on when the call ended.
type Hold struct {
	By        string     `json:"by"`
	Direction string     `json:"direction"`
	Start     time.Time  `json:"start"`
	End       *time.Time `json:"end,omitempty"`
}

// Segment is the time one agent was connected to the caller: the first
// from the answer, the next from a transfer. A recording's right channel
// is the segment's agent.
type Segment struct {
	StartedAt  time.Time  `json:"started_at"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	Downstream string     `json:"downstream"`         // the agent leg's URI
	AgentID    string     `json:"agent_id,omitempty"` // who the agent platform says answered
	Began      string     `json:"began"`              // answer | redirect | refer | replaces
}

// Attempt is one downstream of a call's group, tried or skipped.
type Attempt struct {
	URI       string     `json:"uri"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	Status    int        `json:"status,omitempty"` // its final SIP status, 0 when none came
	Outcome   string     `json:"outcome"`
	Why       string     `json:"why,omitempty"`
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
	CutShort bool   `json:"cut_short,omitempty"`
	Error    string `json:"error,omitempty"` // a write error that ended the recording early
	// Truncated says why the audio stopped before the call ended
	// (TruncatedDiskFull); Duration and Size are then of the audio kept,
	// from the start, and EndedAt is the call's end.
	Truncated string         `json:"truncated,omitempty"`
	Channels  []ChannelStats `json:"channels,omitempty"`
	Paused    []Pause        `json:"paused,omitempty"`
	// SilentChannels names the channels (caller, agent) that received
	// no RTP packet at all while recording: the file holds silence
	// there, and the recording is flagged as such, never as audio.
	SilentChannels []string `json:"silent_channels,omitempty"`
	// OpenWaitMs is how long the audio waited for its file to open, when
	// that was over a second (the file is created at once; before audio
	// was written ahead of its manifest, a storm's waited for seconds).
	OpenWaitMs int64 `json:"open_wait_ms,omitempty"`
	// PCMSHA256 is the SHA-256 of the spool's PCM WAV when the audio was
	// stored in another format; Format, Size and SHA256 then describe
	// the stored audio (decrypted), as the uploader encoded it.
	PCMSHA256 string `json:"pcm_sha256,omitempty"`
}

// RecordingFormat names the audio layout of a narrowband recording, the
// layout of every recording of a call without a wideband leg.
const RecordingFormat = "audio/wav; codec=pcm_s16le; rate=8000; channels=2; left=caller; right=agent"

// RecordingFormatAt names the audio layout of a recording at rate Hz (a
// call with a G.722 leg is recorded at 16000).
func RecordingFormatAt(rate int) string {
	if rate == 8000 {
		return RecordingFormat
	}
	return "audio/wav; codec=pcm_s16le; rate=" + strconv.Itoa(rate) + "; channels=2; left=caller; right=agent"
}

// ChannelStats describes one channel of a recording.
type ChannelStats struct {
	Side    string `json:"side"` // caller | agent
	Codec   string `json:"codec,omitempty"`
	Packets uint64 `json:"packets"`
	Lost    uint64 `json:"lost"`
	Late    uint64 `json:"late"`
	Resyncs uint64 `json:"resyncs"`
	GapMs   int64  `json:"gap_ms"` // audio missing: lost, or arrived too late to place
	// Overrun counts packets that came while the recording's writer was
	// more than its ring (a second) behind, the file not yet open or its
	// writes stalled: their audio is missing, and in GapMs.
	Overrun uint64 `json:"overrun,omitempty"`
}

// MediaSource is where one leg's RTP came from.
type MediaSource struct {
	Side     string `json:"side"`     // caller | agent
	Latching string `json:"latching"` // strict | learn
	SDPAddr  string `json:"sdp_addr,omitempty"`
	// LatchedFrom is the source a learning leg pinned to (and sent to).
	LatchedFrom string `json:"latched_from,omitempty"`
	// ForeignSource is the first address other than the SDP's that kept
	// sending the leg's stream: dropped when strict, the latched source
	// when learning. ForeignPackets counts the stream's packets from any
	// address other than the SDP's.
	ForeignSource  string `json:"foreign_source,omitempty"`
	ForeignPackets uint64 `json:"foreign_packets,omitempty"`
	// HeldPackets were not sent: the leg was learning and no source had
	// been learned yet.
	HeldPackets uint64 `json:"held_packets,omitempty"`
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
	Via   string    `json:"via"` // rfc4733 | sip-info | inband
}
