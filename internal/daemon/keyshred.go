package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// keyShredEvery is how often a node looks for client keys a contract end
// destroyed on another node.
const keyShredEvery = time.Minute

// shredCopies destroys this node's copies of the client master keys that
// a contract end destroyed (on any node sharing the catalog, as its audit
// entries say) after seq after: a key this keyring holds under that id
// and with that fingerprint has its file overwritten and marked, is
// forgotten, and the act is audited as the copy's destruction. Nodes of
// a cluster each hold a copy of a client's key file: destroying one
// would leave the others able to open every backup of the bucket. It
// returns the last seq it looked at.
func (d *Daemon) shredCopies(ctx context.Context, after int64) (int64, error) {
	host, _ := os.Hostname()
	for {
		es, err := audit.List(ctx, d.catalog.DB(), audit.Filter{Action: string(audit.ActionContractEndKeyDestroy), AfterSeq: after, Limit: 500})
		if err != nil {
			return after, fmt.Errorf("contract-end key destructions: %w", err)
		}
		for _, e := range es {
			after = e.Seq
			var det struct {
				Client      string `json:"client"`
				KeyID       string `json:"key_id"`
				Fingerprint string `json:"fingerprint"`
				CopyOf      int64  `json:"copy_of"`
			}
			if json.Unmarshal([]byte(e.Detail), &det) != nil || det.KeyID == "" || det.CopyOf != 0 {
				continue // another node's copy destroyed: the original entry is what counts
			}
			fp, err := d.keys.Fingerprint(det.KeyID)
			if err != nil || fp != det.Fingerprint {
				continue // not held here, or another key under the same id
			}
			path := ""
			if cl, ok := d.currentConfig().Client(det.Client); ok {
				for _, k := range cl.Encryption.Keys {
					if k.ID == det.KeyID {
						path = k.File
					}
				}
			}
			log := d.log.With(zap.String("client", det.Client), zap.String("key_id", det.KeyID), zap.String("run", e.Target))
			if path != "" {
				note := fmt.Sprintf("copy destroyed after contract end %s of client %s (audit seq %d), %s, fingerprint %s",
					e.Target, det.Client, e.Seq, time.Now().UTC().Format(time.RFC3339), fp)
				if err := crypt.DestroyKeyFile(path, note); err != nil {
					// Forgotten all the same: this process no longer
					// opens what it wrapped; the file is retried at the
					// next start.
					log.Error("client key destroyed by a contract end elsewhere: this node's copy of its file not destroyed", zap.String("file", path), zap.Error(err))
				}
			}
			d.keys.ForgetKey(det.KeyID)
			if _, err := audit.Append(ctx, d.catalog.DB(), audit.Entry{Actor: "kirokud", Action: audit.ActionContractEndKeyDestroy, Target: e.Target,
				Reason: "this node's copy of a key a contract end destroyed", Detail: mustJSON(map[string]any{"client": det.Client, "key_id": det.KeyID,
					"fingerprint": fp, "copy_of": e.Seq, "node": host, "file": path != ""})}); err != nil {
				return after, err
			}
			log.Warn("this node's copy of a client master key destroyed: a contract end destroyed the key", zap.String("file", path))
		}
		if len(es) < 500 {
			return after, nil
		}
	}
}

// followKeyShreds runs shredCopies every keyShredEvery from seq after.
func (d *Daemon) followKeyShreds(ctx context.Context, after int64) {
	t := time.NewTicker(keyShredEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			next, err := d.shredCopies(ctx, after)
			if err != nil && ctx.Err() == nil {
				d.log.Warn("contract-end key destructions not checked", zap.Error(err))
			}
			after = next
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
