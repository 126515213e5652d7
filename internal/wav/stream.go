package wav

// StreamHeader is the header of a 16-bit PCM WAV streamed while its
// length is unknown: the RIFF and data sizes hold the placeholder, as
// Writer leaves them until Close; a reader plays the samples that follow
// as they come, and Repair fixes a saved copy.
func StreamHeader(sampleRate, channels int) []byte {
	return header(sampleRate, channels, placeholder)
}
