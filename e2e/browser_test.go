package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium returns the system browser's path, failing the test with how to
// get one when there is none (`make test` installs it: scripts/test-deps).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium: install it (apt-get install chromium fonts-wqy-microhei), or run make test, which does")
	return ""
}

// newBrowser starts a headless Chromium for the test, with a big screen's
// window, and stops it when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.DisableGPU,
		chromedp.NoSandbox, // CI runs as root
		chromedp.WindowSize(1920, 1080),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	// Start the browser now, so a missing library fails here, clearly.
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		bcancel()
		acancel()
	})
	return bctx
}

// newPage opens a tab in its own browser context: its own cookies, so each
// user signs in separately.
func newPage(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// Open the tab on the page's own context: the first action opens it on
	// the context it is given, and the tab lives only as long as that one
	// (do's timeouts would close it).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// do runs steps, failing the test if they do not finish within timeout.
func do(t *testing.T, ctx context.Context, timeout time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS waits until a JavaScript expression is truthy, checking every
// 50 ms, failing the test after timeout; it returns how long it took.
func waitJS(t *testing.T, ctx context.Context, timeout time.Duration, what, expr string) time.Duration {
	t.Helper()
	start := time.Now()
	check := "!!(" + expr + ")"
	for {
		ectx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok, err := chromedp.Run(ectx, chromedp.Evaluate[bool](check))
		cancel()
		if err == nil && ok {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %s (last error %v)\npage: %s", what, timeout, err, pageState(ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pageState describes the page for a failure's message: its address, the
// tiles' states and the start of its text.
func pageState(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + ' tiles: ' +
		[...document.querySelectorAll('[data-testid="tile"]')].map(e => e.dataset.room + '=' + e.dataset.state).join(' ') +
		' | ' + document.body.innerText.slice(0, 600).replace(/\s+/g, ' ')`))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return s
}

// testid is the CSS selector of an element the page marks for tests.
func testid(id string, more ...string) chromedp.CSS {
	sel := fmt.Sprintf(`[data-testid=%q]`, id)
	for _, m := range more {
		sel += m
	}
	return chromedp.CSS(sel)
}

// login signs a user in through the login page and waits for the page to
// show who is signed in.
func login(t *testing.T, ctx context.Context, c *city, name string) {
	t.Helper()
	do(t, ctx, 30*time.Second, "sign in as "+name,
		chromedp.Navigate(c.url("/")),
		chromedp.WaitVisible(testid("login-name")),
		chromedp.SendKeys(testid("login-name"), name),
		chromedp.SendKeys(testid("login-password"), password),
		chromedp.Click(testid("login-submit")),
		chromedp.WaitVisible(testid("user-name")),
	)
}

// screenshotTo saves a screenshot of the viewport to dir/name, when dir is
// set (BIDWATCH_SCREENSHOTS: make screenshots uses it for the README).
func screenshotTo(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("BIDWATCH_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	img, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), img, 0o644); err != nil {
		t.Error(err)
	}
}

// glyphsRendered checks that the page draws each of these Chinese
// characters as itself: each is put alone in a span in the page's own
// font and screenshotted; with no CJK font, every one would be the same
// empty box (tofu), so the pictures must have ink and all differ.
func glyphsRendered(t *testing.T, ctx context.Context, chars []string) {
	t.Helper()
	var pics [][]byte
	for i, ch := range chars {
		id := fmt.Sprintf("glyph-%d", i)
		eval[bool](t, ctx, fmt.Sprintf(`(() => {
			const s = document.createElement('span');
			s.dataset.testid = %q; s.textContent = %q;
			s.className = 'glyph-probe';
			document.body.appendChild(s);
			return true; })()`, id, ch))
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		img, err := chromedp.Run(sctx, chromedp.ScreenshotScale(testid(id), 4))
		cancel()
		if err != nil {
			t.Fatalf("screenshot %q: %v", ch, err)
		}
		p, err := png.Decode(bytes.NewReader(img))
		if err != nil {
			t.Fatal(err)
		}
		if ink(p) < 20 {
			t.Errorf("%q renders blank (no CJK font?)", ch)
		}
		pics = append(pics, pixels(p))
	}
	for i := range pics {
		for j := i + 1; j < len(pics); j++ {
			if bytes.Equal(pics[i], pics[j]) {
				t.Errorf("%q and %q render the same: boxes, not characters (no CJK font)", chars[i], chars[j])
			}
		}
	}
}

// ink counts the pixels that differ clearly from the top-left one (the
// background).
func ink(img image.Image) int {
	b := img.Bounds()
	r0, g0, b0, _ := img.At(b.Min.X, b.Min.Y).RGBA()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if absDiff(r, r0)+absDiff(g, g0)+absDiff(bl, b0) > 3*0x4000 {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// pixels is an image's pixels, to compare two pictures.
func pixels(img image.Image) []byte {
	b := img.Bounds()
	var out []byte
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bl>>8))
		}
	}
	return out
}
