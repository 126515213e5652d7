package loadgen

import "testing"

func TestSeqTracker(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		seqs                 []uint16
		received, lost, late uint64
		gaps                 uint64
		expected             uint64
	}{
		{"in order", []uint16{1, 2, 3, 4}, 4, 0, 0, 0, 4},
		{"one lost", []uint16{1, 2, 4, 5}, 4, 1, 0, 1, 5},
		{"a burst lost", []uint16{10, 11, 15, 16}, 4, 3, 0, 1, 7},
		{"two bursts", []uint16{1, 3, 4, 7}, 4, 3, 0, 2, 7},
		{"reordered, nothing lost", []uint16{1, 3, 2, 4}, 4, 0, 1, 1, 4},
		{"duplicate", []uint16{1, 2, 2, 3}, 4, 0, 1, 0, 3},
		{"across the wrap", []uint16{65534, 65535, 0, 1}, 4, 0, 0, 0, 4},
		{"lost across the wrap", []uint16{65534, 0, 1}, 3, 1, 0, 1, 4},
		{"straggler before the first", []uint16{5, 6, 4, 7}, 4, 0, 1, 0, 4},
		{"straggler across the wrap", []uint16{0, 1, 65535, 2}, 4, 0, 1, 0, 4},
		{"nothing", nil, 0, 0, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tr seqTracker
			for _, s := range tc.seqs {
				tr.add(s)
			}
			if tr.received != tc.received || tr.lost() != tc.lost || tr.late != tc.late || tr.gaps != tc.gaps || tr.expected() != tc.expected {
				t.Errorf("got received %d lost %d late %d gaps %d expected %d, want %d %d %d %d %d",
					tr.received, tr.lost(), tr.late, tr.gaps, tr.expected(), tc.received, tc.lost, tc.late, tc.gaps, tc.expected)
			}
		})
	}
}

// TestSeqTrackerLongStream: a stream longer than the sequence space, with
// every 100th packet lost, is counted exactly.
func TestSeqTrackerLongStream(t *testing.T) {
	var tr seqTracker
	seq := uint16(60000)
	var lost uint64
	for i := range 200000 {
		if i%100 == 50 {
			lost++
		} else {
			tr.add(seq)
		}
		seq++
	}
	if tr.lost() != lost || tr.expected() != 200000 {
		t.Errorf("got lost %d of %d expected, want %d of 200000", tr.lost(), tr.expected(), lost)
	}
}

// TestSeqTrackerMissing: what add reports missing adds up to what is lost.
func TestSeqTrackerMissing(t *testing.T) {
	var tr seqTracker
	var missing uint64
	for _, s := range []uint16{65530, 65531, 65534, 2, 3, 9} {
		missing += tr.add(s)
	}
	if missing != tr.lost() || missing != 10 {
		t.Errorf("got %d reported missing and %d lost, want 10 both", missing, tr.lost())
	}
}
