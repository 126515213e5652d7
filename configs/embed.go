// Package configs holds Kiroku's example configurations and notice prompts.
// It carries no logic: this file only embeds the default configuration and
// its prompts so that kirokud runs on a bare machine without any file.
package configs

import "embed"

// FS holds the embedded default configuration (DefaultFile) and the
// notice prompts it names, at the same relative paths as in this folder.
//
//go:embed kirokud.default.yaml prompts/*.wav
var FS embed.FS

// DefaultFile is the name of the embedded default configuration in FS.
const DefaultFile = "kirokud.default.yaml"
