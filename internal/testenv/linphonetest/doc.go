// Package linphonetest runs linphonec (Debian's linphone-cli) as a real
// SIP caller in tests: a softphone with its own SIP stack (belle-sip)
// and its default codec list (opus, speex, PCMU, PCMA, G.729 and three
// telephone-event rates), driven through its console on stdin, with a
// WAV file as its microphone.
//
// It must not be used outside tests.
package linphonetest
