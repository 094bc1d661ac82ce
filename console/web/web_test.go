package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// staticFiles returns every embedded file's path and contents.
func staticFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(Static(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Static(), p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	// An ES module import: `import x from './a.js'`, `import './a.js'`,
	// `export { x } from './a.js'`, `import('./a.js')`.
	importRE = regexp.MustCompile(`(?m)(?:^\s*(?:import|export)\b[^'"` + "`" + `;]*?\bfrom\s*|^\s*import\s*|\bimport\s*\(\s*)['"]([^'"]+)['"]`)
	// A URL in HTML or CSS: src=, href=, url(…).
	htmlRefRE = regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	cssURLRE  = regexp.MustCompile(`url\(\s*["']?([^"')]+)["']?\s*\)`)
	absURLRE  = regexp.MustCompile(`(?i)\b(?:https?|wss?):\/\/[^\s"'<>)]*`)
)

// resolve turns a reference from a file into a path in the embedded files;
// ok is false for a reference outside them.
func resolve(from, ref string) (string, bool) {
	ref, _, _ = strings.Cut(ref, "#")
	ref, _, _ = strings.Cut(ref, "?")
	switch {
	case strings.HasPrefix(ref, Prefix):
		return strings.TrimPrefix(ref, Prefix), true
	case strings.HasPrefix(ref, "/"), strings.Contains(ref, "://"), strings.HasPrefix(ref, "data:"):
		return ref, false
	}
	return path.Clean(path.Join(path.Dir(from), ref)), true
}

// TestReferencesExist: every file index.html, the CSS and the JS modules
// refer to is embedded, and the app is reachable from index.html.
func TestReferencesExist(t *testing.T) {
	files := staticFiles(t)
	if _, ok := files["index.html"]; !ok {
		t.Fatal("no index.html")
	}
	reached := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		if reached[name] {
			return
		}
		reached[name] = true
		body, ok := files[name]
		if !ok {
			return
		}
		var refs []string
		switch path.Ext(name) {
		case ".html":
			for _, m := range htmlRefRE.FindAllStringSubmatch(body, -1) {
				refs = append(refs, m[1])
			}
		case ".css":
			for _, m := range cssURLRE.FindAllStringSubmatch(body, -1) {
				refs = append(refs, m[1])
			}
		case ".js":
			for _, m := range importRE.FindAllStringSubmatch(body, -1) {
				refs = append(refs, m[1])
			}
		}
		for _, ref := range refs {
			p, ok := resolve(name, ref)
			if !ok {
				t.Errorf("%s refers to %q, outside the embedded files", name, ref)
				continue
			}
			if _, ok := files[p]; !ok {
				t.Errorf("%s refers to %q (%s): not embedded", name, ref, p)
				continue
			}
			walk(p)
		}
	}
	walk("index.html")
	for _, want := range []string{"js/main.js", "app.css", "vendor/uplot/uPlot.esm.js", "vendor/uplot/uPlot.min.css", "fonts/bidwatch-wqy.woff2", "js/pages/overview.js", "js/charts.js"} {
		if !reached[want] {
			t.Errorf("%s is not reached from index.html", want)
		}
	}
	for name := range files {
		if path.Ext(name) == ".js" && !reached[name] {
			t.Errorf("%s is embedded but nothing imports it", name)
		}
	}
}

// isComment reports whether a URL found at index i of a line is in a
// comment: the line is a comment line, or a // or /* comes before it.
func isComment(line string, i int) bool {
	trim := strings.TrimSpace(line)
	for _, p := range []string{"//", "*", "/*", "<!--", "#"} {
		if strings.HasPrefix(trim, p) {
			return true
		}
	}
	before := line[:i]
	return strings.Contains(before, "// ") || strings.Contains(before, "/*") || strings.HasSuffix(strings.TrimSpace(before), "//")
}

// TestNoExternalURLs: nothing the app serves points outside the console —
// no CDN, no font service. URLs in licences, READMEs and comments are
// words, not fetches; an XML namespace is a name.
func TestNoExternalURLs(t *testing.T) {
	for name, body := range staticFiles(t) {
		base := path.Base(name)
		if strings.HasPrefix(base, "LICENSE") || strings.HasPrefix(base, "README") || path.Ext(name) == ".txt" || path.Ext(name) == ".woff2" {
			continue
		}
		for n, line := range strings.Split(body, "\n") {
			for _, loc := range absURLRE.FindAllStringIndex(line, -1) {
				u := line[loc[0]:loc[1]]
				if strings.HasPrefix(u, "http://www.w3.org/") {
					continue
				}
				if isComment(line, loc[0]) {
					continue
				}
				t.Errorf("%s:%d: external URL %s", name, n+1, u)
			}
		}
	}
}

