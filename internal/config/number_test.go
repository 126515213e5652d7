package config

import "testing"

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"national", "0120000000", "0120000000"},
		{"E.164", "+81120000000", "0120000000"},
		{"international without plus", "81120000000", "0120000000"},
		{"hyphens", "0120-000-000", "0120000000"},
		{"spaces and parens", " +81 (3) 1234 5678 ", "0312345678"},
		{"trunk zero kept in brackets", "+81 (0)3-1234-5678", "0312345678"},
		{"sip URI", "sip:+81120000000@192.0.2.1:5060;user=phone", "0120000000"},
		{"SIP upper case", "SIP:0120000000@pbx", "0120000000"},
		{"tel URI with params", "tel:+81-120-000-000;phone-context=example.com", "0120000000"},
		{"short after 81 kept", "8112345678", "8112345678"},
		{"short after +81 kept", "+8112345", "+8112345"},
		{"other country kept", "+1 800 555 0100", "+18005550100"},
		{"star and hash kept", "*81#", "*81#"},
		{"81 then star kept", "81120000*00", "81120000*00"},
		{"empty", "", ""},
		{"anonymous", "anonymous", "anonymous"},
		{"full-width digits and hyphens", "０３－１２３４－５６７８", "0312345678"},
		{"full-width plus and ideographic space", "＋８１\u3000３\u30001234\u30005678", "0312345678"},
		{"katakana prolonged sound mark as hyphen", "03ー1234ー5678", "0312345678"},
		{"en dash and minus sign", "03–1234−5678", "0312345678"},
		{"percent-escaped full-width", "%EF%BC%90%EF%BC%93" + "12345678", "0312345678"},
		{"bidi override removed", "\u202e0312345678", "0312345678"},
		{"bidi isolate and zero-width joiner removed", "031\u2066234\u200d5678", "0312345678"},
		{"control characters removed", "0312\x00345\x7f678", "0312345678"},
		{"a name keeps its letters", "ａｌｉｃｅ", "alice"},
		{"formula kept as text", "=1+2", "=1+2"},
		{"bad escape kept", "03%zz", "03%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeNumber(tt.in); got != tt.want {
				t.Errorf("NormalizeNumber(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskNumber(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"landline", "0312345678", "0312****78"},
		{"mobile", "09012345678", "0901*****78"},
		{"E.164", "+819012345678", "+8190******78"},
		{"hyphenated", "090-1234-5678", "090-1***-**78"},
		{"seven digits", "1234567", "1234*67"},
		{"six digits fully masked", "123456", "******"},
		{"short fully masked", "110", "***"},
		{"anonymous", "anonymous", "anonymous"},
		{"empty", "", ""},
		{"digits in a name", "user42", "user**"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskNumber(tt.in); got != tt.want {
				t.Errorf("MaskNumber(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
