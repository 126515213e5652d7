package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// TestEmbeddedPrompts: a notice or unavailable prompt named
// "embedded:prompts/…" is read from inside kirokud, whatever folder the
// file is in; a name not shipped is refused with the names that are.
func TestEmbeddedPrompts(t *testing.T) {
	minimal, err := os.ReadFile(filepath.Join("..", "..", "configs", "kirokud.minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(notice, unavailable string) string {
		y := strings.Replace(string(minimal), "notice: prompts/notice-ja.wav", "notice: "+notice+", unavailable: "+unavailable, 1)
		p := filepath.Join(t.TempDir(), "kirokud.yaml") // a folder with no prompts in it
		if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := config.Load(write("embedded:prompts/notice-en.wav", "embedded:prompts/unavailable-en.wav"))
	if err != nil {
		t.Fatalf("embedded prompts: %v", err)
	}
	l := c.Lines[0]
	if l.Notice != "embedded:prompts/notice-en.wav" || l.Prompt == nil || l.Prompt.Duration <= 0 || l.UnavailablePrompt == nil {
		t.Errorf("got notice %q prompt %+v unavailable %v", l.Notice, l.Prompt, l.UnavailablePrompt)
	}
	for _, bad := range []string{"embedded:prompts/notice-fr.wav", "embedded:../go.mod", "embedded:kirokud.default.yaml"} {
		_, err := config.Load(write(bad, "embedded:prompts/unavailable-en.wav"))
		if err == nil || !strings.Contains(err.Error(), "lines[0].notice") || !strings.Contains(err.Error(), "not a prompt shipped with kirokud") ||
			!strings.Contains(err.Error(), "embedded:prompts/notice-ja.wav") {
			t.Errorf("notice %q: got %v, want it refused naming the shipped prompts", bad, err)
		}
	}
}
