package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Checkpoint is a signed statement of the chain head at a time. Written to
// the store beside the recordings, it lets an auditor detect a database
// rewritten from scratch: the rewritten chain cannot reproduce a signed
// head it does not know the key of.
type Checkpoint struct {
	Seq  int64     `json:"seq"`
	Hash string    `json:"hash"`
	At   time.Time `json:"at"`
	MAC  string    `json:"mac"` // HMAC-SHA256 over seq, hash and time
}

func (c *Checkpoint) mac(key []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%d|%s|%d", c.Seq, c.Hash, c.At.UnixMicro())
	return hex.EncodeToString(m.Sum(nil))
}

// NewCheckpoint signs the current head with key.
func NewCheckpoint(ctx context.Context, q Querier, key []byte, at time.Time) (*Checkpoint, error) {
	seq, hash, err := Head(ctx, q)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{Seq: seq, Hash: hash, At: time.UnixMicro(at.UnixMicro()).UTC()}
	c.MAC = c.mac(key)
	return c, nil
}

// ErrCheckpoint is wrapped by CheckCheckpoint's failures.
var ErrCheckpoint = errors.New("audit checkpoint does not match")

// ErrCheckpointKey is wrapped too when the signature is not this key's:
// the checkpoint says nothing of the database then.
var ErrCheckpointKey = errors.New("signed with another key")

// CheckCheckpoint verifies c's signature and that the database still holds
// entry c.Seq with hash c.Hash.
func CheckCheckpoint(ctx context.Context, q Querier, key []byte, c *Checkpoint) error {
	if !hmac.Equal([]byte(c.mac(key)), []byte(c.MAC)) {
		return fmt.Errorf("%w: signature invalid (%w)", ErrCheckpoint, ErrCheckpointKey)
	}
	if c.Seq == 0 {
		return nil
	}
	var hash string
	if err := q.QueryRowContext(ctx, `SELECT hash FROM audit WHERE seq = ?`, c.Seq).Scan(&hash); err != nil {
		return fmt.Errorf("%w: entry %d: %v", ErrCheckpoint, c.Seq, err)
	}
	if hash != c.Hash {
		return fmt.Errorf("%w: entry %d has another hash than the signed one", ErrCheckpoint, c.Seq)
	}
	return nil
}

// CheckpointPrefix is where checkpoints are kept in the store, one object
// per signed head, named so that key order is seq order.
const CheckpointPrefix = "audit/checkpoints/"

// CheckpointKey is the store key of the checkpoint of seq.
func CheckpointKey(seq int64) string { return fmt.Sprintf("%s%020d.json", CheckpointPrefix, seq) }

// ParseCheckpoint reads a checkpoint's stored form.
func ParseCheckpoint(b []byte) (*Checkpoint, error) {
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	return &c, nil
}

// Marshal is the checkpoint's stored form.
func (c *Checkpoint) Marshal() []byte {
	b, _ := json.MarshalIndent(c, "", "  ")
	return b
}
