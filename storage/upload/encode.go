package upload

// The audio an upload stores: the format a recording is stored in first,
// its encoding from the spool's WAV, and where the encoded bytes wait
// (a spool file, or memory when the spool's disk is full).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/spool"
)

// cheapFormat is the format a recording of rate Hz to be converted to
// target later is stored in first: the cheapest to encode that loses
// nothing target keeps. For opus, g711 at 8 kHz (half of pcm, exact
// against the wire, and opus's loss is far above a law's step); for
// flac, and at 16 kHz (which g711 cannot hold), pcm, since flac promises
// the spool's samples exactly and g711 is not exact where a leg's law
// differs from the one stored (see audiofile's encodeG711).
func cheapFormat(target audiofile.Format, rate int) audiofile.Format {
	if target == audiofile.Opus && rate == 8000 {
		return audiofile.G711
	}
	return audiofile.PCM
}

// audioData is the audio an upload stores: the spool's recording of call
// id (spool set: read as its WAV, unsealed as it is read), an encoded
// copy in a sealed spool temporary (temp), or, encoded when the spool's
// disk had no room for that copy, bytes in memory.
type audioData struct {
	spool *spool.Dir
	id    string
	temp  *spool.SealedTemp
	mem   []byte
}

// open returns a reader of the audio and its size; a file's reader is
// also an io.Closer.
func (a *audioData) open() (io.ReadSeeker, int64, error) {
	if a.spool != nil {
		r, n, err := openSpoolAudio(a.spool, a.id)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: open recording: %v", errItem, err)
		}
		return r, n, nil
	}
	if a.temp == nil {
		return bytes.NewReader(a.mem), int64(len(a.mem)), nil
	}
	r, err := a.temp.Open()
	if err != nil {
		return nil, 0, fmt.Errorf("%w: open encoded recording: %v", errItem, err)
	}
	return r, r.Size(), nil
}

// openSpoolAudio opens the spool's recording of call id as its WAV. Its
// sealed audio without an end record (the recorder's last write refused
// by a full disk; its manifest is final) is finished first.
func openSpoolAudio(sp *spool.Dir, id string) (io.ReadSeekCloser, int64, error) {
	r, n, err := sp.OpenAudio(id)
	if errors.Is(err, spool.ErrUnfinished) {
		if err := sp.FinishAudio(id); err != nil {
			return nil, 0, err
		}
		r, n, err = sp.OpenAudio(id)
	}
	return r, n, err
}

// remove removes an encoded copy's temporary.
func (a *audioData) remove() {
	if a.temp != nil {
		a.temp.Remove()
	}
}

// maxEncodedInMemory bounds an encoded copy kept in memory when the
// spool's disk has no room for it: more than an hour of any format but
// PCM (g711 is 28.8 MB an hour).
const maxEncodedInMemory = 64 << 20

// errTooLarge stops an encoding into memory past maxEncodedInMemory.
var errTooLarge = errors.New("encoded recording larger than the memory it may take")

// capped is a buffer that refuses to grow past maxEncodedInMemory.
type capped struct{ bytes.Buffer }

func (c *capped) Write(p []byte) (int, error) {
	if c.Len()+len(p) > maxEncodedInMemory {
		return 0, errTooLarge
	}
	return c.Buffer.Write(p)
}

// encode writes the spool's recording of m (read as its WAV) as format
// into a sealed temporary in the spool (the encoded audio is not in the
// clear there either) and returns it; remove removes it. When the spool's disk has
// no room for the copy (full: spool.IsDiskFull), it encodes into memory
// instead, up to maxEncodedInMemory, so that a full spool still drains.
// The WAV stays where it is until the encoded object is stored and
// indexed. A WAV the encoder cannot read (audiofile.ErrSource) is stored
// as it is, with a warning: the result is then nil, and nothing recorded
// is lost.
func (u *Uploader) encode(m *spool.Manifest, format audiofile.Format, bitrate int) (*audioData, error) {
	src, _, err := openSpoolAudio(u.o.Spool, m.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: open recording: %v", errItem, err)
	}
	defer src.Close()
	opts := audiofile.Options{Law: gLaw(m), Bitrate: bitrate}
	tmp, err := u.o.Spool.CreateSealedTemp(m.ID + ".encoded.*")
	if err == nil {
		err = audiofile.Encode(tmp, src, format, opts)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			return &audioData{temp: tmp}, nil
		}
		tmp.Remove()
	}
	if spool.IsDiskFull(err) {
		u.o.Log.Warn("no room in the spool for the encoded copy; encoding in memory", zap.String("call_id", m.ID), zap.Error(err))
		if _, err = src.Seek(0, io.SeekStart); err == nil {
			var mem capped
			if err = audiofile.Encode(&mem, src, format, opts); err == nil {
				return &audioData{mem: mem.Bytes()}, nil
			}
		}
	}
	switch {
	case errors.Is(err, audiofile.ErrSource):
		u.o.Log.Warn("recording stored as its spool WAV: it cannot be encoded", zap.String("call_id", m.ID),
			zap.String("audio_format", string(format)), zap.Error(err))
		return nil, nil
	case errors.Is(err, errTooLarge):
		return nil, fmt.Errorf("%w: encode recording as %s with the spool full: %v", errItem, format, err)
	}
	return nil, fmt.Errorf("encode recording as %s: %w", format, err)
}

// recordingRate is the sample rate m's recording names in its format
// ("…; rate=16000; …"), 8000 when it names none.
func recordingRate(m *spool.Manifest) int {
	for _, part := range strings.Split(m.Recording.Format, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "rate="); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return n
			}
		}
	}
	return 8000
}

// gLaw is the G.711 law a g711 recording of m stores: the caller leg's
// codec, whose samples it then keeps exactly (μ-law when it is neither).
func gLaw(m *spool.Manifest) audiofile.Law {
	for _, c := range m.Recording.Channels {
		if c.Side == "caller" && c.Codec == string(audiofile.ALaw) {
			return audiofile.ALaw
		}
	}
	return audiofile.ULaw
}
