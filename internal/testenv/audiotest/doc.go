// Package audiotest makes real audio for tests with Debian's tools:
// speech read by espeak-ng, music-like chords and arpeggios synthesised
// by sox with the harmonics of real instruments, and DTMF key tones
// from sox, each written as a WAV file into the test's temporary
// folder and returned as 8 kHz mono 16-bit samples (sox resamples).
// Nothing it makes is committed: every test builds its own.
//
// When espeak-ng or sox is missing and the tests run as root, it
// installs the Debian packages (espeak-ng, sox) with apt-get under a
// lock, as make test-deps does beforehand; without root it skips the
// test, saying why.
//
// It is for _test.go files only: no code that ships in kirokud may
// import it.
package audiotest
