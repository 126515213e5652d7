// Package daemon assembles kirokud from its parts (spool, SIP server) and
// owns their life: New, Start, Reload and Stop. cmd/kirokud only turns
// flags and signals into calls of these.
package daemon
