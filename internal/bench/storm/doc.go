// Package storm is the call-storm benchmark behind `make bench-storm`:
// SIPp as the caller and as the agent against a built kirokud storing
// into versitygw, with RTP both ways from this process. It holds no
// production code; BenchmarkStorm prints its figures.
package storm
