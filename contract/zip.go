package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/sumzip"
	"github.com/kiroku-voice/kiroku/recording"
)

// ZIPIndex is index.json of a returned ZIP.
type ZIPIndex struct {
	Run    string     `json:"run"`
	Client string     `json:"client"`
	Name   string     `json:"client_name"`
	Items  []ZIPEntry `json:"recordings"`
}

// ZIPEntry is one recording in a returned ZIP.
type ZIPEntry struct {
	ID             string `json:"id"`
	AudioFile      string `json:"audio_file,omitempty"`
	AudioSHA256    string `json:"audio_sha256,omitempty"`
	ManifestFile   string `json:"manifest_file"`
	ManifestSHA256 string `json:"manifest_sha256"`
}

// ReturnZIP streams to w a ZIP of every recording of c not yet verified
// as returned: recordings/<id>.wav or .flac (decrypted, as stored), manifests/<id>.json,
// index.json and SHA256SUMS. Nothing is destroyed: the run then waits
// for Confirm with the checksums the recipient computed from what it
// received. An unfinished run of c is resumed (its target must be zip).
// It returns the run; a run cut short (an error after the first byte)
// is resumed by calling ReturnZIP again. A run left with nothing to
// return (everything confirmed before an interruption) writes nothing:
// what was confirmed is destroyed and the run certified, and the
// certificate returned.
func (s *Service) ReturnZIP(ctx context.Context, actor string, c Client, w io.Writer) (*RunInfo, *Certificate, error) {
	t := Target{Kind: KindZIP}
	run, l, err := s.begin(ctx, actor, c, t)
	if err != nil {
		return nil, nil, err
	}
	defer l.Release()
	// What an interrupted confirmation verified is destroyed first.
	if err := s.destroy(ctx, actor, run, l); err != nil {
		return nil, nil, err
	}
	counts, err := catalog.ContractEndCounts(ctx, s.o.Catalog.DB(), run.ID)
	if err != nil {
		return nil, nil, err
	}
	if counts[catalog.ItemPending]+counts[catalog.ItemExported]+counts[catalog.ItemFailed] == 0 {
		cert, err := s.certify(ctx, actor, run, c, l)
		if err != nil {
			return nil, nil, err
		}
		info, err := s.info(ctx, run)
		return info, cert, err
	}
	info, err := s.streamZIP(ctx, actor, run, c, w, l)
	return info, nil, err
}

