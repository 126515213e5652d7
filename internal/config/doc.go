// Package config loads and checks kirokud's YAML configuration.
//
// It owns the configuration schema, its defaults and every check that can
// be made before the daemon starts: strict decoding (unknown keys fail),
// cross-field validation that reports every problem with file, line and key
// path, and loading the notice prompts the lines play. It also owns the
// number rules shared by configuration and calls: NormalizeNumber for
// matching dialled numbers and MaskNumber for logging caller numbers.
//
// It must not open sockets, create directories, start goroutines or log: a
// loaded *Config is a read-only value the daemon builds its parts from, and
// a failed Load leaves any running configuration untouched.
//
// It must not import sip, media, spool, catalog, audit, storage/..., httpapi or internal/daemon.
package config
