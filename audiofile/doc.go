// Package audiofile owns the formats a recording's audio is stored in:
// it reads the spool's 8 kHz 16-bit stereo PCM WAV (caller left, agent
// right) and writes it as one of them — pcm (the WAV as it is), g711
// (the wire's law in a WAV), flac (lossless), opus (Ogg Opus, lossy) —
// and names each one's file extension, content type and manifest
// description; it reads each of them back into a waveform (Peaks).
//
// Encoding runs in the uploader, from the spool's finished WAV; it never
// runs on the RTP path, and it must not log: it returns errors that say
// what is wrong with its input and leaves reporting to its callers.
//
// It must not import sip, spool, catalog, storage/..., httpapi or internal/config.
package audiofile
