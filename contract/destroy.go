package contract

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
)

// destroyBatch is how many recordings one destruction transaction takes.
const destroyBatch = 200

// destroy destroys the recordings of run verified as returned and not
// under legal hold, a batch at a time, through the recording.Destroyer:
// in one transaction per batch each row (with its wrapped data key and
// caller number) becomes a tombstone, with an audit entry —
// crypto-shredding every copy of the audio — and its item is marked
// shredded; then the audio and manifest objects are deleted and the item
// marked destroyed. Only verified items are touched, so nothing
// unreturned is ever destroyed; held ones are kept and listed. Items
// shredded by an interrupted run get their objects deleted now.
func (s *Service) destroy(ctx context.Context, actor string, run *catalog.ContractEnd, l *catalog.Lock) error {
	db := s.o.Catalog.DB()
	for {
		if err := l.Check(ctx); err != nil {
			return err
		}
		batch, err := catalog.ContractEndItems(ctx, db, run.ID, "", destroyBatch, catalog.ItemVerified)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		if err := s.shred(ctx, actor, run, batch); err != nil {
			return err
		}
	}
	var left []*catalog.ContractEndItem
	err := catalog.EachContractEndItem(ctx, db, run.ID, func(it *catalog.ContractEndItem) error {
		left = append(left, it)
		return nil
	}, catalog.ItemShredded)
	if err != nil {
		return err
	}
	for len(left) > 0 {
		chunk := left[:min(len(left), destroyBatch)]
		left = left[len(chunk):]
		recs := make([]*catalog.Recording, len(chunk))
		for i, it := range chunk {
			recs[i] = &catalog.Recording{ID: it.Recording, ObjectKey: it.ObjectKey, ManifestKey: it.ManifestKey}
		}
		if err := s.destroyed(ctx, chunk, s.destroyer.DeleteObjects(ctx, recs)); err != nil {
			return err
		}
	}
	return nil
}

// shred destroys the recordings of batch (or marks them held or gone):
// each item is marked shredded in the transaction that replaces its row
// by a tombstone, then destroyed once its objects are deleted.
func (s *Service) shred(ctx context.Context, actor string, run *catalog.ContractEnd, batch []*catalog.ContractEndItem) error {
	now := s.o.Now().UTC()
	items := map[string]*catalog.ContractEndItem{}
	recs := make([]*catalog.Recording, len(batch))
	for i, it := range batch {
		items[it.Recording] = it
		recs[i] = &catalog.Recording{ID: it.Recording}
	}
	var shredded []*catalog.ContractEndItem
	out, err := s.destroyer.Destroy(ctx, recs, recording.Destruction{
		At: now, Reason: "contract end " + run.ID, Actor: actor,
		Entry: func(rec *catalog.Recording) audit.Entry {
			d, _ := json.Marshal(map[string]any{"run": run.ID, "client": rec.Client, "object_key": rec.ObjectKey})
			return audit.Entry{At: now, Actor: actor, Action: audit.ActionContractEndDestroy, Target: rec.ID,
				Reason: "contract with client " + rec.Client + " ended; returned and verified", Detail: string(d)}
		},
		Each: func(ctx context.Context, tx *sql.Tx, ap *audit.Appender, id string, rec *catalog.Recording, err error) error {
			it := items[id]
			from := it.State
			switch {
			case errors.Is(err, catalog.ErrNotFound):
				it.State, it.Error = catalog.ItemGone, "deleted by another path after it was returned"
			case errors.Is(err, catalog.ErrHeld):
				// Legal hold wins: returned, verified, and kept.
				it.State, it.Held, it.HoldReason = catalog.ItemHeld, true, rec.HoldReason
				d, _ := json.Marshal(map[string]any{"run": run.ID})
				if _, err := ap.Append(ctx, audit.Entry{At: now, Actor: actor, Action: audit.ActionContractEndHeld, Target: rec.ID,
					Reason: "under legal hold: returned but not destroyed", Detail: string(d)}); err != nil {
					return err
				}
			default:
				it.State, it.DestroyedAt = catalog.ItemShredded, &now
				shredded = append(shredded, it)
			}
			// Compare-and-set: a batch another writer moved on meanwhile
			// is rolled back whole, tombstones included.
			return catalog.SwapContractEndItem(ctx, tx, it, from)
		},
	})
	if err != nil {
		return err
	}
	return s.destroyed(ctx, shredded, out.Undeleted)
}

