package config

import (
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestRetentionUntil(t *testing.T) {
	jst := time.FixedZone("JST", 9*60*60)
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 14, 30, 0, 0, jst) }
	tests := []struct {
		name string
		r    string
		from time.Time
		want time.Time
	}{
		{"days", "90d", at(2026, 1, 1), at(2026, 4, 1)},
		{"weeks", "12w", at(2026, 1, 1), at(2026, 3, 26)},
		{"months", "6m", at(2026, 1, 15), at(2026, 7, 15)},
		{"months across a year", "3m", at(2026, 11, 30), at(2027, 3, 2)},
		{"month from 31 January normalises", "1m", at(2026, 1, 31), at(2026, 3, 3)},
		{"month from 31 January in a leap year", "1m", at(2028, 1, 31), at(2028, 3, 2)},
		{"years", "1y", at(2026, 6, 1), at(2027, 6, 1)},
		{"year from 29 February", "1y", at(2028, 2, 29), at(2029, 3, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRetention(tt.r)
			if err != nil {
				t.Fatalf("ParseRetention(%q): %v", tt.r, err)
			}
			if got := r.String(); got != tt.r {
				t.Errorf("got String %q, want %q", got, tt.r)
			}
			if got := r.Until(tt.from); !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseRetentionErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"zero", "0d", `"0d": retention must be more than 0`},
		{"hours", "3h", `"3h" is not a retention such as "90d", "12w", "6m" or "1y"`},
		{"no number", "d", `"d" is not a retention such as "90d", "12w", "6m" or "1y"`},
		{"sign", "+9d", `"+9d" is not a retention such as "90d", "12w", "6m" or "1y"`},
		{"upper case", "90D", `"90D" is not a retention such as "90d", "12w", "6m" or "1y"`},
		{"too long", "999999d", `"999999d" is not a retention such as "90d", "12w", "6m" or "1y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRetention(tt.in)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestYAMLTypes checks Duration and Retention through plain yaml.v3 too,
// for code that decodes them outside Parse.
func TestYAMLTypes(t *testing.T) {
	var v struct {
		D Duration  `yaml:"d"`
		R Retention `yaml:"r"`
	}
	if err := yaml.Unmarshal([]byte("d: 1m30s\nr: 12w\n"), &v); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if v.D != Duration(90*time.Second) || v.R != (Retention{12, 'w'}) {
		t.Errorf("got %v %v, want 1m30s 12w", v.D, v.R)
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if got, want := string(out), "d: 1m30s\nr: 12w\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, in := range []string{"d: -1s\n", "d: 5\n", "r: 5\n"} {
		if err := yaml.Unmarshal([]byte(in), &v); err == nil {
			t.Errorf("Unmarshal(%q): got nil error, want one", in)
		}
	}
}
