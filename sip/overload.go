package sip

import (
	"sync"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// setups tracks the calls being set up: admitted, and the answer to the
// caller not yet made (nor the caller gone). That is this node's own
// work (admission, RTP ports, SRTP, SDP), so when too many calls are in
// it, or one has been for longer than sip.overload.setup_queue_timeout,
// the node is behind: a new INVITE would only queue behind them and time
// out half done, so it is refused at once. Waiting for the caller (its
// ACK, a PRACK) does not count: a caller cannot hold the node there.
type setups struct {
	mu    sync.Mutex
	next  uint64
	since map[uint64]time.Time // by token, when admitted
}

func newSetups() *setups { return &setups{since: map[uint64]time.Time{}} }

// admit takes a place for a new set-up and returns its token, or reports
// false (and takes nothing) when the bounds are passed.
func (s *setups) admit(o config.Overload, now time.Time) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.since) >= o.MaxSetupsPending {
		return 0, false
	}
	limit := time.Duration(o.SetupQueueTimeout)
	for _, t := range s.since {
		if now.Sub(t) > limit {
			return 0, false
		}
	}
	s.next++
	s.since[s.next] = now
	return s.next, true
}

// done ends the set-up of token; it may be called more than once.
func (s *setups) done(token uint64) {
	s.mu.Lock()
	delete(s.since, token)
	s.mu.Unlock()
}

// pending is how many calls are being set up.
func (s *setups) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.since)
}

// overloadObserver is told of each INVITE refused as overload; the
// Observer may implement it.
type overloadObserver interface {
	// Overloaded counts one INVITE refused by sip.overload, by action
	// (reject or drop).
	Overloaded(action string)
}

func (s *Server) overloaded(action string) {
	if o, ok := s.obs.(overloadObserver); ok {
		o.Overloaded(action)
	}
}
