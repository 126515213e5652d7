package contract

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
)

// Certificate is the record of a contract end: what was returned (with
// the checksums of every file), what was destroyed and how, what was kept
// under legal hold, what could not be returned, who ran it, and the audit
// entries covering it (from the one that started the run to the one that
// certified it, which holds this certificate's SHA-256).
type Certificate struct {
	Title       string        `json:"title"`
	Run         string        `json:"run"`
	Client      ClientRef     `json:"client"`
	Target      Target        `json:"target"`
	Operators   []string      `json:"operators"` // who started and resumed it, in order
	StartedAt   time.Time     `json:"started_at"`
	FinishedAt  time.Time     `json:"finished_at"`
	Counts      Counts        `json:"counts"`
	First       *time.Time    `json:"first_recording_started_at,omitempty"`
	Last        *time.Time    `json:"last_recording_started_at,omitempty"`
	Method      string        `json:"destruction_method"`
	Returned    []Returned    `json:"returned"`
	Destroyed   []Destroyed   `json:"destroyed"`
	Held        []Held        `json:"held"`
	NotReturned []NotReturned `json:"not_returned"`
	// Keys are the client's own master keys and what became of them:
	// destroyed once no recording's data key is wrapped with them any
	// more, which makes every remaining copy of its recordings and
	// manifests unreadable; kept, with why, while one still is.
	Keys  []Key      `json:"master_keys"`
	Audit AuditRange `json:"audit"`
}

// Key is one of the client's own master keys on the certificate.
type Key struct {
	ID          string `json:"id"`
	Fingerprint string `json:"fingerprint,omitempty"` // crypt.Fingerprint, taken before destruction
	State       string `json:"state"`                 // destroyed or kept
	Why         string `json:"why,omitempty"`
}

// ClientRef names the client.
type ClientRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Counts are the certificate's figures; a plan's are the same when
// nothing changed between the two.
type Counts struct {
	Recordings  int `json:"recordings"`
	Returned    int `json:"returned"`
	Destroyed   int `json:"destroyed"`
	Held        int `json:"held"`
	NotReturned int `json:"not_returned"` // could not be exported or verified: kept
	Gone        int `json:"deleted_meanwhile"`
	Pending     int `json:"-"` // still to return or delete: a run with any is not certified
}

// Returned is one recording returned, with the checksums of its files as
// the copy was verified.
type Returned struct {
	ID             string    `json:"id"`
	StartedAt      time.Time `json:"started_at"`
	AudioFile      string    `json:"audio_file,omitempty"`
	AudioSHA256    string    `json:"audio_sha256,omitempty"`
	ManifestFile   string    `json:"manifest_file"`
	ManifestSHA256 string    `json:"manifest_sha256"`
	VerifiedAt     time.Time `json:"verified_at"`
}

// Destroyed is one recording destroyed.
type Destroyed struct {
	ID          string    `json:"id"`
	DestroyedAt time.Time `json:"destroyed_at"`
}

// Held is one recording returned but kept under legal hold.
type Held struct {
	ID     string `json:"id"`
	Reason string `json:"hold_reason"`
}

// NotReturned is one recording not returned: kept, or deleted meanwhile
// by another path (State "gone").
type NotReturned struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Why   string `json:"why"`
}

// AuditRange is the audit entries covering a run.
type AuditRange struct {
	FirstSeq int64 `json:"first_seq"`
	LastSeq  int64 `json:"last_seq"`
}

// destructionMethod says how destroyed recordings were destroyed.
const destructionMethod = "crypto-shredding: the catalog row holding the recording's wrapped data key and caller number was replaced by a tombstone, making every copy of its sealed audio and identity unreadable (backups of the bucket included); then its audio and manifest objects were deleted"

