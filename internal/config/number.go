package config

import (
	"net/url"
	"strings"
	"unicode"
)

// MaxCallerLen bounds a caller's or a dialled number, normalised: a
// longer one is refused at the edge (the INVITE gets 400 or 414) and
// never stored, masked or matched. E.164 numbers have at most 15 digits;
// 64 leaves room for the SIP user parts carriers put there instead.
const MaxCallerLen = 64

// NormalizeNumber returns the Japanese national form of a telephone number
// so that the ways a carrier may present one compare equal: it strips a
// sip:, sips: or tel: scheme and anything from '@', ';' or '?' on, drops
// spaces, '-', '(' and ')', and replaces a leading +81 or 81 with 0 when at
// least 9 digits follow ("+81120000000", "81120000000" and "0120000000" all
// give "0120000000"; "+81 (0)120…" too). Other numbers, including '*' and
// '#', are kept as they are.
//
// Before that it tames what a user part may carry besides ASCII digits
// (the forms a PBX or a hostile caller sends): percent-escapes are decoded
// (RFC 3261 user parts), full-width forms ("０３－１２３４", "＋８１") fold
// to ASCII, the dashes and the katakana prolonged sound mark written as
// hyphens are separators, and format and control characters (bidi
// overrides, zero-width joiners) are removed, so that a number is stored,
// masked and found the same way however it was written.
func NormalizeNumber(s string) string {
	if strings.Contains(s, "%") {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
	}
	s = strings.Map(foldRune, s)
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	for _, scheme := range []string{"sip:", "sips:", "tel:"} {
		if strings.HasPrefix(lower, scheme) {
			s = s[len(scheme):]
			break
		}
	}
	if i := strings.IndexAny(s, "@;?"); i >= 0 {
		s = s[:i]
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, s)
	var rest string
	switch {
	case strings.HasPrefix(s, "+81"):
		rest = s[3:]
	case strings.HasPrefix(s, "81"):
		rest = s[2:]
	default:
		return s
	}
	if len(rest) < 9 || strings.IndexFunc(rest, notDigit) >= 0 {
		return s
	}
	if rest[0] == '0' {
		return rest
	}
	return "0" + rest
}

func notDigit(r rune) bool { return r < '0' || r > '9' }

// foldRune maps a full-width form to its ASCII character, a hyphen-like
// dash to '-', and drops format and control characters and invalid UTF-8.
func foldRune(r rune) rune {
	switch {
	case r >= 0xff01 && r <= 0xff5e: // full-width ASCII forms
		return r - 0xfee0
	case r == 0x3000: // ideographic space
		return ' '
	case r == 0x2010 || r == 0x2011 || r == 0x2012 || r == 0x2013 || r == 0x2014 || r == 0x2015 || r == 0x2212 || r == 0x30fc || r == 0xff70:
		return '-' // hyphen, dashes, minus, katakana prolonged sound marks
	case r == unicode.ReplacementChar, unicode.Is(unicode.Cf, r), unicode.IsControl(r):
		return -1
	}
	return r
}

// isNumber reports whether s, normalised, looks like a dialled number: an
// optional '+' then digits, '*' and '#'.
func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "+")
	return s != "" && strings.Trim(s, "0123456789*#") == ""
}

// MaskNumber hides most of a caller's number for logs: it keeps the first
// four and last two digits and replaces the others with '*'
// ("0312345678" → "0312****78"), masks all digits of numbers with six or
// fewer, and leaves other characters in place. A string without digits,
// such as "anonymous", is returned as is.
func MaskNumber(s string) string {
	n := 0
	for i := range len(s) {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := []byte(s)
	i := 0
	for k, c := range b {
		if c < '0' || c > '9' {
			continue
		}
		if n <= 6 || (i >= 4 && i < n-2) {
			b[k] = '*'
		}
		i++
	}
	return string(b)
}
