// Package baresiptest runs baresip (Debian's baresip-core) as a real SIP
// user agent in tests: a caller that dials once and plays a WAV file, or
// an agent that answers every call and plays one. It speaks what SIPp
// cannot here: SIP over TLS (Debian's SIPp has no OpenSSL) and SRTP keyed
// by SDES, with the audio really encrypted on the wire.
//
// It must not be used outside tests.
package baresiptest
