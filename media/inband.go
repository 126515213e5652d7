package media

import "math"

// In-band DTMF: key presses sent as audio tones (a row and a column
// frequency, ITU-T Q.23) by gateways that do not send RFC 4733 events.
// ToneDetector runs Goertzel filters on blocks of 102 samples at 8 kHz
// (12.75 ms): the bins are then 78 Hz wide, which puts each DTMF
// frequency close to a null of its neighbours' filters, and three
// blocks make the shortest recognised tone about 40 ms long (Q.24).

const (
	// toneBlock is the Goertzel block in samples.
	toneBlock = 102
	// toneHits is how many consecutive blocks must hold the same key
	// before it is reported. A block counts only when the tone fills
	// most of it, so tones of less than about 30 ms are never reported
	// and tones of 44 ms or more always are.
	toneHits = 3
	// toneGap is how many blocks without the key end a press: a break
	// of up to 10 ms in a tone (it can spoil two blocks) is still one
	// press, and a pause of 40 ms or more (it spoils at least three)
	// always ends it, as Q.24 asks.
	toneGap = 3
)

// Thresholds of a block: the level as an amplitude, the rest as ratios
// of powers.
const (
	// dBm0 is the amplitude of a 0 dBm0 sine in 16-bit linear samples
	// (G.711's full-scale sine is +3.17 dBm0).
	dBm0 = 22652.0
	// minToneLevel is the weakest tone accepted, per frequency: -32
	// dBm0 over a whole block, so that keys at -30 dBm0 (the quiet end
	// of what gateways send) are detected with some margin.
	minToneLevel = dBm0 * 0.02512 // 10^(-32/20)
	// normalTwist is how much stronger the row (low) tone may be than
	// the column (high) tone: 8 dB, since lines lose more of the high
	// group.
	normalTwist = 6.310 // 10^(8/10)
	// reverseTwist is how much stronger the column tone may be: 4 dB.
	reverseTwist = 2.512 // 10^(4/10)
	// relativePeak is how far each other frequency of a group must stay
	// below the group's strongest: 6 dB. (8 dB, as some detectors ask,
	// rejects keys 1.5 % off frequency at 6 dB of twist: the strong
	// row's leakage and the column's own both land in the neighbouring
	// column's bin.)
	relativePeak = 3.981
	// minFill is the share of the block's energy the two tones must
	// hold; speech and music spread theirs over many frequencies and
	// harmonics, a key press puts nearly all of it into two.
	minFill = 0.75
	// colHarmonic is how far the second harmonic of the column tone
	// must stay below it: 18 dB. Voiced speech and instruments carry
	// strong harmonics, a DTMF generator none, and the column's
	// (2418-3266 Hz) is clear of every keypad frequency. The row's
	// second harmonic (1394-1882 Hz) is not checked: a column tone 1.5 %
	// off frequency lies within 40-60 Hz of it, inside its bin.
	colHarmonic = 63.096 // 10^(18/10)
	// rowThird is how far the third harmonic of the row tone must stay
	// below it: 15 dB. Square-like sounds (reeds, chiptune, hold music)
	// have odd harmonics only and, band-limited to 4 kHz, put nearly 90 %
	// of their energy into the fundamental, so neither the second
	// harmonic nor the energy share tells a dyad of them on keypad
	// frequencies from a key; their third does, and the row's (2091-2823
	// Hz) lies clear of every keypad frequency.
	rowThird = 31.62 // 10^(15/10)
)

// The keypad: rows by low frequency, columns by high.
var (
	rowFreqs = [4]float64{697, 770, 852, 941}
	colFreqs = [4]float64{1209, 1336, 1477, 1633}
	keypad   = [4][4]rune{
		{'1', '2', '3', 'A'},
		{'4', '5', '6', 'B'},
		{'7', '8', '9', 'C'},
		{'*', '0', '#', 'D'},
	}
)

// Goertzel coefficients 2cos(2πf/8000) of the eight keypad
// frequencies, and of the harmonics checked, the columns' second and
// the rows' third, each as three bins 2.5 % apart, because a sound a
// little off a keypad frequency has its harmonics two or three times as
// far off.
var (
	toneCoef [8]float32
	col2Coef [4][3]float32
	row3Coef [4][3]float32
)

// minTonePower is the Goertzel power of a sine at minToneLevel filling
// a block: (A·N/2)².
const minTonePower = float32(minToneLevel * toneBlock / 2 * minToneLevel * toneBlock / 2)

func coef(f float64) float32 { return float32(2 * math.Cos(2*math.Pi*f/PromptRate)) }

func init() {
	spread := [3]float64{0.975, 1, 1.025}
	for i, f := range rowFreqs {
		toneCoef[i] = coef(f)
		for j, k := range spread {
			row3Coef[i][j] = coef(3 * f * k)
		}
	}
	for i, f := range colFreqs {
		toneCoef[4+i] = coef(f)
		for j, k := range spread {
			col2Coef[i][j] = coef(2 * f * k)
		}
	}
}

