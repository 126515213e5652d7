package rights

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/sumzip"
	"github.com/kiroku-voice/kiroku/recording"
)

// Item is one recording as a disclosure or provision describes it.
type Item struct {
	ID          string          `json:"id"`
	File        string          `json:"file,omitempty"` // the audio in the ZIP (.wav or .flac, as stored); "" when nothing was recorded
	StartedAt   time.Time       `json:"started_at"`
	EndedAt     *time.Time      `json:"ended_at,omitempty"`
	Duration    float64         `json:"duration_s"`
	Line        string          `json:"line"`
	Caller      string          `json:"caller,omitempty"`
	AgentID     string          `json:"agent_id,omitempty"` // who took the call, as the agent platform named them
	Purpose     string          `json:"purpose"`
	PurposeDesc string          `json:"purpose_description"`
	Decision    string          `json:"consent_decision"`
	Consent     json.RawMessage `json:"consent"`
	RetainUntil time.Time       `json:"retain_until"`
	LegalHold   bool            `json:"legal_hold"`
	State       string          `json:"state"`
	AudioSHA256 string          `json:"audio_sha256,omitempty"`
	Accesses    []Access        `json:"accesses,omitempty"`
	// Notes are the comments supervisors wrote on the recording: data
	// about the call, and so about the person, disclosed with it.
	Notes []Note `json:"notes,omitempty"`
}

// Note is a comment on a recording, as disclosed: when, by whom, at
// which second of the audio (nil: on the whole), and its text.
type Note struct {
	CreatedAt time.Time `json:"created_at"`
	Author    string    `json:"author"`
	At        *float64  `json:"at,omitempty"`
	Body      string    `json:"body"`
}

// Access is one audit entry about a recording: who did what and when.
type Access struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Reason string    `json:"reason,omitempty"`
	Seq    int64     `json:"seq"`
}

// Manifest is manifest.json of a disclosure ZIP.
type Manifest struct {
	Request   string     `json:"request"`
	Generated time.Time  `json:"generated_at"`
	Items     []Item     `json:"recordings"`
	Withheld  []Withheld `json:"withheld,omitempty"`
}

// Withheld is the part of a disclosure refused because its recordings
// were made on lines run for a client: the data is that company's
// customers', entrusted under contract, and the request is the client's
// to answer (unless the client is configured with disclosure: answer).
type Withheld struct {
	Client     string `json:"client"`
	Name       string `json:"client_name,omitempty"`
	Recordings int    `json:"recordings"`
	Reason     string `json:"reason"`
}

// withheldReason is the policy's reason for refusing the disclosure of a
// client's recordings, in Japanese and English.
func withheldReason(c Client, known bool) string {
	if !known {
		return fmt.Sprintf("委託元 %s の回線の録音です（設定にない委託元のため開示できません）/ recorded on a line of client %s, which is no longer configured: not disclosed", c.ID, c.ID)
	}
	r := fmt.Sprintf("この録音は委託元 %s の業務として記録したもので、同社の顧客の個人データを委託により取り扱っています。開示のご請求には委託元が対応します", c.Name)
	en := fmt.Sprintf("these recordings were made for %s (client %s) and are its customers' personal data, which we handle under contract as its processor; disclosure requests are answered by %s", c.Name, c.ID, c.Name)
	if c.Contact != "" {
		r += "（連絡先: " + c.Contact + "）"
		en += " (contact: " + c.Contact + ")"
	}
	return r + "。/ " + en
}

// split keeps the recordings that may be disclosed and sums up, per
// client, those withheld.
func (s *Service) split(recs []*catalog.Recording) ([]*catalog.Recording, []Withheld) {
	var (
		keep     []*catalog.Recording
		withheld []Withheld
	)
	at := map[string]int{}
	for _, rec := range recs {
		if rec.Client == "" {
			keep = append(keep, rec)
			continue
		}
		c, ok := s.o.Client(rec.Client)
		if ok && c.Answer {
			keep = append(keep, rec)
			continue
		}
		i, seen := at[rec.Client]
		if !seen {
			if !ok {
				c = Client{ID: rec.Client}
			}
			withheld = append(withheld, Withheld{Client: rec.Client, Name: c.Name, Reason: withheldReason(c, ok)})
			i = len(withheld) - 1
			at[rec.Client] = i
		}
		withheld[i].Recordings++
	}
	return keep, withheld
}

