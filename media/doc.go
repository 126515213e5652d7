// Package media owns the audio side of a call: RTP endpoints on a bounded
// port range, SDP offer and answer with RFC 4733 telephone events, the
// codecs, paced playback of a notice, DTMF detection (RFC 4733 events, and
// key tones in the caller's audio during the notice), and the relay loop
// that bridges two legs.
//
// A codec is a value behind the Codec interface (codec.go), chosen once
// per leg by Negotiate from the SDP and carried in the leg's Peer; the
// relay, recorder and notice player ask it for decoding, encoding, clock
// rate and frame size. G.711 μ-law and A-law are its first members. A new
// codec is its implementation and one line in the registry; an SDP whose
// codecs are none of the registry's fails negotiation.
//
// The recorder writes a call's stereo PCM into a Sink its caller makes
// (sip gives it the spool's sealed audio), so that media neither knows
// where the audio goes nor holds it in the clear anywhere but its ring.
//
// It must not know SIP routing or storage: the sip package hands it SDP
// bodies and gets SDP bodies and events back.
//
// The bridge loop and the DTMF detector are Kiroku's own rather than diago's
// (see DESIGN: diago v0.42.1 leaves a read deadline on the socket after
// DTMFReader.Listen, echoes DTMF to the pressing leg, leaks telephone-event
// packets into the audio, and ignores events whose first packet has duration
// 0). Each of those has a regression test in this package or in sip.
//
// It must not import sip, spool, catalog, storage/..., httpapi or internal/config.
package media
