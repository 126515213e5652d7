// Package sip is Kiroku's SIP edge and call flow: it listens on the
// configured transports, admits calls by trunk allow-list, capacity and
// dialled number, answers with the line's notice, takes the caller's
// opt-out, writes the consent evidence to the spool, and bridges the call
// to the line's downstream as a back-to-back user agent.
//
// It is built on sipgo (transactions, dialogs) and Kiroku's media package
// (RTP, SDP, DTMF, the relay loop). It must not encode audio or know the
// store: audio belongs to media, storage to the uploader.
//
// Our package is named sip like sipgo's; sipgo's is imported as sipmsg.
package sip
