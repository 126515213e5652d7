package config

import (
	"strings"
	"unicode"
)

// NormalizeNumber returns the Japanese national form of a telephone number
// so that the ways a carrier may present one compare equal: it strips a
// sip:, sips: or tel: scheme and anything from '@', ';' or '?' on, drops
// spaces, '-', '(' and ')', and replaces a leading +81 or 81 with 0 when at
// least 9 digits follow ("+81120000000", "81120000000" and "0120000000" all
// give "0120000000"; "+81 (0)120…" too). Other numbers, including '*' and
// '#', are kept as they are.
func NormalizeNumber(s string) string {
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
