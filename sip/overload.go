package sip

import (
	"sync"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// setups tracks the calls in one of the two stages of a set-up that are
// this node's own work: from admission to the answer to the caller
// (RTP ports, SRTP, SDP), and from the consent decision to the INVITE
// sent to the agent platform (ports, the group's plan, the offer). When
// too many calls are in them, or one has been for longer than
// sip.overload.setup_queue_timeout, the node is behind: a new INVITE
// would only queue behind them and time out half done, so it is refused
// at once. Waiting on others does not count: the caller (its ACK, a
// PRACK), the notice playing, the agent platform's answer.
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

// enter puts an admitted call into the second stage, owed since since,
// and returns its token. It takes no bound: the call was admitted, and
// refusing it now would drop a caller who heard the notice; the stage
// counts against the next INVITEs instead.
func (s *setups) enter(since time.Time) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	s.since[s.next] = since
	return s.next
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

// Set-up stages of setupObserver.
const (
	stageAnswer = "answer" // the INVITE received to our answer to the caller
	stageAgent  = "agent"  // the consent decided to the INVITE sent to the agent platform
)

// setupObserver is told how long each stage of this node's own set-up
// work took; the Observer may implement it.
type setupObserver interface {
	SetupStage(stage string, d time.Duration)
}

func (s *Server) setupStage(stage string, d time.Duration) {
	if o, ok := s.obs.(setupObserver); ok {
		o.SetupStage(stage, d)
	}
}

func (s *Server) overloaded(action string) {
	if o, ok := s.obs.(overloadObserver); ok {
		o.Overloaded(action)
	}
}

// schedObserver is told the scheduler's waits over the last second (the
// median and the 99th percentile) and the share of its CFS periods the
// CPU quota ran out in; the Observer may implement it.
type schedObserver interface {
	SchedLatency(p50, p99 time.Duration, throttled float64)
}

func (s *Server) schedLatency(p50, p99 time.Duration, throttled float64) {
	if o, ok := s.obs.(schedObserver); ok {
		o.SchedLatency(p50, p99, throttled)
	}
}

// minCallsThrottled is how many calls a node must carry before its CPU
// quota's throttling or its scheduler's wait refuses new ones: with
// fewer, the shortage is not the calls' doing (a collection, an upload, a neighbour in the group),
// and refusing calls would not relieve it.
const minCallsThrottled = 32

// cpuSpent reports whether the node's CPU is used up while it carries
// calls enough to be the cause: its quota ran out in more of the last
// second's periods than sip.overload.max_cpu_throttled_percent, or its
// goroutines waited for a CPU longer than sip.overload.max_sched_wait
// (the median over that second).
func (s *Server) cpuSpent(cfg *config.Config) bool {
	if s.active.Load() < minCallsThrottled {
		return false
	}
	pct := cfg.SIP.Overload.MaxCPUThrottledPercent
	if pct <= 0 {
		pct = config.DefaultMaxCPUThrottled
	}
	wait := cfg.SIP.Overload.MaxSchedWait
	if wait <= 0 {
		wait = config.DefaultMaxSchedWait
	}
	return s.sched.throttledOver(float64(pct)/100) || s.sched.waitOver(time.Duration(wait))
}
