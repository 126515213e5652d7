package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/kiroku-voice/kiroku/configs"
	"github.com/kiroku-voice/kiroku/internal/wav"
)

// EmbeddedPrefix marks a prompt shipped inside kirokud, such as
// "embedded:prompts/notice-ja.wav": read from the binary whatever the
// configuration file's folder, so that the printed default configuration
// passes -check-config wherever it is written.
const EmbeddedPrefix = "embedded:"

// embedded reports whether p names a prompt shipped inside kirokud.
func embedded(p string) bool { return strings.HasPrefix(p, EmbeddedPrefix) }

// PromptRate is the sample rate a notice prompt must have: the rate the
// media package plays prompts at (config cannot import media; a test in
// this package holds the two together).
const PromptRate = 8000

// loadPrompts reads the notice and the unavailable prompt of every line
// from fsys into Line.Prompt and Line.UnavailablePrompt. Lines sharing a
// file share one Prompt.
func (c *Config) loadPrompts(fsys fs.FS, r *report) {
	type result struct {
		p   *Prompt
		err error
	}
	cache := map[string]result{}
	for i := range c.Lines {
		l := &c.Lines[i]
		for _, f := range []struct {
			key  string
			path string
			p    **Prompt
		}{{"notice", l.Notice, &l.Prompt}, {"unavailable", l.Unavailable, &l.UnavailablePrompt}} {
			if f.path == "" {
				continue
			}
			res, ok := cache[f.path]
			if !ok {
				if name, ok := strings.CutPrefix(f.path, EmbeddedPrefix); ok {
					res.p, res.err = loadEmbedded(name)
				} else {
					res.p, res.err = loadPrompt(fsys, f.path)
				}
				cache[f.path] = res
			}
			if res.err != nil {
				r.add(child(index("lines", i), f.key), "%v", res.err)
				continue
			}
			*f.p = res.p
		}
	}
}

// loadEmbedded reads a prompt shipped inside kirokud; an unknown name is
// answered with the names there are.
func loadEmbedded(name string) (*Prompt, error) {
	if _, err := fs.Stat(configs.FS, name); err != nil || !strings.HasPrefix(name, "prompts/") {
		names, _ := fs.Glob(configs.FS, "prompts/*.wav")
		for i := range names {
			names[i] = EmbeddedPrefix + names[i]
		}
		return nil, fmt.Errorf("%q is not a prompt shipped with kirokud (those are %s)", EmbeddedPrefix+name, strings.Join(names, ", "))
	}
	return loadPrompt(configs.FS, name)
}

// loadPrompt reads the notice at the resolved path p from fsys.
func loadPrompt(fsys fs.FS, p string) (*Prompt, error) {
	name := strings.TrimPrefix(filepath.ToSlash(p), "/")
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("%q is outside the file system notices are read from", p)
	}
	b, err := fs.ReadFile(fsys, name)
	if st, serr := fs.Stat(fsys, name); serr == nil && st.IsDir() {
		return nil, fmt.Errorf("%q is a directory", p)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot read %q: file does not exist", p)
		}
		return nil, fmt.Errorf("cannot read %q: %w", p, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%q is empty", p)
	}
	a, err := wav.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%q is not a usable WAV file: %s", p, strings.TrimPrefix(err.Error(), "wav: "))
	}
	if a.Format != wav.FormatPCM || a.SampleRate != PromptRate || a.Channels != 1 || a.BitsPerSample != 16 {
		return nil, fmt.Errorf("%q is %s; need %d Hz mono 16-bit PCM", p, a, PromptRate)
	}
	if a.Frames() == 0 {
		return nil, fmt.Errorf("%q has no audio", p)
	}
	sum := sha256.Sum256(b)
	return &Prompt{
		Name:     path.Base(name),
		SHA256:   hex.EncodeToString(sum[:]),
		PCM:      a.Samples(),
		Duration: a.Duration(),
	}, nil
}
