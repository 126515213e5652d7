// Package media owns the audio side of a call: RTP endpoints on a bounded
// port range, SDP offer and answer for G.711 with RFC 4733 telephone events,
// paced playback of a notice, DTMF detection, and the relay loop that bridges
// two legs.
//
// It must not know SIP routing or storage: the sip package hands it SDP
// bodies and gets SDP bodies and events back.
//
// The bridge loop and the DTMF detector are Kiroku's own rather than diago's
// (see DESIGN: diago v0.42.1 leaves a read deadline on the socket after
// DTMFReader.Listen, echoes DTMF to the pressing leg, leaks telephone-event
// packets into the audio, and ignores events whose first packet has duration
// 0). Each of those has a regression test in this package or in sip.
package media
