package httpapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
)

// maxNote bounds a note's body, in characters.
const maxNote = 2000

// noteOf is n as the API shows it.
func noteOf(n *catalog.Note) apiclient.Note {
	out := apiclient.Note{ID: n.ID, Author: n.Author, Body: n.Body, CreatedAt: n.CreatedAt}
	if n.Offset >= 0 {
		at := n.Offset.Seconds()
		out.At = &at
	}
	return out
}

// notesList serves GET /api/v1/recordings/{id}/notes: the notes on a
// recording the token may see, oldest first, audited as a view.
func (a *API) notesList(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok || !noQuery(w, r) || !a.allow(w, r, p, id, "") {
		return
	}
	rec, _ := a.visible(w, r, p, a.o.Config(), id, "")
	if rec == nil {
		return
	}
	notes, err := catalog.Notes(r.Context(), a.o.Catalog.DB(), id)
	if err != nil {
		a.internal(w, "notes", err)
		return
	}
	out := apiclient.NoteList{Notes: []apiclient.Note{}}
	for _, n := range notes {
		out.Notes = append(out.Notes, noteOf(n))
	}
	if err := a.record(r, p, audit.ActionView, id, "", map[string]any{"notes": len(out.Notes)}); err != nil {
		a.internal(w, "audit of a view", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// noteAdd serves POST /api/v1/recordings/{id}/notes: a note by the
// token on a recording it may see, at a point of its audio or on the
// whole, stored with its audit entry in one transaction. The entry holds
// the note's id and length, not its text (the text is data about the
// call, kept with the recording and destroyed with it).
func (a *API) noteAdd(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok || !noQuery(w, r) {
		return
	}
	var b apiclient.NewNote
	if err := readBody(w, r, &b); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	body, err := checkNote(b.Body)
	if err == nil && b.At != nil && (math.IsNaN(*b.At) || *b.At < 0) {
		err = errors.New("at: seconds from the recording's start, 0 or more")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if !a.allow(w, r, p, id, "") {
		return
	}
	rec, _ := a.visible(w, r, p, a.o.Config(), id, "")
	if rec == nil {
		return
	}
	n := &catalog.Note{ID: uuid.Must(uuid.NewV7()).String(), Recording: id, Offset: -1, Author: p.Name, Body: body, CreatedAt: time.Now().UTC()}
	if b.At != nil {
		if limit := rec.Duration.Seconds() + 1; *b.At > limit {
			writeError(w, http.StatusBadRequest, fmt.Errorf("at: %.1f s is past the recording's end (%.1f s)", *b.At, rec.Duration.Seconds()))
			return
		}
		n.Offset = time.Duration(*b.At * float64(time.Second)).Round(time.Millisecond)
	}
	d, _ := json.Marshal(map[string]any{"note": n.ID, "characters": utf8.RuneCountInString(body), "client": clientIP(r)})
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), auditTimeout)
	defer cancel()
	err = a.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := catalog.GetRecording(ctx, tx, id); err != nil {
			return err // destroyed meanwhile
		}
		if err := catalog.AddNote(ctx, tx, n); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Actor: p.Name, Action: audit.ActionNote, Target: id, Detail: string(d)})
		return err
	})
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		writeError(w, http.StatusNotFound, errNotFound)
	case err != nil:
		a.internal(w, "note", err)
	default:
		writeJSON(w, http.StatusCreated, noteOf(n))
	}
}

// checkNote trims s and checks it is a usable note: 1 to maxNote
// characters of UTF-8, lines allowed, no other control or format
// characters.
func checkNote(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errors.New("body: the note's text is required")
	case !utf8.ValidString(s):
		return "", errors.New("body: not UTF-8")
	case utf8.RuneCountInString(s) > maxNote:
		return "", fmt.Errorf("body: longer than %d characters", maxNote)
	case strings.IndexFunc(s, func(r rune) bool { return r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) }) >= 0:
		return "", errors.New("body: holds a control or format character (line breaks are fine)")
	}
	return s, nil
}
