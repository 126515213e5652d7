package sip

import (
	"time"

	"github.com/kiroku-voice/kiroku/spool"
)

// consent is the consent decision of one call as a pure state machine:
// the call feeds it what happens (the notice starts and ends, the caller
// presses keys, the opt-out window ends, the caller hangs up) and does
// what it answers (stop the notice, open the window); once decided it
// ignores everything. It does no I/O and keeps no clock of its own, so
// every order of events can be tested; the call drives it under its
// mutex, since keys come on the caller leg's reader goroutine.
type consent struct {
	digit   string // the line's opt-out digit; "" offers no opt-out
	state   consentState
	res     consentResult
	optOut  *spool.OptOut // the first opt-out key, even before the notice
	decided bool
}

type consentState int

const (
	consentAnswering consentState = iota // the notice has not started
	consentNotice                        // the notice is playing
	consentWindow                        // the notice ended; the window is open
	consentDecided
)

// consentEventKind is what happened.
type consentEventKind int

const (
	evNoticeStarted consentEventKind = iota + 1
	evKey                            // a key pressed by the caller
	evNoticeEnded                    // completed says whether in full
	evWindowEnded                    // the opt-out window ran out
	evHangUp                         // the call ended (or failed) before a decision
)

// consentEvent is one input of the machine.
type consentEvent struct {
	kind      consentEventKind
	at        time.Time
	digit     rune   // evKey
	via       string // evKey: rfc4733, sip-info or inband
	completed bool   // evNoticeEnded
}

// consentAction is what the call must do after an event.
type consentAction int

const (
	actNone       consentAction = iota
	actStopNotice               // the caller opted out: cut the notice short (or skip it), close the window
	actOpenWindow               // wait the line's opt-out window, then evWindowEnded
)

// consentResult is the decision and the facts the manifest keeps of it.
type consentResult struct {
	Decision       string // spool.Notified, spool.OptedOut or spool.HungUpDuringNotice
	NoticeStarted  time.Time
	NoticeEnded    time.Time
	NoticeComplete bool
	OptOut         *spool.OptOut
}

func newConsent(optOutDigit string) *consent { return &consent{digit: optOutDigit} }

// handle feeds one event and says what to do about it.
func (m *consent) handle(e consentEvent) consentAction {
	if m.state == consentDecided {
		return actNone
	}
	switch e.kind {
	case evNoticeStarted:
		if m.state != consentAnswering {
			return actNone
		}
		m.state, m.res.NoticeStarted = consentNotice, e.at
		if m.optOut != nil { // a key pressed while the call was answered
			return actStopNotice
		}
	case evKey:
		if m.digit == "" || string(e.digit) != m.digit || m.optOut != nil {
			return actNone
		}
		m.optOut = &spool.OptOut{Digit: string(e.digit), At: e.at.UTC(), Via: e.via}
		if m.state == consentWindow {
			m.decide(spool.OptedOut)
		}
		// In the notice, decided when it has stopped; before it, it stops
		// as soon as it starts.
		return actStopNotice
	case evNoticeEnded:
		if m.state != consentNotice {
			return actNone
		}
		m.res.NoticeEnded, m.res.NoticeComplete = e.at, e.completed
		switch {
		case m.optOut != nil:
			m.decide(spool.OptedOut)
		case !e.completed:
			// Cut short by the end of the call (or a failure to send it).
			m.decide(spool.HungUpDuringNotice)
		case m.digit != "":
			m.state = consentWindow
			return actOpenWindow
		default:
			m.decide(spool.Notified)
		}
	case evWindowEnded:
		if m.state == consentWindow {
			m.decide(spool.Notified)
		}
	case evHangUp:
		switch m.state {
		case consentAnswering:
			// Gone before the notice began: no opt-out counts.
			m.optOut = nil
			m.decide(spool.HungUpDuringNotice)
		case consentNotice:
			m.res.NoticeEnded = e.at
			if m.optOut != nil {
				m.decide(spool.OptedOut)
			} else {
				m.decide(spool.HungUpDuringNotice)
			}
		case consentWindow:
			// The caller heard the whole notice and stayed silent.
			m.decide(spool.Notified)
		}
	}
	return actNone
}

func (m *consent) decide(d string) {
	m.state, m.decided = consentDecided, true
	m.res.Decision = d
	if d == spool.OptedOut {
		m.res.OptOut = m.optOut
	}
}

// result is the decision, ok false until it is made.
func (m *consent) result() (consentResult, bool) { return m.res, m.decided }
