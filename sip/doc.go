// Package sip is Kiroku's SIP edge and call flow: it listens on the
// configured transports, admits calls by trunk allow-list, capacity and
// dialled number, answers with the line's notice, takes the caller's
// opt-out, writes the consent evidence to the spool, and bridges the call
// to the line's downstream as a back-to-back user agent.
//
// At its edge it contains what the network throws at it: INVITE floods
// are cut per source and in all before any transaction exists (limit.go,
// guard.go); unparseable requests get a stateless 400 until their source
// is over its limit; and every call is watched (watch.go) so that a dead
// one ends: no RTP from a leg not on hold for the line's media_timeout,
// a missed RFC 4028 session refresh (session.go), the line's
// max_duration, or a 200 never ACKed. Each ends both legs with BYE and
// the reason in the manifest.
//
// Carrier-side SIP has its own files: a delayed offer (no SDP in the
// INVITE) is answered by our offer in the 200 and the ACK's answer
// (lateoffer.go); reliable provisionals (RFC 3262) on both legs, which
// sipgo lacks, are built on its transactions (prack.go); and the caller's
// number is read from a trusted trunk's asserted identity (identity.go).
//
// A call's parts are small and separate: the consent decision is a pure
// state machine (consent.go) the call drives; what the call does after it
// is its line's flow, a value (flow.go: bridge to the downstream, echo);
// each leg's outgoing work (keys, passed holds) runs on one worker under
// the call's context (worker.go). The package registers its own metrics
// (metrics.go) on the registry the daemon gives it.
//
// It is built on sipgo (transactions, dialogs) and Kiroku's media package
// (RTP, SDP, codecs, DTMF, the relay loop). It must not encode audio or
// know the store: audio belongs to media, storage to the uploader.
//
// Our package is named sip like sipgo's; sipgo's is imported as sipmsg.
//
// It must not import catalog, storage/..., audit or httpapi.
package sip