// TestNoInlineScriptOrStyle: the CSP allows no inline script and no style
// attribute, so the HTML has none, and the JS never builds HTML from
// strings.
func TestNoInlineScriptOrStyle(t *testing.T) {
	scriptRE := regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	for name, body := range staticFiles(t) {
		switch path.Ext(name) {
		case ".html", ".svg":
			for _, m := range scriptRE.FindAllStringSubmatch(body, -1) {
				if strings.TrimSpace(m[2]) != "" {
					t.Errorf("%s: inline <script> body", name)
				}
				if !strings.Contains(m[1], "src=") {
					t.Errorf("%s: <script> without src", name)
				}
			}
			if regexp.MustCompile(`(?i)\sstyle\s*=`).MatchString(body) {
				t.Errorf("%s: style= attribute", name)
			}
			if regexp.MustCompile(`(?i)\son[a-z]+\s*=`).MatchString(body) {
				t.Errorf("%s: inline event handler", name)
			}
			if strings.Contains(body, "<style") {
				t.Errorf("%s: <style> element", name)
			}
		case ".js":
			if strings.HasPrefix(name, "vendor/") {
				continue
			}
			for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'", `setAttribute("style"`} {
				if strings.Contains(body, bad) {
					t.Errorf("%s uses %s", name, bad)
				}
			}
		}
	}
}

// TestHandler: the files with their types, index.html for the app's pages,
// 404 for anything else.
func TestHandler(t *testing.T) {
	h := Handler()
	get := func(p string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, p, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	for _, p := range []string{"/", "/login", "/rooms/yz-hall-1", "/incidents", "/incidents/INC-000004", "/incidents/INC-000004/print", "/schedule", "/ack", "/reports", "/incidents/", "/index.html"} {
		w := get(p)
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: %d", p, w.Code)
			continue
		}
		if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", p, ct)
		}
		if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q", p, cc)
		}
		if csp := w.Header().Get("Content-Security-Policy"); csp != CSP {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
		if !strings.Contains(w.Body.String(), `<script type="module" src="/static/js/main.js">`) {
			t.Errorf("GET %s: not index.html", p)
		}
	}
	types := map[string]string{
		"/static/js/main.js":                     "text/javascript; charset=utf-8",
		"/static/vendor/uplot/uPlot.esm.js":      "text/javascript; charset=utf-8",
		"/static/app.css":                        "text/css; charset=utf-8",
		"/static/vendor/uplot/uPlot.min.css":     "text/css; charset=utf-8",
		"/static/fonts/bidwatch-wqy.woff2":       "font/woff2",
		"/static/favicon.svg":                    "image/svg+xml",
		"/static/vendor/uplot/LICENSE":           "text/plain; charset=utf-8",
		"/static/fonts/LICENSE-wqy-microhei.txt": "text/plain; charset=utf-8",
	}
	for p, want := range types {
		w := get(p)
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: %d", p, w.Code)
			continue
		}
		if ct := w.Header().Get("Content-Type"); ct != want {
			t.Errorf("GET %s: Content-Type %q, want %q", p, ct, want)
		}
		etag := w.Header().Get("ETag")
		if etag == "" {
			t.Errorf("GET %s: no ETag", p)
			continue
		}
		if w2 := get(p, "If-None-Match", etag); w2.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", p, w2.Code)
		}
	}
	for _, p := range []string{"/nope", "/static/nope.js", "/static/", "/rooms/", "/rooms/a/b", "/incidents/x/y", "/api/whatever", "/static/index.html", "/static/../web.go"} {
		if w := get(p); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", w.Code)
	}
	if !slices.Equal(Index(), []byte(staticFiles(t)["index.html"])) {
		t.Error("Index() is not index.html")
	}
}

