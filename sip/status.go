package sip

import (
	"errors"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/media"
	"net/netip"
	"sort"
	"time"
)

// CallInfo describes a call in progress.
type CallInfo struct {
	ID        string
	Line      string
	Purpose   string
	Client    string // the line's client; "" for none
	Caller    string // masked; "withheld" when the caller withheld it (identity.go)
	Decision  string // empty while the notice plays
	AgentID   string // who took the call as the agent platform said ("" until it answered, or not said)
	Phase     string // notice | dialing | bridged | ended
	StartedAt time.Time
	Recording string         // recording | paused | not-recorded | "" before the bridge
	CallerRTP netip.AddrPort // our RTP address facing the caller
	AgentRTP  netip.AddrPort // our RTP address facing the agent (invalid before dialing)
}

var phaseNames = [...]string{"notice", "dialing", "bridged", "ended"}

// Calls lists the calls in progress, oldest first.
func (s *Server) Calls() []CallInfo {
	seen := map[*call]bool{}
	var out []CallInfo
	s.legs.Range(func(_, v any) bool {
		c := v.(*leg).c
		if seen[c] {
			return true
		}
		seen[c] = true
		out = append(out, c.info())
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (c *call) info() CallInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	ci := CallInfo{ID: c.id, Line: c.a.line.Number, Purpose: c.a.line.Purpose, Client: c.a.line.Client,
		Caller: config.MaskNumber(c.a.caller), Decision: c.manifest.Consent.Decision, AgentID: c.manifest.AgentID,
		Phase: phaseNames[c.phase], StartedAt: c.manifest.StartedAt}
	if c.a.id.withheld {
		ci.Caller = "withheld"
	}
	switch {
	case c.rec != nil && c.rec.Paused():
		ci.Recording = "paused"
	case c.rec != nil:
		ci.Recording = "recording"
	case c.manifest.NotRecorded != "":
		ci.Recording = "not-recorded"
	}
	if c.inEp != nil {
		ci.CallerRTP = c.inEp.Addr()
	}
	if c.outEp != nil {
		ci.AgentRTP = c.outEp.Addr()
	}
	return ci
}

// Errors of Pause and Resume.
var (
	ErrNoCall       = errors.New("no such call in progress")
	ErrNotRecording = errors.New("call is not being recorded")
	ErrSameState    = errors.New("recording already in that state")
)

// Pause makes the recording of call id hold silence (card payments).
func (s *Server) Pause(id, by string) error { return s.setPaused(id, by, true) }

// Resume ends a pause of call id's recording.
func (s *Server) Resume(id, by string) error { return s.setPaused(id, by, false) }

func (s *Server) setPaused(id, by string, pause bool) error {
	var c *call
	s.legs.Range(func(_, v any) bool {
		if l := v.(*leg); l.c.id == id {
			c = l.c
			return false
		}
		return true
	})
	if c == nil {
		return ErrNoCall
	}
	c.mu.Lock()
	rec := c.rec
	c.mu.Unlock()
	if rec == nil {
		return ErrNotRecording
	}
	ok := c.resume(by)
	if pause {
		ok = c.pause(by)
	}
	if !ok {
		return ErrSameState
	}
	return nil
}

// Observer is told what the SIP side does, for metrics. Its methods must
// be quick and must not block.
type Observer interface {
	Responded(method string, code int)
	CallEnded(CallSummary)
	// Limited counts a request refused by sip.rate_limit: scope is
	// "source" or "global" for an INVITE, "malformed" for a stateless
	// 400 withheld from a source over its limit.
	Limited(scope string)
	// Authenticated counts the outcome of digest authentication (sip.auth)
	// of an INVITE: challenged, accepted, failed, stale or locked_out.
	Authenticated(outcome string)
	// DownstreamState says a downstream is now up or down (its health
	// checks); DownstreamGone that it is no longer configured.
	DownstreamState(uri string, up bool)
	DownstreamGone(uri string)
	// DownstreamAttempt counts one downstream tried or skipped for a
	// call, by outcome (spool.Attempt*).
	DownstreamAttempt(outcome string)
}

// CallSummary is what an ended call reports to the Observer.
type CallSummary struct {
	Line     string
	Decision string
	Recorded bool
	DiskFull bool           // not recorded because the spool's disk was at its reserve
	RTP      [2]media.Stats // caller, agent legs
	Lost     [2]uint64      // packets missing by sequence number in the recording
	// Latching is each leg's media latching ("" without the leg);
	// Foreign says whether RTP kept coming from an address other than
	// the leg's SDP address.
	Latching [2]string
	Foreign  [2]bool
	// Silent names the recording's channels that received no packet.
	Silent []string
	// Truncated says why the recording stopped before the call ended
	// (spool.TruncatedDiskFull), "" when it did not.
	Truncated string
}

// SetObserver registers o; set it before Start.
func (s *Server) SetObserver(o Observer) {
	s.obs = o
	s.health.obs = o
}
