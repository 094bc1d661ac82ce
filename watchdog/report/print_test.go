package report

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var (
	update   = flag.Bool("update", false, "rewrite the golden files under testdata")
	printOut = flag.String("print-out", "", "also keep the printed report (PDF and page PNGs) in this directory")
)

// tool returns a program's path, failing the test with how to get it.
func tool(t *testing.T, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("no %s: install it (scripts/test-deps installs chromium, poppler-utils and fonts-wqy-microhei), or run make test, which does", names[0])
	return ""
}

// printPDF renders the page in headless Chromium and prints it to PDF as
// the CSS asks (A4).
func printPDF(t *testing.T, html []byte) []byte {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(html)
	}))
	t.Cleanup(srv.Close)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(tool(t, "chromium", "chromium-browser", "google-chrome")),
		chromedp.DisableGPU,
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	// Start the browser and open the tab on its long-lived context: the
	// timed steps below must not own the tab.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL), chromedp.WaitReady("footer")); err != nil {
		t.Fatalf("open the report: %v", err)
	}
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPreferCSSPageSize(), chromedp.PDFPrintBackground()))
	if err != nil {
		t.Fatalf("print to PDF: %v", err)
	}
	return pdf
}

// run runs a program, failing the test if it fails.
func runTool(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out
}

// TestPrint prints the synthetic month's report in headless Chromium: the
// PDF's text holds the Chinese title and headings, each part begins a new
// A4 page, the font is a CJK one, and the chart pages carry the charts'
// colours.
func TestPrint(t *testing.T) {
	rep, err := Build(context.Background(), fixture(t), november(t))
	if err != nil {
		t.Fatal(err)
	}
	var html bytes.Buffer
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	pdf := printPDF(t, html.Bytes())
	dir := t.TempDir()
	if *printOut != "" {
		dir = *printOut
		_ = os.MkdirAll(dir, 0o755)
		_ = os.WriteFile(filepath.Join(dir, "report.html"), html.Bytes(), 0o644)
	}
	pdfPath := filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(pdfPath, pdf, 0o644); err != nil {
		t.Fatal(err)
	}

	// The text, page by page (pdftotext ends each page with a form feed).
	text := string(runTool(t, tool(t, "pdftotext"), "-layout", "-enc", "UTF-8", pdfPath, "-"))
	pages := strings.Split(strings.TrimRight(text, "\f\n "), "\f")
	if len(pages) < 6 {
		t.Fatalf("%d pages, want at least 6 (a part a page)", len(pages))
	}
	for _, want := range []string{"2026年11月 运维月报 — 扬州市", "与上期（2026年10月）对比", "开标一厅", "高邮分中心",
		"故障与 SLA", "部分功能故障", "超时故障及原因", "日常巡检", "服务器健康", "CPU 使用率", "交易中心审核", "签字", "日期", "证据链"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q", want)
		}
	}
	// Each part begins a page.
	for _, heading := range []string{"可用率与延时（参会方视角）", "开标场次", "故障与 SLA", "日常巡检", "服务器健康", "最差房间与重复出现的问题"} {
		found := false
		for _, p := range pages[1:] {
			if strings.HasPrefix(strings.TrimSpace(p), heading) {
				found = true
			}
		}
		if !found {
			t.Errorf("no page begins with %q", heading)
		}
	}
	// Every page's foot: the report, the chain head, the page number.
	for i, p := range pages {
		flat := strings.Join(strings.Fields(p), "")
		if !strings.Contains(flat, "证据链第42条9f86d081884c7d65") || !strings.Contains(flat, "第"+strconv.Itoa(i+1)+"页/共"+strconv.Itoa(len(pages))+"页") {
			t.Errorf("page %d's foot lacks the chain head or its number:\n%s", i+1, p[max(0, len(p)-300):])
		}
	}
	// A4: 595 × 842 points.
	info := string(runTool(t, tool(t, "pdfinfo"), pdfPath))
	if !strings.Contains(info, "(A4)") {
		t.Errorf("not A4:\n%s", info)
	}
	fonts := string(runTool(t, tool(t, "pdffonts"), pdfPath))
	if !regexp.MustCompile(`(?i)wenquanyi|wqy|cjk|hei`).MatchString(fonts) {
		t.Errorf("no CJK font in the PDF:\n%s", fonts)
	}

	// The pages as images: the availability and round-trip charts (page 2)
	// and the SLA class chart (the incidents' page) are drawn.
	runTool(t, tool(t, "pdftoppm"), "-r", "60", "-png", pdfPath, filepath.Join(dir, "page"))
	pngs, _ := filepath.Glob(filepath.Join(dir, "page-*.png"))
	if len(pngs) != len(pages) {
		t.Fatalf("%d page images for %d pages", len(pngs), len(pages))
	}
	count := func(page int, hex string) int {
		img := readPNG(t, pngs[page])
		want := rgb(hex)
		n := 0
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if near8(r, want[0]) && near8(g, want[1]) && near8(bl, want[2]) {
					n++
				}
			}
		}
		return n
	}
	for _, c := range []struct {
		page  int
		color string
		what  string
	}{
		{1, ColorAvailability, "availability line"},
		{1, ColorGood, "good share line"},
		{1, ColorRTT, "round-trip line"},
		{incidentsPage(pages), classColors[0], "minor bar"},
		{incidentsPage(pages), classColors[2], "outage bar"},
		{pageOf(pages, "日常巡检"), ColorChecked, "patrol map"},
	} {
		if n := count(c.page, c.color); n < 20 {
			t.Errorf("page %d: %d pixels of the %s's colour %s, want a chart", c.page+1, n, c.what, c.color)
		}
	}
	// The first page is not blank: dark text pixels.
	if n := count(0, "#222222"); n < 200 {
		t.Errorf("page 1 has %d text pixels", n)
	}
}

