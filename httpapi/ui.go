package httpapi

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// uiFiles is the web UI: one page, its script and its style sheet, served
// as they are (no build step, no third-party code).
//
//go:embed ui
var uiFiles embed.FS

// contentSecurityPolicy lets the UI load only its own files and talk only
// to this origin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

var uiTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// uiRoutes serves the page at / and its files under /ui/.
func (a *API) uiRoutes(open, fallback func(string, http.HandlerFunc)) {
	sub, _ := fs.Sub(uiFiles, "ui")
	serve := func(w http.ResponseWriter, name string) {
		b, err := fs.ReadFile(sub, name)
		ext := name[strings.LastIndexByte(name, '.'):]
		if err != nil || uiTypes[ext] == "" {
			writeError(w, http.StatusNotFound, errNoFile)
			return
		}
		w.Header().Set("Content-Type", uiTypes[ext])
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
		w.Write(b)
	}
	open("GET /{$}", func(w http.ResponseWriter, r *http.Request) { serve(w, "index.html") })
	open("GET /ui/{file}", func(w http.ResponseWriter, r *http.Request) {
		f := r.PathValue("file")
		if !strings.Contains(f, ".") {
			writeError(w, http.StatusNotFound, errNoFile)
			return
		}
		serve(w, f)
	})
	fallback("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, http.StatusNotFound, errNoFile) })
}

var errNoFile = notFoundError("no such page")

type notFoundError string

func (e notFoundError) Error() string { return string(e) }