// TestTestIDs: the hooks the browser test uses are in the app.
func TestTestIDs(t *testing.T) {
	var js strings.Builder
	for name, body := range staticFiles(t) {
		if path.Ext(name) == ".js" && !strings.HasPrefix(name, "vendor/") {
			js.WriteString(body)
		}
	}
	all := js.String()
	for _, id := range []string{
		"login-name", "login-password", "login-submit", "login-error", "user-name", "logout", "lang-switch", "stale-banner",
		"tile", "incident-row", "incident-detail", "act-text", "act-error", "print-record", "opening-row", "probe-now",
		"ack-confirm", "ack-result",
	} {
		if !strings.Contains(all, "testid: '"+id+"'") {
			t.Errorf("no element has data-testid %q", id)
		}
	}
	// The action buttons are named "act-" + the action.
	for _, a := range []string{"ack", "note", "mitigate", "resolve", "signoff"} {
		if !strings.Contains(all, "name: '"+a+"'") {
			t.Errorf("no action %q", a)
		}
	}
	if !strings.Contains(all, "testid: 'act-' + a.name") || !strings.Contains(all, "testid: 'act-class'") {
		t.Error("the action buttons' testids changed")
	}
}

// TestI18n: every key has both languages, and every t('key') used exists.
func TestI18n(t *testing.T) {
	files := staticFiles(t)
	src := files["js/i18n.js"]
	dict := func(name string) map[string]bool {
		start := strings.Index(src, "const "+name+" = {")
		if start < 0 {
			t.Fatalf("no %s dictionary", name)
		}
		end := strings.Index(src[start:], "\n};")
		keys := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^\s*'([^']+)':`).FindAllStringSubmatch(src[start:start+end], -1) {
			if keys[m[1]] {
				t.Errorf("%s: %q twice", name, m[1])
			}
			keys[m[1]] = true
		}
		return keys
	}
	zh, en := dict("zh"), dict("en")
	for k := range zh {
		if !en[k] {
			t.Errorf("%q has no English", k)
		}
	}
	for k := range en {
		if !zh[k] {
			t.Errorf("%q has no Chinese", k)
		}
	}
	useRE := regexp.MustCompile(`\bt\('([a-z0-9_.-]+)'\s*[,)]`)
	for name, body := range files {
		if path.Ext(name) != ".js" || strings.HasPrefix(name, "vendor/") {
			continue
		}
		for _, m := range useRE.FindAllStringSubmatch(body, -1) {
			if !zh[m[1]] {
				t.Errorf("%s: t(%q): no such key", name, m[1])
			}
		}
	}
}

// TestFontCoversUI: every CJK character of the UI is in the font subset
// (fonts/chars.txt, written by fonts/make-subset.sh); run the script when
// this fails.
func TestFontCoversUI(t *testing.T) {
	b, err := os.ReadFile("fonts/chars.txt")
	if err != nil {
		t.Fatal(err)
	}
	have := map[rune]bool{}
	for _, r := range string(b) {
		have[r] = true
	}
	missing := map[string][]string{}
	for name, body := range staticFiles(t) {
		switch path.Ext(name) {
		case ".js", ".html", ".css":
		default:
			continue
		}
		if strings.HasPrefix(name, "vendor/") {
			continue
		}
		for _, r := range body {
			if unicode.Is(unicode.Han, r) && !have[r] && !slices.Contains(missing[name], string(r)) {
				missing[name] = append(missing[name], string(r))
			}
		}
	}
	for name, rs := range missing {
		t.Errorf("%s: %s not in the font subset: run console/web/fonts/make-subset.sh", name, strings.Join(rs, ""))
	}
	fi, err := fs.Stat(Static(), "fonts/bidwatch-wqy.woff2")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 1536<<10 {
		t.Errorf("the font subset is %d bytes: keep it under 1.5 MB", fi.Size())
	}
}

func TestIsPage(t *testing.T) {
	for p, want := range map[string]bool{
		"/": true, "/login": true, "/login/": true, "/rooms/x": true, "/rooms/": false, "/rooms": false,
		"/incidents": true, "/incidents/INC-1": true, "/incidents/INC-1/print": true, "/incidents/INC-1/x": false,
		"/schedule": true, "/ack": true, "/reports": true, "/reports/x": false, "/api/me": false, "/static/app.css": false, "": false, "/healthz": false,
	} {
		if got := IsPage(p); got != want {
			t.Errorf("IsPage(%q) = %v, want %v", p, got, want)
		}
	}
}
