package rights

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/csvsafe"
)

// PseudonymKey is a keyed-hash key, named so it can rotate.
type PseudonymKey struct {
	ID  string
	Key []byte
}

// Removed states what a pseudonymised export leaves out or replaces.
var Removed = []string{
	"caller number: replaced by HMAC-SHA256 under the named key (same caller, same value, for one key)",
	"recording id: replaced by HMAC-SHA256 under the named key, so rows cannot be joined to the catalog",
	"audio: not exported",
	"SIP Call-ID, client address, agent (downstream URI and agent id), customer reference: removed",
	"consent evidence detail, object keys, checksums, data keys, manifests: removed",
}

// Row is one call in a pseudonymised export.
type Row struct {
	Record    string    `json:"record"`
	Caller    string    `json:"caller"`
	StartedAt time.Time `json:"started_at"`
	DurationS float64   `json:"duration_s"`
	Line      string    `json:"line"`
	Purpose   string    `json:"purpose"`
	Decision  string    `json:"consent_decision"`
	State     string    `json:"state"`
	CutShort  bool      `json:"cut_short"`
}

// Pseudonym is the keyed hash of v under k, prefixed by the key's id.
func Pseudonym(k PseudonymKey, v string) string {
	m := hmac.New(sha256.New, k.Key)
	m.Write([]byte(v))
	return k.ID + ":" + hex.EncodeToString(m.Sum(nil))
}

// Pseudonymise streams the metadata of calls started in [from, to) (zero:
// unbounded) to w as "csv" or "json", with the caller number replaced by
// its keyed hash, no audio, and the statement of removed items (JSON: a
// field; CSV: leading "#" lines). Without the key, a row cannot be tied
// back to a number or a recording. Restricted recordings are left out,
// and so is every recording allow refuses (the operator's read access:
// a purpose closed to its role is not exported even pseudonymised).
func (s *Service) Pseudonymise(ctx context.Context, w io.Writer, format string, k PseudonymKey, from, to time.Time, operator string, allow func(*catalog.Recording) (bool, string)) (int, error) {
	if len(k.Key) < 16 {
		return 0, fmt.Errorf("%w: pseudonym key %q is shorter than 16 bytes", ErrBadRequest, k.ID)
	}
	if format != "csv" && format != "json" {
		return 0, fmt.Errorf("%w: format %q is not csv or json", ErrBadRequest, format)
	}
	if err := s.auditTx(ctx, operator, audit.ActionPseudonymisedExport, "", map[string]any{"key": k.ID, "format": format, "from": from, "to": to}); err != nil {
		return 0, err
	}
	n := 0
	var cw *csvsafe.Writer
	switch format {
	case "csv":
		cw = csvsafe.NewWriter(w)
		for _, r := range Removed {
			cw.Comment("removed: " + r)
		}
		cw.Comment("key:", k.ID)
		cw.Write([]string{"record", "caller", "started_at", "duration_s", "line", "purpose", "consent_decision", "state", "cut_short"})
	case "json":
		head, _ := json.Marshal(Removed)
		fmt.Fprintf(w, "{\"key\":%q,\"removed\":%s,\"calls\":[", k.ID, head)
	}
	err := s.o.Catalog.Select(ctx, catalog.Filter{From: from, To: to}, func(b []*catalog.Recording) error {
		for _, rec := range b {
			if rec.State != catalog.StateStored || rec.Client != "" {
				// A client's recordings are used only within its
				// contract: they are not processed further here.
				continue
			}
			if ok, _ := allow(rec); !ok {
				// Not even pseudonymised: what the operator could not
				// read (a purpose closed to its role) is not exported.
				continue
			}
			row := Row{Record: Pseudonym(k, "id:"+rec.ID), Caller: Pseudonym(k, rec.Caller), StartedAt: rec.StartedAt,
				DurationS: rec.Duration.Seconds(), Line: rec.Line, Purpose: rec.Purpose, Decision: rec.Decision,
				State: rec.State, CutShort: rec.CutShort}
			if cw != nil {
				cw.Write([]string{row.Record, row.Caller, row.StartedAt.Format(time.RFC3339), strconv.FormatFloat(row.DurationS, 'f', 3, 64),
					row.Line, row.Purpose, row.Decision, row.State, strconv.FormatBool(row.CutShort)})
			} else {
				b, err := json.Marshal(row)
				if err != nil {
					return err
				}
				if n > 0 {
					io.WriteString(w, ",")
				}
				if _, err := w.Write(b); err != nil {
					return err
				}
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	if cw != nil {
		cw.Flush()
		return n, cw.Error()
	}
	_, err = io.WriteString(w, "]}\n")
	return n, err
}
