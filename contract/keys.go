package contract

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// The states of a client's master key on a certificate.
const (
	KeyDestroyed = "destroyed"
	KeyKept      = "kept"
)

// destroyKeys destroys the client's own master keys that no recording
// still needs — none of the catalog's rows (held recordings, ones not
// returned, strays) has its data key wrapped with them — and keeps the
// others, saying why. A destroyed key's file is overwritten and marked
// (crypt.DestroyKeyFile) and the keyring forgets it: every copy of what
// it wrapped, in backups of the catalog or copies of the bucket, can no
// longer be opened. Each destruction is audited with the key's
// fingerprint; a key destroyed by an interrupted run is reported as
// destroyed again.
func (s *Service) destroyKeys(ctx context.Context, actor string, run *catalog.ContractEnd, c Client) ([]Key, error) {
	if s.o.KeyFiles == nil {
		return []Key{}, nil
	}
	files := s.o.KeyFiles(c.ID)
	out := []Key{}
	destroyed := 0
	for _, id := range slices.Sorted(maps.Keys(files)) {
		path := files[id]
		n, err := s.o.Catalog.KeyUse(ctx, id)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out = append(out, Key{ID: id, State: KeyKept,
				Why: fmt.Sprintf("the data keys of %d recordings still in the catalog (held, not returned, or stored after the run began) are wrapped with it; a later run destroys it", n)})
			continue
		}
		fp, ferr := s.o.Keys.Fingerprint(id)
		if _, err := crypt.LoadKeyFile(path); errors.Is(err, crypt.ErrKeyDestroyed) {
			out = append(out, Key{ID: id, State: KeyDestroyed, Why: "destroyed by an earlier attempt of this run"})
			destroyed++
			continue
		}
		if ferr != nil {
			return nil, fmt.Errorf("client %s key %s: %w", c.ID, id, ferr)
		}
		note := fmt.Sprintf("contract end %s of client %s, %s, fingerprint %s", run.ID, c.ID, s.o.Now().UTC().Format(time.RFC3339), fp)
		if err := crypt.DestroyKeyFile(path, note); err != nil {
			return nil, err
		}
		if err := s.auditTx(ctx, actor, audit.ActionContractEndKeyDestroy, run.ID, map[string]any{"client": c.ID, "key_id": id, "fingerprint": fp}); err != nil {
			return nil, err
		}
		s.o.Log.Warn("client master key destroyed", zap.String("run", run.ID), zap.String("client", c.ID),
			zap.String("key_id", id), zap.String("file", path), zap.String("fingerprint", fp))
		out = append(out, Key{ID: id, Fingerprint: fp, State: KeyDestroyed})
		destroyed++
		// Out of this process's memory too, not only off the disk.
		s.o.Keys.ForgetKey(id)
	}
	if destroyed > 0 && destroyed == len(files) {
		s.o.Keys.Forget(c.ID)
	}
	return out, nil
}
