package sip

import (
	"fmt"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/spool"
)

// TestConsent drives the consent machine through every order of its
// events and checks each answer and the final decision with its times.
func TestConsent(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	var (
		started  = consentEvent{kind: evNoticeStarted, at: at(1)}
		ended    = consentEvent{kind: evNoticeEnded, at: at(5), completed: true}
		cut      = consentEvent{kind: evNoticeEnded, at: at(3), completed: false}
		window   = consentEvent{kind: evWindowEnded, at: at(8)}
		hangUp   = consentEvent{kind: evHangUp, at: at(4)}
		nine     = consentEvent{kind: evKey, at: at(2), digit: '9', via: "rfc4733"}
		nineInfo = consentEvent{kind: evKey, at: at(6), digit: '9', via: "sip-info"}
		five     = consentEvent{kind: evKey, at: at(2), digit: '5', via: "rfc4733"}
	)
	optOut := func(e consentEvent) *spool.OptOut {
		return &spool.OptOut{Digit: string(e.digit), At: e.at, Via: e.via}
	}
	type step struct {
		e    consentEvent
		want consentAction
	}
	for _, c := range []struct {
		name    string
		digit   string
		steps   []step
		decided bool
		want    consentResult
	}{
		{"notice heard, window ran out", "9",
			[]step{{started, actNone}, {ended, actOpenWindow}, {window, actNone}}, true,
			consentResult{Decision: spool.Notified, NoticeStarted: at(1), NoticeEnded: at(5), NoticeComplete: true}},
		{"no opt-out digit: no window", "",
			[]step{{started, actNone}, {nine, actNone}, {ended, actNone}}, true,
			consentResult{Decision: spool.Notified, NoticeStarted: at(1), NoticeEnded: at(5), NoticeComplete: true}},
		{"opt-out key during the notice", "9",
			[]step{{started, actNone}, {nine, actStopNotice}, {cut, actNone}}, true,
			consentResult{Decision: spool.OptedOut, NoticeStarted: at(1), NoticeEnded: at(3), OptOut: optOut(nine)}},
		{"opt-out key in the window", "9",
			[]step{{started, actNone}, {ended, actOpenWindow}, {nineInfo, actStopNotice}, {window, actNone}}, true,
			consentResult{Decision: spool.OptedOut, NoticeStarted: at(1), NoticeEnded: at(5), NoticeComplete: true, OptOut: optOut(nineInfo)}},
		{"opt-out key before the notice starts", "9",
			[]step{{nine, actStopNotice}, {started, actStopNotice}, {cut, actNone}}, true,
			consentResult{Decision: spool.OptedOut, NoticeStarted: at(1), NoticeEnded: at(3), OptOut: optOut(nine)}},
		{"another key does not opt out", "9",
			[]step{{started, actNone}, {five, actNone}, {ended, actOpenWindow}, {window, actNone}}, true,
			consentResult{Decision: spool.Notified, NoticeStarted: at(1), NoticeEnded: at(5), NoticeComplete: true}},
		{"only the first opt-out key counts", "9",
			[]step{{started, actNone}, {nine, actStopNotice}, {nineInfo, actNone}, {cut, actNone}}, true,
			consentResult{Decision: spool.OptedOut, NoticeStarted: at(1), NoticeEnded: at(3), OptOut: optOut(nine)}},
		{"notice cut short by the end of the call", "9",
			[]step{{started, actNone}, {cut, actNone}, {hangUp, actNone}}, true,
			consentResult{Decision: spool.HungUpDuringNotice, NoticeStarted: at(1), NoticeEnded: at(3)}},
		{"hang-up during the notice", "9",
			[]step{{started, actNone}, {hangUp, actNone}, {cut, actNone}}, true,
			consentResult{Decision: spool.HungUpDuringNotice, NoticeStarted: at(1), NoticeEnded: at(4)}},
		{"opt-out then hang-up during the notice", "9",
			[]step{{started, actNone}, {nine, actStopNotice}, {hangUp, actNone}}, true,
			consentResult{Decision: spool.OptedOut, NoticeStarted: at(1), NoticeEnded: at(4), OptOut: optOut(nine)}},
		{"hang-up in the window: notified", "9",
			[]step{{started, actNone}, {ended, actOpenWindow}, {hangUp, actNone}, {nineInfo, actNone}}, true,
			consentResult{Decision: spool.Notified, NoticeStarted: at(1), NoticeEnded: at(5), NoticeComplete: true}},
		{"hang-up before the notice", "9",
			[]step{{hangUp, actNone}, {started, actNone}, {ended, actNone}}, true,
			consentResult{Decision: spool.HungUpDuringNotice}},
		{"opt-out key, then hang-up before the notice", "9",
			[]step{{nine, actStopNotice}, {hangUp, actNone}}, true,
			consentResult{Decision: spool.HungUpDuringNotice}},
		{"keys after the decision are not taken", "9",
			[]step{{started, actNone}, {ended, actOpenWindow}, {window, actNone}, {nineInfo, actNone}}, true,
			consentResult{Decision: spool.Notified, NoticeStarted: at(1), NoticeEnded: at(5), NoticeComplete: true}},
		{"window end without a window is ignored", "9",
			[]step{{window, actNone}, {started, actNone}, {window, actNone}}, false,
			consentResult{NoticeStarted: at(1)}},
		{"notice end before its start is ignored", "9",
			[]step{{ended, actNone}}, false, consentResult{}},
		{"a second start is ignored", "9",
			[]step{{started, actNone}, {consentEvent{kind: evNoticeStarted, at: at(9)}, actNone}}, false,
			consentResult{NoticeStarted: at(1)}},
		{"undecided while the notice plays", "9",
			[]step{{started, actNone}, {five, actNone}}, false, consentResult{NoticeStarted: at(1)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newConsent(c.digit)
			for i, s := range c.steps {
				if got := m.handle(s.e); got != s.want {
					t.Errorf("step %d (event %d): got action %d, want %d", i, s.e.kind, got, s.want)
				}
			}
			got, decided := m.result()
			if decided != c.decided {
				t.Errorf("got decided %v, want %v", decided, c.decided)
			}
			gotOpt, wantOpt := got.OptOut, c.want.OptOut
			got.OptOut, c.want.OptOut = nil, nil
			if got != c.want || fmt.Sprint(gotOpt) != fmt.Sprint(wantOpt) {
				t.Errorf("got %+v (opt-out %v), want %+v (opt-out %v)", got, gotOpt, c.want, wantOpt)
			}
		})
	}
}
