// Package loadgen drives concurrent recorded calls through a kirokud on
// loopback and measures what they cost it: the load benchmark behind
// `make bench-calls` (cmd/kiroku-load).
//
// One process plays every caller and every agent. SIP goes through two
// sipgo user agents (a caller UA and an agent UA, one UDP port each); RTP
// for all callers shares one UDP socket and RTP for all agents another, so
// the generator stays cheap next to the daemon it measures: each side sends
// 20 ms PCMU frames of its own tone with sendmmsg and reads with recvmmsg,
// and tells calls apart by kirokud's source port (every kirokud leg has a
// port of its own).
//
// It owns the benchmark: the daemon's configuration, the process samples
// (/proc), the loss accounting and the printed figures. It must not be
// imported by kirokud's own packages, and it binds and dials 127.0.0.1
// only.
package loadgen
