package config_test

import (
	"testing"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/media"
)

// TestPromptRateMatchesMedia: the prompts config admits are the ones the
// media package can play without resampling.
func TestPromptRateMatchesMedia(t *testing.T) {
	if config.PromptRate != media.PromptRate {
		t.Errorf("config.PromptRate = %d, media.PromptRate = %d; want them equal", config.PromptRate, media.PromptRate)
	}
}