// ToneDetector finds DTMF key presses in the linear audio of one
// stream at 8 kHz: both a row and a column tone above the level
// threshold, each dominant in its group, within the twist limits,
// holding nearly all of the energy and without harmonics, for
// about 40 ms; then one key per press. The zero value is ready. It
// allocates nothing and is not safe for concurrent use.
type ToneDetector struct {
	buf  [toneBlock]float32
	n    int  // samples in buf
	cand rune // key of the last blocks, 0 for none
	hits int  // consecutive blocks holding cand
	key  rune // key reported and not yet released, 0 for none
	miss int  // consecutive blocks without key
}

// Feed takes the next samples of the stream and reports the key whose
// press was recognised in them. Give it one packet at a time (up to
// 60 ms): a press takes longer than that to be recognised and end, so
// no packet completes two.
func (d *ToneDetector) Feed(pcm []int16) (rune, bool) {
	var (
		found rune
		ok    bool
	)
	for len(pcm) > 0 {
		n := copy16(d.buf[d.n:], pcm)
		d.n += n
		pcm = pcm[n:]
		if d.n < toneBlock {
			break
		}
		d.n = 0
		if k, hit := d.block(classify(&d.buf)); hit && !ok {
			found, ok = k, true
		}
	}
	return found, ok
}

// Reset forgets the stream so far, as at a new stream.
func (d *ToneDetector) Reset() { *d = ToneDetector{} }

// copy16 copies samples into the float block buffer.
func copy16(dst []float32, src []int16) int {
	n := min(len(dst), len(src))
	for i := range n {
		dst[i] = float32(src[i])
	}
	return n
}

// block advances the press state by one block's key (0 for none) and
// reports a press when it is recognised.
func (d *ToneDetector) block(k rune) (rune, bool) {
	if k != 0 && k == d.cand {
		d.hits++
	} else {
		d.cand, d.hits = k, 0
		if k != 0 {
			d.hits = 1
		}
	}
	if d.key != 0 {
		if k == d.key {
			d.miss = 0
			return 0, false
		}
		if d.miss++; d.miss < toneGap {
			return 0, false
		}
		d.key, d.miss = 0, 0
	}
	if d.cand != 0 && d.hits >= toneHits {
		d.key = d.cand
		return d.key, true
	}
	return 0, false
}

// classify returns the key whose tones one block holds, or 0.
func classify(b *[toneBlock]float32) rune {
	var energy float32
	for _, x := range b {
		energy += x * x
	}
	// Two tones at the threshold hold at least this much energy.
	if energy < 2*minTonePower/(toneBlock/2) {
		return 0
	}
	var p [8]float32
	goertzel8(b, &toneCoef, &p)
	r, rowOK := dominant(p[:4])
	c, colOK := dominant(p[4:])
	pr, pc := p[r], p[4+c]
	switch {
	case !rowOK || !colOK:
		return 0
	case pr < minTonePower || pc < minTonePower:
		return 0
	case pr > pc*normalTwist || pc > pr*reverseTwist:
		return 0
	case pr+pc < minFill*energy*toneBlock/2:
		return 0
	}
	if strongest(b, &col2Coef[c])*colHarmonic > pc || strongest(b, &row3Coef[r])*rowThird > pr {
		return 0
	}
	return keypad[r][c]
}

// dominant returns the index of the strongest of a group's four
// powers, ok when every other is relativePeak below it.
func dominant(p []float32) (int, bool) {
	best := 0
	for i := 1; i < len(p); i++ {
		if p[i] > p[best] {
			best = i
		}
	}
	for i := range p {
		if i != best && p[i]*relativePeak > p[best] {
			return best, false
		}
	}
	return best, true
}

// goertzel8 computes the power at the eight keypad frequencies: two
// passes over the block of four filters each, whose states stay in
// registers. Each step is written c·s1 + (x − s2) so that only a
// multiply and an add wait for the previous step.
func goertzel8(b *[toneBlock]float32, coef *[8]float32, out *[8]float32) {
	goertzel4(b, (*[4]float32)(coef[:4]), (*[4]float32)(out[:4]))
	goertzel4(b, (*[4]float32)(coef[4:]), (*[4]float32)(out[4:]))
}

func goertzel4(b *[toneBlock]float32, coef *[4]float32, out *[4]float32) {
	c0, c1, c2, c3 := coef[0], coef[1], coef[2], coef[3]
	var a1, a2, b1, b2, d1, d2, e1, e2 float32
	for _, x := range b {
		a1, a2 = c0*a1+(x-a2), a1
		b1, b2 = c1*b1+(x-b2), b1
		d1, d2 = c2*d1+(x-d2), d1
		e1, e2 = c3*e1+(x-e2), e1
	}
	out[0] = a1*a1 + a2*a2 - c0*a1*a2
	out[1] = b1*b1 + b2*b2 - c1*b1*b2
	out[2] = d1*d1 + d2*d2 - c2*d1*d2
	out[3] = e1*e1 + e2*e2 - c3*e1*e2
}

// strongest returns the highest power over the block at three
// frequencies.
func strongest(b *[toneBlock]float32, coef *[3]float32) float32 {
	return max(goertzel(b, coef[0]), goertzel(b, coef[1]), goertzel(b, coef[2]))
}

// goertzel computes the power at one frequency over the block.
func goertzel(b *[toneBlock]float32, coef float32) float32 {
	var s1, s2 float32
	for _, x := range b {
		s1, s2 = coef*s1+(x-s2), s1
	}
	return s1*s1 + s2*s2 - coef*s1*s2
}
