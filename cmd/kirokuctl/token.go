package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kiroku-voice/kiroku/access"
)

// tokenNewCmd: token new -name N -roles R,… makes a random token and
// prints it with the api.tokens entry that accepts it. It runs offline:
// kirokud keeps only the hash.
func tokenNewCmd(g *globals, args []string, out io.Writer) error {
	fs := newFlagSet("token new")
	name := fs.String("name", "", "the name the audit log shows")
	roles := access.Roles()
	rs := fs.String("roles", "", "comma-separated roles: "+strings.Join(roles, ", "))
	cs := fs.String("clients", "", "comma-separated client ids the token is scoped to (default: lines of no client)")
	if _, err := parseFlags(fs, g, args, 0, "no arguments, only -name and -roles"); err != nil {
		return err
	}
	if *name == "" || strings.Trim(*name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") != "" || len(*name) > 64 {
		return fmt.Errorf("%w: -name must be 1 to 64 letters, digits, '.', '_', '@' or '-'", errUsage)
	}
	var list []string
	for _, r := range strings.Split(*rs, ",") {
		r = strings.TrimSpace(r)
		if !slices.Contains(roles, r) {
			return fmt.Errorf("%w: -roles: %q is not one of %s", errUsage, r, strings.Join(roles, ", "))
		}
		if !slices.Contains(list, r) {
			list = append(list, r)
		}
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	tok := "krk_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	var clients []string
	for _, c := range splitList(*cs) {
		if strings.Trim(c, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || c[0] == '-' || len(c) > 63 {
			return fmt.Errorf("%w: -clients: %q is not a client id", errUsage, c)
		}
		if !slices.Contains(clients, c) {
			clients = append(clients, c)
		}
	}
	scope := ""
	if len(clients) > 0 {
		scope = fmt.Sprintf(", clients: [%s]", strings.Join(clients, ", "))
	}
	entry := fmt.Sprintf("- {name: %s, roles: [%s]%s, sha256: %s}", *name, strings.Join(list, ", "), scope, hex.EncodeToString(sum[:]))
	if g.output == "json" {
		return writeJSON(out, map[string]any{"name": *name, "roles": list, "clients": clients, "token": tok, "sha256": hex.EncodeToString(sum[:]), "config": entry})
	}
	fmt.Fprintf(out, "token (give it to %s; it is shown only now):\n  %s\n\nadd under api.tokens in kirokud's configuration, then reload:\n  %s\n", *name, tok, entry)
	return nil
}