// certificate builds run's certificate from its items.
func (s *Service) certificate(ctx context.Context, run *catalog.ContractEnd, c Client) (*Certificate, error) {
	cert := &Certificate{Title: "Certificate of return and destruction of entrusted call recordings / 委託業務の通話録音の返却・消去証明書",
		Run: run.ID, Client: ClientRef{ID: c.ID, Name: c.Name}, Target: targetOf(run), Operators: run.Operators,
		StartedAt: run.StartedAt, Method: destructionMethod, Returned: []Returned{}, Destroyed: []Destroyed{}, Held: []Held{},
		NotReturned: []NotReturned{}, Keys: []Key{}, Audit: AuditRange{FirstSeq: run.FirstSeq}}
	err := catalog.EachContractEndItem(ctx, s.o.Catalog.DB(), run.ID, func(it *catalog.ContractEndItem) error {
		cert.Counts.Recordings++
		if cert.First == nil || it.StartedAt.Before(*cert.First) {
			t := it.StartedAt
			cert.First = &t
		}
		if cert.Last == nil || it.StartedAt.After(*cert.Last) {
			t := it.StartedAt
			cert.Last = &t
		}
		if it.VerifiedAt != nil {
			cert.Counts.Returned++
			cert.Returned = append(cert.Returned, Returned{ID: it.Recording, StartedAt: it.StartedAt, AudioFile: it.AudioFile,
				AudioSHA256: it.AudioSHA256, ManifestFile: it.ManifestFile, ManifestSHA256: it.ManifestSHA256, VerifiedAt: *it.VerifiedAt})
		}
		switch it.State {
		case catalog.ItemDestroyed:
			cert.Counts.Destroyed++
			cert.Destroyed = append(cert.Destroyed, Destroyed{ID: it.Recording, DestroyedAt: *it.DestroyedAt})
		case catalog.ItemHeld:
			cert.Counts.Held++
			cert.Held = append(cert.Held, Held{ID: it.Recording, Reason: it.HoldReason})
		case catalog.ItemFailed:
			cert.Counts.NotReturned++
			cert.NotReturned = append(cert.NotReturned, NotReturned{ID: it.Recording, State: it.State, Why: it.Error})
		case catalog.ItemGone:
			cert.Counts.Gone++
			cert.NotReturned = append(cert.NotReturned, NotReturned{ID: it.Recording, State: it.State, Why: it.Error})
		default:
			cert.Counts.Pending++
		}
		return nil
	})
	return cert, err
}

// Text is the certificate as a person reads it, in Japanese and English.
func (c *Certificate) Text() string {
	var b strings.Builder
	jst := time.FixedZone("JST", 9*3600)
	at := func(t time.Time) string { return t.In(jst).Format("2006-01-02 15:04:05 MST") }
	fmt.Fprintf(&b, "%s\n\n", c.Title)
	fmt.Fprintf(&b, "委託元 / Client: %s (%s)\n", c.Client.Name, c.Client.ID)
	fmt.Fprintf(&b, "実行番号 / Run: %s\n", c.Run)
	target := "ZIP"
	if c.Target.Kind == KindS3 {
		target = "s3://" + c.Target.Bucket + "/" + c.Target.Prefix
	}
	fmt.Fprintf(&b, "返却先 / Returned to: %s\n", target)
	fmt.Fprintf(&b, "実行者 / Run by: %s\n", strings.Join(c.Operators, ", "))
	fmt.Fprintf(&b, "開始 / Started: %s\n終了 / Finished: %s\n\n", at(c.StartedAt), at(c.FinishedAt))
	if c.First != nil {
		fmt.Fprintf(&b, "対象期間 / Recordings from %s to %s\n", at(*c.First), at(*c.Last))
	}
	n := c.Counts
	fmt.Fprintf(&b, "対象の録音 / Recordings: %d\n", n.Recordings)
	fmt.Fprintf(&b, "返却し検証済み / Returned and verified: %d\n", n.Returned)
	fmt.Fprintf(&b, "消去 / Destroyed: %d\n", n.Destroyed)
	fmt.Fprintf(&b, "法的保全のため保持 / Kept under legal hold: %d\n", n.Held)
	fmt.Fprintf(&b, "返却できず保持 / Not returned, kept: %d\n", n.NotReturned)
	fmt.Fprintf(&b, "期間中に他の理由で削除 / Deleted meanwhile by other means: %d\n\n", n.Gone)
	fmt.Fprintf(&b, "消去の方法 / Method: %s\n", c.Method)
	for _, k := range c.Keys {
		switch k.State {
		case KeyDestroyed:
			fmt.Fprintf(&b, "委託元専用の暗号鍵を消去 / Client master key destroyed: %s (fingerprint %s)\n", k.ID, k.Fingerprint)
		default:
			fmt.Fprintf(&b, "委託元専用の暗号鍵を保持 / Client master key kept: %s (%s)\n", k.ID, k.Why)
		}
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "監査ログ / Audit log entries: %d to %d\n", c.Audit.FirstSeq, c.Audit.LastSeq)
	for _, h := range c.Held {
		fmt.Fprintf(&b, "  保持 / held: %s (%s)\n", h.ID, h.Reason)
	}
	for _, r := range c.NotReturned {
		fmt.Fprintf(&b, "  未返却 / not returned: %s %s (%s)\n", r.ID, r.State, r.Why)
	}
	b.WriteString("\n返却したファイルのSHA-256 / SHA-256 of the returned files:\n")
	for _, r := range c.Returned {
		if r.AudioFile != "" {
			fmt.Fprintf(&b, "%s  %s\n", r.AudioSHA256, r.AudioFile)
		}
		fmt.Fprintf(&b, "%s  %s\n", r.ManifestSHA256, r.ManifestFile)
	}
	return b.String()
}
