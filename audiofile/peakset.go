package audiofile

import "math"

// peakset gathers a waveform from decoded stereo frames whose number is
// known only at the end (a FLAC stream may not say it, an Ogg one says
// it on its last page): the largest absolute sample of each fine block
// of a hundredth of a second, folded into the wanted buckets at the end.
type peakset struct {
	rate   int
	block  int   // frames a fine block
	frames int64 // frames added
	fine   [2][]float32
}

func newPeakset(rate int) *peakset {
	return &peakset{rate: rate, block: max(1, rate/100)}
}

// add takes one stereo frame.
func (p *peakset) add(l, r int16) {
	if p.frames%int64(p.block) == 0 {
		p.fine[0], p.fine[1] = append(p.fine[0], 0), append(p.fine[1], 0)
	}
	i := len(p.fine[0]) - 1
	for c, v := range [2]int16{l, r} {
		a := float32(math.Abs(float64(v))) / 32768
		if a > p.fine[c][i] {
			p.fine[c][i] = a
		}
	}
	p.frames++
}

// waveform folds the blocks of the first frames frames (all when
// frames < 0) into buckets (at most one a frame; past one a block, each
// bucket takes the block it lies in).
func (p *peakset) waveform(frames int64, buckets int) *Waveform {
	if frames < 0 || frames > p.frames {
		frames = p.frames
	}
	blocks := int((frames + int64(p.block) - 1) / int64(p.block))
	buckets = int(max(1, min(int64(buckets), frames)))
	w := &Waveform{Seconds: float64(frames) / float64(p.rate), Rate: p.rate, Channels: make([][]float64, 2)}
	for c := range w.Channels {
		w.Channels[c] = make([]float64, buckets)
		if blocks == 0 {
			continue
		}
		for i, v := range p.fine[c][:blocks] {
			b := i * buckets / blocks
			w.Channels[c][b] = max(w.Channels[c][b], math.Round(float64(v)*1000)/1000)
		}
		// More buckets than blocks: each bucket takes the block it lies in.
		for b := range w.Channels[c] {
			if i := b * blocks / buckets; buckets > blocks {
				w.Channels[c][b] = math.Round(float64(p.fine[c][i])*1000) / 1000
			}
		}
	}
	return w
}
