package config

import "time"

// Overload bounds the calls being set up (admitted, the answer to the
// caller not made yet; or consent decided, the INVITE to the agent
// platform not sent yet): past MaxSetupsPending of them, or while one has
// waited longer than SetupQueueTimeout, the node is behind, and a new
// INVITE is
// refused at once (Action reject: 503 Overloaded with Retry-After; drop:
// no answer) instead of being taken and timing out half done. Calls
// already admitted go on.
type Overload struct {
	MaxSetupsPending  int      `yaml:"max_setups_pending"`  // default 200
	SetupQueueTimeout Duration `yaml:"setup_queue_timeout"` // default 2s
	Action            string   `yaml:"action"`              // reject (default) or drop
	// MaxCPUThrottledPercent refuses new INVITEs (and answers OPTIONS
	// 503) while kirokud's cgroup ran out of its CPU quota in more than
	// this percentage of the last second's scheduler periods: a node that
	// cannot carry the calls it has. Default 50; from 5 to 100 (100:
	// never refused on throttling). Without a CPU quota it has no effect.
	MaxCPUThrottledPercent int `yaml:"max_cpu_throttled_percent"`
	// MaxSchedWait refuses new INVITEs (and answers OPTIONS 503) while
	// the median time kirokud's runnable goroutines waited for a CPU over
	// the last second is above it: a node whose cores are used up, by its
	// calls or by other processes, with or without a quota. Default
	// 300ms; from 50ms to 10s (10s: never refused on it).
	MaxSchedWait Duration `yaml:"max_sched_wait"`
}

// Defaults and bounds of sip.overload.
const (
	DefaultMaxSetupsPending  = 200
	DefaultSetupQueueTimeout = Duration(2 * time.Second)
	MinSetupQueueTimeout     = Duration(100 * time.Millisecond)
	MaxSetupQueueTimeout     = Duration(30 * time.Second)
	DefaultOverloadAction    = "reject"
	DefaultMaxCPUThrottled   = 50 // percent
	DefaultMaxSchedWait      = Duration(300 * time.Millisecond)
	MinMaxSchedWait          = Duration(50 * time.Millisecond)
	MaxMaxSchedWait          = Duration(10 * time.Second)
)

// checkOverload fills in sip.overload's defaults for keys not given (a
// zero the file gave is an error: overload control cannot be turned off)
// and checks it.
func (c *Config) checkOverload(r *report) {
	given := func(key string) bool { _, ok := r.pos[key]; return ok }
	o := &c.SIP.Overload
	if o.MaxSetupsPending == 0 && !given("sip.overload.max_setups_pending") {
		o.MaxSetupsPending = DefaultMaxSetupsPending
	}
	if o.MaxSetupsPending < 1 {
		r.add("sip.overload.max_setups_pending", "must be at least 1, got %d; overload control cannot be turned off", o.MaxSetupsPending)
	}
	if o.SetupQueueTimeout == 0 && !given("sip.overload.setup_queue_timeout") {
		o.SetupQueueTimeout = DefaultSetupQueueTimeout
	}
	if o.SetupQueueTimeout < MinSetupQueueTimeout || o.SetupQueueTimeout > MaxSetupQueueTimeout {
		r.add("sip.overload.setup_queue_timeout", "%s is not within %s-%s", o.SetupQueueTimeout, MinSetupQueueTimeout, MaxSetupQueueTimeout)
	}
	if o.MaxCPUThrottledPercent == 0 && !given("sip.overload.max_cpu_throttled_percent") {
		o.MaxCPUThrottledPercent = DefaultMaxCPUThrottled
	}
	if o.MaxCPUThrottledPercent < 5 || o.MaxCPUThrottledPercent > 100 {
		r.add("sip.overload.max_cpu_throttled_percent", "%d is not a percentage from 5 to 100 (100: never refuse on throttling)", o.MaxCPUThrottledPercent)
	}
	if o.MaxSchedWait == 0 && !given("sip.overload.max_sched_wait") {
		o.MaxSchedWait = DefaultMaxSchedWait
	}
	if o.MaxSchedWait < MinMaxSchedWait || o.MaxSchedWait > MaxMaxSchedWait {
		r.add("sip.overload.max_sched_wait", "%s is not within %s-%s (%s: never refuse on the scheduler's wait)", o.MaxSchedWait, MinMaxSchedWait, MaxMaxSchedWait, MaxMaxSchedWait)
	}
	if o.Action == "" && !given("sip.overload.action") {
		o.Action = DefaultOverloadAction
	}
	if !oneOf(o.Action, "reject", "drop") {
		r.add("sip.overload.action", "%q is not reject (503 Overloaded with Retry-After) or drop (no answer)", o.Action)
	}
}
