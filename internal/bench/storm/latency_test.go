package storm

import (
	"slices"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
)

// durations is a set of latencies.
type durations []time.Duration

// p is the q-th percentile (nearest rank).
func (d durations) p(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// setup holds the caller's INVITE to its 200, to the agent's INVITE, and
// the caller's BYE to its 200 (a carrier that waits for it retransmits,
// and SIPp fails the call past Timer F, 32 s).
type setup struct{ answer, agent, bye durations }

// sippMessage is one message of SIPp's -trace_msg log.
type sippMessage struct {
	at       time.Time
	sent     bool
	first    string // request or status line
	callID   string
	cseq     string
	kirokuID string // X-Kiroku-Call-Id
}

// parseMessages splits a -trace_msg log. Each entry opens with a line of
// dashes and the time ("2026-12-02\t02:40:01.123456"), then "UDP message
// sent (n bytes):" or "UDP message received [n] bytes :", a blank line
// and the message.
func parseMessages(log string) []sippMessage {
	var out []sippMessage
	for _, e := range strings.Split(log, "----------------------------------------------- ")[1:] {
		head, rest, ok := strings.Cut(e, "\n")
		if !ok {
			continue
		}
		at, err := time.ParseInLocation("2006-01-02 15:04:05.000000", strings.TrimSpace(strings.ReplaceAll(head, "\t", " ")), time.Local)
		if err != nil {
			continue
		}
		kind, body, ok := strings.Cut(rest, "\n")
		if !ok {
			continue
		}
		m := sippMessage{at: at, sent: strings.Contains(kind, "message sent")}
		lines := strings.Split(strings.TrimLeft(body, "\r\n"), "\n")
		if len(lines) == 0 {
			continue
		}
		m.first = strings.TrimSpace(lines[0])
		for _, l := range lines[1:] {
			l = strings.TrimSpace(l)
			if l == "" {
				break
			}
			name, val, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			val = strings.TrimSpace(val)
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "call-id", "i":
				m.callID = val
			case "cseq":
				m.cseq = val
			case "x-kiroku-call-id":
				m.kirokuID = val
			}
		}
		out = append(out, m)
	}
	return out
}

// requestOK times, by Call-ID, the first request of method sent to the
// first 200 received for it; retransmissions of either count once.
type requestOK struct {
	method string
	sent   map[string]time.Time
	done   map[string]bool
}

func newRequestOK(method string) *requestOK {
	return &requestOK{method: method, sent: map[string]time.Time{}, done: map[string]bool{}}
}

// see takes message m and adds the latency it completes to d.
func (r *requestOK) see(m sippMessage, d *durations) {
	switch {
	case m.sent && strings.HasPrefix(m.first, r.method+" "):
		if _, ok := r.sent[m.callID]; !ok {
			r.sent[m.callID] = m.at
		}
	case !m.sent && strings.HasPrefix(m.first, "SIP/2.0 200") && strings.HasSuffix(m.cseq, " "+r.method):
		if t, ok := r.sent[m.callID]; ok && !r.done[m.callID] {
			r.done[m.callID] = true
			*d = append(*d, m.at.Sub(t))
		}
	}
}

// latencies matches the caller's INVITE to its 200 (by Call-ID), and to
// the agent's INVITE through the catalog (Kiroku's id, which the agent's
// INVITE carries, to the caller's Call-ID), and the caller's BYE to its
// 200.
func latencies(callerLog, agentLog string, recs []*catalog.Recording) setup {
	var s setup
	invite, bye := newRequestOK("INVITE"), newRequestOK("BYE")
	for _, m := range parseMessages(callerLog) {
		invite.see(m, &s.answer)
		bye.see(m, &s.bye)
	}
	invited := invite.sent
	sipCallID := make(map[string]string, len(recs))
	for _, r := range recs {
		sipCallID[r.ID] = r.SIPCallID
	}
	seen := map[string]bool{}
	for _, m := range parseMessages(agentLog) {
		if m.sent || !strings.HasPrefix(m.first, "INVITE ") || m.kirokuID == "" || seen[m.kirokuID] {
			continue
		}
		seen[m.kirokuID] = true
		if t, ok := invited[sipCallID[m.kirokuID]]; ok {
			s.agent = append(s.agent, m.at.Sub(t))
		}
	}
	return s
}
