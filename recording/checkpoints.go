package recording

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/storage"
)

// CheckpointReport is what CheckCheckpoints found.
type CheckpointReport struct {
	Checked  int   // checkpoints read from the store
	Matched  int   // of those, signed with key and matching the log
	OtherKey int   // signed with another master key: they say nothing of this log
	Newest   int64 // the entry the newest matching checkpoint names (0: none)
	// Failures names each checkpoint the log does not match.
	Failures []string
}

// CheckCheckpoints holds the audit log in q to the signed checkpoints in
// st: all of them, or only the newest when newestOnly (the hourly check,
// which the newest covers since every older one is a prefix of it). The
// hash chain alone cannot tell a log rewritten whole, with every hash
// recomputed, from the true one; a checkpoint can, since its signature
// needs key, which the catalog does not hold. An error is a failure to
// read; a mismatch is in Failures.
func CheckCheckpoints(ctx context.Context, q audit.Querier, st storage.Store, key []byte, newestOnly bool) (CheckpointReport, error) {
	var rep CheckpointReport
	var names []string
	err := st.List(ctx, audit.CheckpointPrefix, func(o storage.Object) error {
		names = append(names, o.Key) // key order is seq order
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("list audit checkpoints: %w", err)
	}
	if newestOnly && len(names) > 1 {
		names = names[len(names)-1:]
	}
	for _, name := range names {
		cp, err := ReadCheckpoint(ctx, st, name)
		if err != nil {
			return rep, fmt.Errorf("audit checkpoint %s: %w", name, err)
		}
		rep.Checked++
		switch err := audit.CheckCheckpoint(ctx, q, key, cp); {
		case err == nil:
			rep.Matched++
			rep.Newest = max(rep.Newest, cp.Seq)
		case errors.Is(err, audit.ErrCheckpointKey):
			rep.OtherKey++
		default:
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s: %v", name, err))
		}
	}
	return rep, nil
}

// ReadCheckpoint reads and parses the checkpoint object key of st.
func ReadCheckpoint(ctx context.Context, st storage.Store, key string) (*audit.Checkpoint, error) {
	r, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 1<<16))
	if err != nil {
		return nil, err
	}
	return audit.ParseCheckpoint(b)
}