func incidentsPage(pages []string) int { return pageOf(pages, "故障与 SLA") }

// pageOf is the index of the page that begins with a heading.
func pageOf(pages []string, heading string) int {
	for i, p := range pages {
		if strings.HasPrefix(strings.TrimSpace(p), heading) {
			return i
		}
	}
	return 0
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func rgb(hex string) [3]uint32 {
	var v [3]uint32
	for i := range v {
		var x uint32
		for _, c := range hex[1+2*i : 3+2*i] {
			x *= 16
			switch {
			case c >= '0' && c <= '9':
				x += uint32(c - '0')
			case c >= 'a' && c <= 'f':
				x += uint32(c-'a') + 10
			}
		}
		v[i] = x
	}
	return v
}

// near8 compares a 16-bit channel with an 8-bit one, allowing for
// anti-aliasing.
func near8(c16, c8 uint32) bool {
	d := int(c16>>8) - int(c8)
	return d >= -12 && d <= 12
}

// TestHTMLStructure checks the report's structure — its parts, headings
// and table columns, not its numbers — against a golden file (go test
// -run TestHTMLStructure -update rewrites it).
func TestHTMLStructure(t *testing.T) {
	rep, err := Build(context.Background(), fixture(t), november(t))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	got := structure(b.String())
	golden := filepath.Join("testdata", "report.structure.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run TestHTMLStructure -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("the report's structure changed (go test -run TestHTMLStructure -update if it should):\n%s", diffLines(string(want), got))
	}
	if strings.Contains(b.String(), "<script") {
		t.Error("the report has a script")
	}
}

var (
	tagRe  = regexp.MustCompile(`(?s)<(section) id="([^"]+)"|<(h[123])>(.*?)</h[123]>|<(thead)>(.*?)</thead>|<(svg) class="chart"[^>]*aria-label="([^"]*)"|<(div) class="(sign)">`)
	thRe   = regexp.MustCompile(`<th>(.*?)</th>`)
	markRe = regexp.MustCompile(`<[^>]+>`)
)

// structure lists the parts, headings, table columns and charts, one a
// line, indented by level.
func structure(html string) string {
	var out strings.Builder
	for _, m := range tagRe.FindAllStringSubmatch(html, -1) {
		switch {
		case m[1] != "":
			out.WriteString("section #" + m[2] + "\n")
		case m[3] != "":
			out.WriteString("  " + m[3] + " " + markRe.ReplaceAllString(m[4], "") + "\n")
		case m[5] != "":
			var cols []string
			for _, th := range thRe.FindAllStringSubmatch(m[6], -1) {
				cols = append(cols, th[1])
			}
			out.WriteString("    table | " + strings.Join(cols, " | ") + "\n")
		case m[7] != "":
			out.WriteString("    chart " + m[8] + "\n")
		case m[9] != "":
			out.WriteString("    signature block\n")
		}
	}
	return out.String()
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			out.WriteString("- " + a + "\n+ " + b + "\n")
		}
	}
	return out.String()
}