// streamZIP writes the ZIP of what run has left to return.
func (s *Service) streamZIP(ctx context.Context, actor string, run *catalog.ContractEnd, c Client, w io.Writer, l *catalog.Lock) (*RunInfo, error) {
	z := sumzip.New(w)
	index := ZIPIndex{Run: run.ID, Client: c.ID, Name: c.Name}
	err := catalog.EachContractEndItem(ctx, s.o.Catalog.DB(), run.ID, func(it *catalog.ContractEndItem) error {
		if err := l.Check(ctx); err != nil {
			return err
		}
		ok, err := s.zipItem(ctx, actor, run, c, z, it)
		if ok {
			index.Items = append(index.Items, ZIPEntry{ID: it.Recording, AudioFile: it.AudioFile, AudioSHA256: it.AudioSHA256,
				ManifestFile: it.ManifestFile, ManifestSHA256: it.ManifestSHA256})
		}
		return err
	}, catalog.ItemPending, catalog.ItemExported, catalog.ItemFailed)
	if err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(index, "", "  ")
	if _, err := z.File("index.json", bytes.NewReader(append(b, '\n'))); err != nil {
		return nil, err
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	if err := s.setState(ctx, run, StateAwaiting); err != nil {
		return nil, err
	}
	return s.info(ctx, run)
}

// zipItem writes one recording into z; ok says it is in the ZIP whole.
func (s *Service) zipItem(ctx context.Context, actor string, run *catalog.ContractEnd, c Client, z *sumzip.Writer, it *catalog.ContractEndItem) (bool, error) {
	rec, ok, err := s.current(ctx, it)
	if err != nil || !ok {
		return false, err
	}
	from := it.State
	it.AudioFile, it.AudioSHA256, it.ManifestFile = "", "", "manifests/"+rec.ID+".json"
	if rec.ObjectKey != "" {
		it.AudioFile = "recordings/" + recording.AudioFile(rec)
	}
	if err := s.auditTx(ctx, actor, audit.ActionContractEndExport, rec.ID, map[string]any{"run": run.ID, "target": Target{Kind: KindZIP},
		"files": []string{it.AudioFile, it.ManifestFile}}); err != nil {
		return false, err
	}
	if rec.ObjectKey != "" {
		rr, err := recording.OpenAudio(ctx, s.o.Store, s.o.Keys, rec)
		if err != nil {
			return false, s.zipFail(ctx, it, from, err)
		}
		fw, err := z.Create(it.AudioFile)
		if err != nil {
			return false, err
		}
		if err := rr.WriteRange(fw, 0, rr.Size()); err != nil {
			z.End()
			return false, s.zipFail(ctx, it, from, err)
		}
		it.AudioSHA256 = z.End()
		if rec.AudioSHA256 != "" && it.AudioSHA256 != rec.AudioSHA256 {
			return false, s.fail(ctx, it, from, fmt.Errorf("%w: decrypted audio has sha256 %s, recorded %s", errItem, it.AudioSHA256, rec.AudioSHA256))
		}
	}
	manifest, err := itemManifest(rec, c)
	if err != nil {
		return false, err
	}
	if it.ManifestSHA256, err = z.File(it.ManifestFile, bytes.NewReader(manifest)); err != nil {
		return false, err
	}
	it.State, it.Error = catalog.ItemExported, ""
	return true, s.putItem(ctx, it, from)
}

// zipFail records an item's own failure; any other error stops the ZIP.
func (s *Service) zipFail(ctx context.Context, it *catalog.ContractEndItem, from string, err error) error {
	if err := s.itemErr(err); errors.Is(err, errItem) {
		return s.fail(ctx, it, from, err)
	}
	return err
}

// Mismatch is a returned file whose recipient's checksum differs from
// the one sent, or which the recipient did not list.
type Mismatch struct {
	Recording string `json:"recording"`
	File      string `json:"file"`
	Sent      string `json:"sent_sha256"`
	Received  string `json:"received_sha256,omitempty"` // "" when not listed
}

// Confirmation is what a confirmation did.
type Confirmation struct {
	Verified    int          `json:"verified"`
	Mismatches  []Mismatch   `json:"mismatches,omitempty"`
	Certificate *Certificate `json:"certificate,omitempty"` // when the run is done
	Run         *RunInfo     `json:"run"`
}

// Confirm takes the checksums the recipient of run id's ZIP computed
// from the files it received (file name → hex SHA-256, as SHA256SUMS
// lists them). Every exported recording whose files all match is
// verified as returned; the verified ones not under legal hold are then
// destroyed. When no recording is left unreturned the run is certified;
// otherwise it stays open, and ReturnZIP streams what is left.
func (s *Service) Confirm(ctx context.Context, actor, id string, sums map[string]string, c Client) (*Confirmation, error) {
	if run, err := catalog.GetContractEnd(ctx, s.o.Catalog.DB(), id); err != nil {
		return nil, err
	} else if run.Client != c.ID {
		return nil, fmt.Errorf("%w: run %s is of client %s", ErrNotAwaiting, id, run.Client)
	}
	l, err := s.lock(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	// Read again under the lock: another node may have moved it on.
	run, err := catalog.GetContractEnd(ctx, s.o.Catalog.DB(), id)
	if err != nil {
		return nil, err
	}
	if run.TargetKind != KindZIP || run.State != StateAwaiting {
		return nil, fmt.Errorf("%w: run %s is a %s return in state %s", ErrNotAwaiting, id, run.TargetKind, run.State)
	}
	if run.Client != c.ID {
		return nil, fmt.Errorf("%w: run %s is of client %s", ErrNotAwaiting, id, run.Client)
	}
	out := &Confirmation{}
	err = catalog.EachContractEndItem(ctx, s.o.Catalog.DB(), run.ID, func(it *catalog.ContractEndItem) error {
		ok := true
		for _, f := range []struct{ file, sum string }{{it.AudioFile, it.AudioSHA256}, {it.ManifestFile, it.ManifestSHA256}} {
			if f.file == "" {
				continue
			}
			if got := strings.ToLower(sums[f.file]); got != f.sum {
				ok = false
				out.Mismatches = append(out.Mismatches, Mismatch{Recording: it.Recording, File: f.file, Sent: f.sum, Received: got})
			}
		}
		if !ok {
			return nil
		}
		if err := l.Check(ctx); err != nil {
			return err
		}
		out.Verified++
		return s.verified(ctx, actor, run, it, "checksums confirmed by the recipient")
	}, catalog.ItemExported)
	if err != nil {
		return nil, err
	}
	if err := s.auditTx(ctx, actor, audit.ActionContractEndConfirm, run.ID, map[string]any{"verified": out.Verified, "mismatches": len(out.Mismatches)}); err != nil {
		return nil, err
	}
	if err := s.destroy(ctx, actor, run, l); err != nil {
		return nil, err
	}
	counts, err := catalog.ContractEndCounts(ctx, s.o.Catalog.DB(), run.ID)
	if err != nil {
		return nil, err
	}
	if counts[catalog.ItemPending]+counts[catalog.ItemExported] == 0 {
		if out.Certificate, err = s.certify(ctx, actor, run, c, l); err != nil {
			return nil, err
		}
	} else if err := s.setState(ctx, run, StateRunning); err != nil {
		return nil, err
	}
	out.Run, err = s.info(ctx, run)
	return out, err
}
