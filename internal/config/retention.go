package config

import (
	"fmt"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Retention is how long recordings kept for a purpose live: N days, weeks,
// months or years, written "90d", "12w", "6m" or "1y".
type Retention struct {
	N    int  // count of units, at least 1
	Unit byte // 'd', 'w', 'm' or 'y'
}

// ParseRetention parses a retention such as "90d", "12w", "6m" or "1y".
func ParseRetention(s string) (Retention, error) {
	bad := fmt.Errorf("%q is not a retention such as \"90d\", \"12w\", \"6m\" or \"1y\"", s)
	if len(s) < 2 || len(s) > 6 {
		return Retention{}, bad
	}
	unit := s[len(s)-1]
	switch unit {
	case 'd', 'w', 'm', 'y':
	default:
		return Retention{}, bad
	}
	digits := s[:len(s)-1]
	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return Retention{}, bad
		}
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return Retention{}, bad
	}
	if n == 0 {
		return Retention{}, fmt.Errorf("%q: retention must be more than 0", s)
	}
	return Retention{N: n, Unit: unit}, nil
}

// String formats r as it is written in YAML, or "" for the zero Retention.
func (r Retention) String() string {
	if r.N == 0 {
		return ""
	}
	return strconv.Itoa(r.N) + string(r.Unit)
}

// Until returns when something recorded at t expires. Months and years use
// time.AddDate and so normalise like it: 1m after 31 January is 3 March
// (2 March in a leap year), never earlier than a calendar month.
func (r Retention) Until(t time.Time) time.Time {
	switch r.Unit {
	case 'd':
		return t.AddDate(0, 0, r.N)
	case 'w':
		return t.AddDate(0, 0, 7*r.N)
	case 'm':
		return t.AddDate(0, r.N, 0)
	case 'y':
		return t.AddDate(r.N, 0, 0)
	}
	return t
}

// UnmarshalYAML decodes a retention string.
func (r *Retention) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a retention such as \"90d\", got %s", describe(n))
	}
	v, err := ParseRetention(n.Value)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// MarshalYAML encodes r as a retention string.
func (r Retention) MarshalYAML() (any, error) { return r.String(), nil }
