// Package sipptest is test support for driving Kiroku with SIPp on
// loopback: it finds and runs the sipp binary (Start, Process, Result),
// ships the XML scenarios the integration tests use (Scenario), picks
// free ports, and makes the audio those tests send — G.711 tones, RTP
// and RFC 4733 packets, and libpcap captures that SIPp's
// play_pcap_audio replays.
//
// It is for _test.go files only: no code that ships in kirokud may
// import it. It takes a testing.TB, fails the test itself, and ties
// every process and file it makes to the test's lifetime.
//
// Calls stay on 127.0.0.1; SIPp's SIP, media and control sockets are
// all bound there.
package sipptest