// Disclose answers disclosure request id: it streams to w a ZIP of every
// recording of the request's numbers (decrypted WAV, chunk by chunk),
// manifest.json, summary.txt (Japanese and English) and SHA256SUMS, then
// closes the request. Only the manifest's metadata is held in memory. A
// request that cannot be answered (not verified) is refused and recorded
// so before anything is written.
//
// An answered disclosure is disclosed again on asking (the person lost
// the file, or its download broke): the ZIP is made afresh from what is
// stored now, each recording's access audited again, and the request's
// answer stays the first one; its audit log then shows every download.
//
// allow is the operator's read access (as for Provide): a recording it
// refuses stops the disclosure with ErrNotAllowed before anything is
// written, audited or answered — a disclosure is not a way around a
// purpose's listeners; one the operator may read all of answers it.
func (s *Service) Disclose(ctx context.Context, operator, id string, w io.Writer, allow func(*catalog.Recording) (bool, string)) (*Manifest, error) {
	r, err := s.open(ctx, id, KindDisclosure)
	again := errors.Is(err, ErrAnswered) && r != nil && r.Kind == KindDisclosure && r.Outcome == OutcomeAnswered
	switch {
	case again:
	case err != nil:
		return nil, s.refuseOn(ctx, operator, id, err)
	}
	all, err := s.recordings(ctx, r.Callers)
	if err != nil {
		return nil, err
	}
	recs, withheld := s.split(all)
	if len(withheld) > 0 && len(recs) == 0 && !again {
		// Everything found was made for clients: the request is refused
		// with the policy's reason, recorded on it, and nothing is sent.
		reasons := make([]string, len(withheld))
		for i, wh := range withheld {
			reasons[i] = wh.Reason
		}
		reason := strings.Join(reasons, "\n")
		if _, err := s.answer(ctx, operator, id, KindDisclosure, OutcomeRefused, "", map[string]any{"reason": reason, "withheld": withheld}, nil); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("rights: %s: %w: %s", id, ErrRefused, reason)
	}
	for _, rec := range recs {
		if ok, why := allow(rec); !ok {
			return nil, fmt.Errorf("%w: %s: %s", ErrNotAllowed, rec.ID, why)
		}
	}
	m := &Manifest{Request: id, Generated: s.o.Now().UTC(), Withheld: withheld}
	z := sumzip.New(w)
	for _, rec := range recs {
		if rec.State != catalog.StateStored && rec.State != catalog.StateRestricted {
			continue // being purged
		}
		// The access is recorded before any byte of it is sent, and so
		// appears in the history disclosed.
		if err := s.auditTx(ctx, operator, audit.ActionDisclose, rec.ID, map[string]any{"request": id, "again": again}); err != nil {
			return nil, err
		}
		it, err := s.item(ctx, rec, true)
		if err != nil {
			return nil, err
		}
		if rec.ObjectKey != "" {
			it.File = "recordings/" + recording.AudioFile(rec)
			if err := s.writeAudio(ctx, z, it.File, rec); err != nil {
				return nil, err
			}
		}
		m.Items = append(m.Items, it)
	}
	if err := z.JSON("manifest.json", m); err != nil {
		return nil, err
	}
	if _, err := z.File("summary.txt", strings.NewReader(summary(m))); err != nil {
		return nil, err
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	if again {
		return m, nil
	}
	result := map[string]any{"recordings": len(m.Items)}
	if len(withheld) > 0 {
		result["withheld"] = withheld
	}
	_, err = s.answer(ctx, operator, id, KindDisclosure, OutcomeAnswered, "", result, nil)
	return m, err
}

// item describes rec; with history, its audit entries too.
func (s *Service) item(ctx context.Context, rec *catalog.Recording, history bool) (Item, error) {
	it := Item{ID: rec.ID, StartedAt: rec.StartedAt, EndedAt: rec.EndedAt, Duration: rec.Duration.Seconds(),
		Line: rec.Line, Caller: rec.Caller, AgentID: rec.AgentID, Purpose: rec.Purpose, PurposeDesc: s.o.Purpose(rec.Purpose),
		Decision: rec.Decision, Consent: rec.Consent, RetainUntil: rec.RetainUntil, LegalHold: rec.LegalHold,
		State: rec.State, AudioSHA256: rec.AudioSHA256}
	if !history {
		return it, nil
	}
	notes, err := catalog.Notes(ctx, s.o.Catalog.DB(), rec.ID)
	if err != nil {
		return it, fmt.Errorf("rights: notes of %s: %w", rec.ID, err)
	}
	for _, n := range notes {
		dn := Note{CreatedAt: n.CreatedAt, Author: n.Author, Body: n.Body}
		if n.Offset >= 0 {
			at := n.Offset.Seconds()
			dn.At = &at
		}
		it.Notes = append(it.Notes, dn)
	}
	after := int64(0)
	for {
		es, err := audit.List(ctx, s.o.Catalog.DB(), audit.Filter{Target: rec.ID, AfterSeq: after, Limit: 1000})
		if err != nil {
			return it, fmt.Errorf("rights: history of %s: %w", rec.ID, err)
		}
		for _, e := range es {
			it.Accesses = append(it.Accesses, Access{At: e.At, Actor: e.Actor, Action: string(e.Action), Reason: e.Reason, Seq: e.Seq})
		}
		if len(es) < 1000 {
			return it, nil
		}
		after = es[len(es)-1].Seq
	}
}

func (s *Service) writeAudio(ctx context.Context, z *sumzip.Writer, name string, rec *catalog.Recording) error {
	rr, err := recording.OpenAudio(ctx, s.o.Store, s.o.Keys, rec)
	if err != nil {
		return fmt.Errorf("rights: open %s: %w", rec.ID, err)
	}
	fw, err := z.Create(name)
	if err != nil {
		return err
	}
	if err := rr.WriteRange(fw, 0, rr.Size()); err != nil {
		return fmt.Errorf("rights: audio of %s: %w", rec.ID, err)
	}
	return nil
}

// summary is the readable summary, Japanese then English per item.
func summary(m *Manifest) string {
	var b strings.Builder
	jst := time.FixedZone("JST", 9*3600)
	fmt.Fprintf(&b, "開示請求 %s への回答 / Answer to disclosure request %s\n", m.Request, m.Request)
	fmt.Fprintf(&b, "作成日時 / Generated: %s\n", m.Generated.In(jst).Format(time.RFC3339))
	fmt.Fprintf(&b, "録音件数 / Recordings: %d\n\n", len(m.Items))
	for _, wh := range m.Withheld {
		fmt.Fprintf(&b, "開示しない録音 / Not disclosed: %d (%s)\n  %s\n\n", wh.Recordings, wh.Client, wh.Reason)
	}
	for i, it := range m.Items {
		fmt.Fprintf(&b, "[%d] %s\n", i+1, it.ID)
		fmt.Fprintf(&b, "  日時 / Date: %s (%.0f 秒 / s)\n", it.StartedAt.In(jst).Format("2006-01-02 15:04:05 MST"), it.Duration)
		fmt.Fprintf(&b, "  回線 / Line: %s\n", it.Line)
		fmt.Fprintf(&b, "  利用目的 / Purpose: %s — %s\n", it.Purpose, it.PurposeDesc)
		if it.AgentID != "" {
			fmt.Fprintf(&b, "  担当者 / Agent: %s\n", it.AgentID)
		}
		fmt.Fprintf(&b, "  同意の記録 / Consent evidence: %s %s\n", it.Decision, string(it.Consent))
		fmt.Fprintf(&b, "  保存期限 / Retained until: %s", it.RetainUntil.In(jst).Format("2006-01-02"))
		if it.LegalHold {
			b.WriteString(" (法的保全中 / under legal hold)")
		}
		b.WriteString("\n")
		if it.File != "" {
			fmt.Fprintf(&b, "  音声ファイル / Audio file: %s\n", it.File)
		} else {
			b.WriteString("  音声なし / No audio recorded\n")
		}
		for _, n := range it.Notes {
			at := ""
			if n.At != nil {
				at = fmt.Sprintf(" @%.0f s", *n.At)
			}
			fmt.Fprintf(&b, "  メモ / Note (%s, %s%s): %s\n", n.CreatedAt.In(jst).Format("2006-01-02 15:04"), n.Author, at, strings.ReplaceAll(n.Body, "\n", "\n    "))
		}
		b.WriteString("  アクセス履歴 / Access history:\n")
		for _, a := range it.Accesses {
			fmt.Fprintf(&b, "    %s  %s  %s", a.At.In(jst).Format("2006-01-02 15:04:05"), a.Actor, a.Action)
			if a.Reason != "" {
				fmt.Fprintf(&b, "  (%s)", a.Reason)
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}
