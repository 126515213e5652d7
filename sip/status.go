package sip

import (
	"github.com/kiroku-voice/kiroku/internal/config"
	"net/netip"
	"sort"
	"time"
)

// CallInfo describes a call in progress.
type CallInfo struct {
	ID        string
	Line      string
	Purpose   string
	Caller    string // masked
	Decision  string // empty while the notice plays
	Phase     string // notice | dialing | bridged | ended
	StartedAt time.Time
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
	ci := CallInfo{ID: c.id, Line: c.a.line.Number, Purpose: c.a.line.Purpose,
		Caller: config.MaskNumber(c.a.caller), Decision: c.manifest.Consent.Decision,
		Phase: phaseNames[c.phase], StartedAt: c.manifest.StartedAt}
	if c.inEp != nil {
		ci.CallerRTP = c.inEp.Addr()
	}
	if c.outEp != nil {
		ci.AgentRTP = c.outEp.Addr()
	}
	return ci
}