// destroyed marks the shredded items whose objects are deleted as
// destroyed. A store that kept some objects leaves their items shredded
// (their data unreadable all the same) and stops the run, to be retried.
func (s *Service) destroyed(ctx context.Context, items []*catalog.ContractEndItem, undeleted []recording.Undeleted) error {
	kept := map[string][]error{}
	for _, u := range undeleted {
		kept[u.ID] = append(kept[u.ID], fmt.Errorf("delete %s: %w", u.Key, u.Err))
	}
	var errs []error
	for _, it := range items {
		if e := kept[it.Recording]; len(e) > 0 {
			err := errors.Join(e...)
			s.o.Log.Warn("objects of a destroyed recording not deleted; retried when the run resumes", zap.String("id", it.Recording), zap.Error(err))
			errs = append(errs, fmt.Errorf("contract end %s: recording %s shredded, objects kept by the store: %w", it.Run, it.Recording, err))
			continue
		}
		it.State = catalog.ItemDestroyed
		if err := s.putItem(ctx, it, catalog.ItemShredded); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// strayList is how many recordings outside a run certify names.
const strayList = 20

// certify writes the certificate of run once nothing of it is left to
// return or delete: the certificate names the audit entry that certifies
// it (its own SHA-256 is in that entry), so the audit range it gives
// covers the whole run. It refuses (ErrBlocked) while the catalog holds
// recordings of the client that are not in the run — stored after its
// item list was made, by a node whose configuration still names a line
// of the client or whose spool still held its calls — since the
// certificate would say all was returned and destroyed; running again
// adds them. It refuses a run that is finished already.
func (s *Service) certify(ctx context.Context, actor string, run *catalog.ContractEnd, c Client, l *catalog.Lock) (*Certificate, error) {
	if err := l.Check(ctx); err != nil {
		return nil, err
	}
	cert, err := s.certificate(ctx, run, c)
	if err != nil {
		return nil, err
	}
	if n := cert.Counts.Pending; n > 0 {
		return nil, fmt.Errorf("contract end %s: %d recordings not yet returned or deleted", run.ID, n)
	}
	if cert.Keys, err = s.destroyKeys(ctx, actor, run, c); err != nil {
		return nil, err
	}
	err = s.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := catalog.GetContractEnd(ctx, tx, run.ID)
		if err != nil {
			return err
		}
		if cur.FinishedAt != nil {
			return fmt.Errorf("contract end %s: %w at %s", run.ID, catalog.ErrRunFinished, cur.FinishedAt.Format(time.RFC3339))
		}
		strays, err := catalog.ContractEndStrays(ctx, tx, run.ID, c.ID, strayList+1)
		if err != nil {
			return err
		}
		if len(strays) > 0 {
			more := ""
			if len(strays) > strayList {
				strays, more = strays[:strayList], " and more"
			}
			return fmt.Errorf("%w: contract end %s not certified: recordings of client %s were stored after the run listed its items and are not in it: %s%s; make sure no node's configuration names a line of the client and no spool holds its calls, then run again to return them",
				ErrBlocked, run.ID, c.ID, strings.Join(strays, ", "), more)
		}
		head, _, err := audit.Head(ctx, tx)
		if err != nil {
			return err
		}
		now := s.o.Now().UTC()
		cert.FinishedAt, cert.Audit.LastSeq = now, head+1
		if !slices.Contains(cert.Operators, actor) {
			cert.Operators = append(cert.Operators, actor)
		}
		b, err := json.Marshal(cert)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		e, err := s.audit(ctx, tx, actor, audit.ActionContractEndCertify, run.ID, map[string]any{"client": c.ID,
			"certificate_sha256": hex.EncodeToString(sum[:]), "returned": cert.Counts.Returned,
			"destroyed": cert.Counts.Destroyed, "held": cert.Counts.Held, "not_returned": cert.Counts.NotReturned})
		if err != nil {
			return err
		}
		if e.Seq != cert.Audit.LastSeq {
			return fmt.Errorf("contract end %s: certify entry got seq %d, want %d", run.ID, e.Seq, cert.Audit.LastSeq)
		}
		run.State, run.FinishedAt, run.LastSeq, run.Certificate, run.Operators = StateDone, &now, e.Seq, b, cert.Operators
		return catalog.PutContractEnd(ctx, tx, run)
	})
	if err != nil {
		return nil, err
	}
	s.o.Log.Info("contract end certified", zap.String("run", run.ID), zap.String("client", c.ID),
		zap.Int("returned", cert.Counts.Returned), zap.Int("destroyed", cert.Counts.Destroyed), zap.Int("held", cert.Counts.Held))
	return cert, nil
}

// putReport writes SHA256SUMS and the certificate (JSON and text) beside
// the returned files.
func (s *Service) putReport(ctx context.Context, dst storage.Store, t Target, cert *Certificate) error {
	var sums strings.Builder
	for _, r := range cert.Returned {
		if r.AudioFile != "" {
			fmt.Fprintf(&sums, "%s  %s\n", r.AudioSHA256, r.AudioFile)
		}
		fmt.Fprintf(&sums, "%s  %s\n", r.ManifestSHA256, r.ManifestFile)
	}
	b, _ := json.MarshalIndent(cert, "", "  ")
	for _, f := range []struct {
		name, ctype string
		body        []byte
	}{{"SHA256SUMS", "text/plain; charset=utf-8", []byte(sums.String())}, {"certificate.json", "application/json", append(b, '\n')},
		{"certificate.txt", "text/plain; charset=utf-8", []byte(cert.Text())}} {
		sum := sha256.Sum256(f.body)
		if _, err := dst.Put(ctx, targetKey(t, f.name), strings.NewReader(string(f.body)), int64(len(f.body)),
			storage.PutOptions{ContentType: f.ctype, SHA256: hex.EncodeToString(sum[:])}); err != nil {
			return fmt.Errorf("contract end %s: certified, but %s not written to the target: %w", cert.Run, f.name, err)
		}
	}
	return nil
}
