package audiotest

import (
	"encoding/binary"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Tool returns the path of an outside audio tool (espeak-ng, sox, flac,
// opusdec), installing its Debian package as root when it is missing.
func Tool(t testing.TB, name string) string {
	t.Helper()
	return need(t, name)
}

// DecodeStereo returns the interleaved 16-bit samples of the stereo
// audio file at path as sox decodes it (WAV of any format tag sox reads,
// FLAC), so that a test compares with an outside decoder, not the
// project's own.
func DecodeStereo(t testing.TB, path string) []int16 {
	t.Helper()
	sox := need(t, "sox")
	cmd := exec.Command(sox, path, "-t", "raw", "-L", "-e", "signed-integer", "-b", "16", "-r", strconv.Itoa(Rate), "-c", "2", "-")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("sox %s: %v\n%s", filepath.Base(path), err, stderr(err))
	}
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return pcm
}
