// Package web is the console's web UI: a single-page app in plain
// JavaScript (ES modules, no build step), its styles, the uPlot chart
// library and a subset of the WenQuanYi Micro Hei font, all embedded in the
// binary so that a machine room closed to the internet fetches nothing from
// outside.
//
// The files are served under [Prefix] ("/static/…"); every page of the app
// ([IsPage]: "/", "/login", "/rooms/ID", "/incidents", "/incidents/ID",
// "/incidents/ID/print", "/schedule", "/ack", "/reports") is index.html, which loads the
// app; the app reads the path and draws the page. [Handler] does both, so a
// server may mount it at "/" after its API routes.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// CSP is the Content-Security-Policy the console serves: the app runs only
// its own scripts and styles (no inline script, no style attribute in HTML)
// and talks only to its own origin.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Prefix is the path the static files are served under.
const Prefix = "/static/"

//go:embed static
var files embed.FS

// Static is the embedded files, rooted at the static directory
// ("index.html", "js/main.js", "vendor/uplot/uPlot.esm.js", …).
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the directory is embedded: it exists
	}
	return sub
}

// Index returns index.html: what every page of the app serves.
func Index() []byte {
	b, err := files.ReadFile("static/index.html")
	if err != nil {
		panic(err) // embedded
	}
	return b
}

// contentTypes are the types of the files the app has; Go's own table
// lacks some (woff2) and the system's may differ between machines.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".json":  "application/json",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".woff":  "font/woff",
	".ttf":   "font/ttf",
	".txt":   "text/plain; charset=utf-8",
	".md":    "text/plain; charset=utf-8",
}

// ContentType is the content type a static file is served with.
func ContentType(name string) string {
	if t, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	if strings.HasPrefix(path.Base(name), "LICENSE") {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// asset is one embedded file, ready to serve.
type asset struct {
	body []byte
	etag string
	typ  string
}

var (
	loadOnce sync.Once
	assets   map[string]*asset // by path under static/, "js/main.js"
)

// built is the time the files are served as modified at: the embedded files
// have none of their own. The ETag is what tells versions apart.
var built = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func load() {
	assets = map[string]*asset{}
	root := Static()
	_ = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		assets[p] = &asset{body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, typ: ContentType(p)}
		return nil
	})
}

// pages are the app's first path segments, each with how many segments
// may follow it.
var pages = map[string]func(rest []string) bool{
	"":          func(rest []string) bool { return len(rest) == 0 },
	"login":     func(rest []string) bool { return len(rest) == 0 },
	"schedule":  func(rest []string) bool { return len(rest) == 0 },
	"ack":       func(rest []string) bool { return len(rest) == 0 },
	"reports":   func(rest []string) bool { return len(rest) == 0 },
	"rooms":     func(rest []string) bool { return len(rest) == 1 && rest[0] != "" },
	"incidents": incidentPage,
}

func incidentPage(rest []string) bool {
	switch len(rest) {
	case 0:
		return true
	case 1:
		return rest[0] != ""
	case 2:
		return rest[0] != "" && rest[1] == "print"
	}
	return false
}

// IsPage reports whether a request path is one of the app's pages, which
// serve index.html: "/", "/login", "/rooms/ID", "/incidents",
// "/incidents/ID", "/incidents/ID/print", "/schedule", "/ack", "/reports". A trailing
// slash is allowed.
func IsPage(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	p = strings.TrimSuffix(p[1:], "/")
	if p == "index.html" {
		return true
	}
	segs := strings.Split(p, "/")
	ok, known := pages[segs[0]]
	return known && ok(segs[1:])
}

// Handler serves the app: the static files under [Prefix], and index.html
// for every page ([IsPage]); anything else is 404. It answers GET and HEAD
// only. index.html is served with Cache-Control: no-cache and the CSP; the
// other files with an ETag and Cache-Control: no-cache, so a browser
// revalidates (a 304 on the same binary) and never runs a stale script
// after an upgrade.
func Handler() http.Handler {
	loadOnce.Do(load)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, Prefix):
			name := strings.TrimPrefix(p, Prefix)
			a, ok := assets[name]
			if !ok || name == "index.html" {
				http.NotFound(w, r)
				return
			}
			serve(w, r, name, a)
		case IsPage(p):
			ServeIndex(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// ServeIndex writes index.html, for a page of the app.
func ServeIndex(w http.ResponseWriter, r *http.Request) {
	loadOnce.Do(load)
	w.Header().Set("Content-Security-Policy", CSP)
	serve(w, r, "index.html", assets["index.html"])
}

func serve(w http.ResponseWriter, r *http.Request, name string, a *asset) {
	h := w.Header()
	h.Set("Content-Type", a.typ)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, built, bytes.NewReader(a.body))
}
