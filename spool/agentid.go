package spool

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxAgentID bounds a manifest's agent_id, in bytes: agent platform ids
// are short, and the value reaches the catalog, CSV exports and HTML.
const MaxAgentID = 64

// CheckAgentID says why v is not fit to be a manifest's agent_id: empty,
// longer than MaxAgentID, not UTF-8, or holding a character that does not
// print (a control character, a line break, a bidirectional override).
// The same rule keeps what the agent platform sends and what a search
// asks for.
func CheckAgentID(v string) error {
	switch {
	case v == "":
		return errors.New("empty")
	case len(v) > MaxAgentID:
		return fmt.Errorf("%d bytes, more than %d", len(v), MaxAgentID)
	case !utf8.ValidString(v):
		return errors.New("not UTF-8")
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("holds %U, which does not print", r)
		}
	}
	return nil
}
