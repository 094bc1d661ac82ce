package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// faultRoom is the room the test breaks.
const faultRoom = "yz-hall-1"

// TestConsole is what on-site staff do with the console during an
// opening, in a real browser: sign in, see the city, see a fault turn its
// room red and its incident appear, acknowledge it, have it signed off;
// a viewer may not act; the page rides out a console restart; the Chinese
// text is drawn as characters.
func TestConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole city and a browser")
	}
	c := startCity(t)
	browser := newBrowser(t)

	// The operator signs in and sees the demo city, every room live.
	op := newPage(t, browser)
	login(t, op, c, "zhang")
	rooms := len(c.cfg.Rooms)
	waitJS(t, op, 60*time.Second, "every room's tile ok",
		fmt.Sprintf(`document.querySelectorAll('[data-testid="tile"][data-state="ok"]').length === %d`, rooms))
	body := eval[string](t, op, `document.body.innerText`)
	for _, want := range []string{c.cfg.City.Name, c.cfg.SubCenters[0].Name, c.cfg.Rooms[0].Name} {
		if !strings.Contains(body, want) {
			t.Errorf("the overview does not show %q", want)
		}
	}

	if os.Getenv("BIDWATCH_SCREENSHOTS") != "" {
		// For the README: a city's everyday latency (loopback has
		// none), and time for the sparklines to fill.
		if err := c.hall.SetFaultAll(hall.Fault{LatencyMS: 25, JitterMS: 30}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Second)
	}

	// A fault in the hall: the room drops every bidder and refuses them
	// back. Its tile turns red within 3 s.
	if err := c.hall.Room(faultRoom).SetFault(hall.Fault{Drop: true, Refuse: true}); err != nil {
		t.Fatal(err)
	}
	took := waitJS(t, op, 3*time.Second, "the fault's tile red",
		fmt.Sprintf(`!!document.querySelector('[data-testid="tile"][data-room=%q][data-state="down"]')`, faultRoom))
	t.Logf("fault → tile red in %s", took.Round(10*time.Millisecond))

	// The incident appears.
	id := waitIncident(t, c, 30*time.Second)
	do(t, op, 20*time.Second, "the incident in the list",
		chromedp.Navigate(c.url("/incidents")),
		chromedp.WaitVisible(testid("incident-row", fmt.Sprintf("[data-id=%q]", id))),
	)
	do(t, op, 10*time.Second, "back to the overview", chromedp.Navigate(c.url("/")), chromedp.WaitVisible(testid("tile")))
	screenshotTo(t, op, "overview.png")

	// A viewer (the big screen's login) may look but not act: no button,
	// and a request made by hand is refused.
	viewer := newPage(t, browser)
	login(t, viewer, c, "screen")
	do(t, viewer, 20*time.Second, "the viewer opens the incident",
		chromedp.Navigate(c.url("/incidents/"+id)),
		chromedp.WaitVisible(testid("incident-detail")),
	)
	if n := eval[int](t, viewer, `document.querySelectorAll('[data-testid^="act-"]:not([data-testid="act-error"]):not([data-testid="act-text"])').length`); n != 0 {
		t.Errorf("a viewer is offered %d actions", n)
	}
	status := eval[int](t, viewer, fmt.Sprintf(`(async () => {
		const me = await (await fetch('/api/me')).json();
		const r = await fetch('/api/incidents/%s/ack', {method: 'POST', headers: {'X-CSRF-Token': me.csrf, 'Content-Type': 'application/json'}, body: '{}'});
		return r.status; })()`, id))
	if status != 403 {
		t.Errorf("a viewer's acknowledge: status %d, want 403", status)
	}

	// The operator acknowledges it.
	do(t, op, 20*time.Second, "acknowledge",
		chromedp.Navigate(c.url("/incidents/"+id)),
		chromedp.WaitVisible(testid("act-ack")),
		chromedp.Click(testid("act-ack")),
	)
	waitJS(t, op, 10*time.Second, "the detail shows acknowledged",
		`!!document.querySelector('[data-testid="incident-detail"][data-state="acknowledged"]')`)
	screenshotTo(t, op, "incident.png")
	inc, err := c.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if inc.State != incident.StateAcknowledged || !hasEntry(inc, "acknowledged", "张工 (zhang)") {
		t.Errorf("after the operator's acknowledge: state %s, timeline %+v", inc.State, inc.Timeline)
	}

	// The fault ends; the incident is resolved (by the operator, or by the
	// watchdog if it sees the symptoms end first).
	if err := c.hall.Room(faultRoom).SetFault(hall.Fault{}); err != nil {
		t.Fatal(err)
	}
	resolveOrWait(t, c, op, id)

	// A supervisor signs it off.
	sup := newPage(t, browser)
	login(t, sup, c, "li")
	do(t, sup, 20*time.Second, "sign off",
		chromedp.Navigate(c.url("/incidents/"+id)),
		chromedp.WaitVisible(testid("act-signoff")),
		chromedp.SendKeys(testid("act-text"), "同意，记录属实"),
		chromedp.Click(testid("act-signoff")),
	)
	waitJS(t, sup, 10*time.Second, "the detail shows signed off",
		`!!document.querySelector('[data-testid="incident-detail"][data-state="signed_off"]')`)
	if inc, err = c.store.Get(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if inc.State != incident.StateSignedOff || !strings.Contains(inc.SignedOffBy, "li") {
		t.Errorf("after the sign-off: state %s, signed off by %q", inc.State, inc.SignedOffBy)
	}

	// The supervisor reads today's report on the Reports page: the
	// figures come from the roll-ups the watchdog made of this run's
	// Samples (the fault's dropouts cost availability) and the incident
	// just signed off; the printable report opens as its own page.
	do(t, sup, 20*time.Second, "the Reports page",
		chromedp.Navigate(c.url("/reports?period=day")),
		chromedp.WaitVisible(testid("report-title")),
	)
	if n := eval[int](t, sup, `document.querySelectorAll('[data-testid="kpi-availability"]').length`); n != 1 {
		t.Fatalf("no figures on the Reports page: %q", eval[string](t, sup, `document.querySelector('[data-testid="report-body"]').innerText`))
	}
	if title := eval[string](t, sup, `document.querySelector('[data-testid="report-title"]').textContent`); !strings.Contains(title, "日报") {
		t.Errorf("the report's title %q is not a day report (日报)", title)
	}
	avail := eval[string](t, sup, `document.querySelector('[data-testid="kpi-availability"] b').textContent`)
	incidents := eval[string](t, sup, `document.querySelector('[data-testid="kpi-incidents"] b').textContent`)
	if !strings.HasSuffix(avail, "%") || strings.HasPrefix(avail, "100.00") || incidents == "0" {
		t.Errorf("today's report: availability %q (want under 100 %%: the fault dropped bidders), incidents %q (want the signed-off one)", avail, incidents)
	}
	href := eval[string](t, sup, `document.querySelector('[data-testid="report-html"]').getAttribute('href')`)
	do(t, sup, 20*time.Second, "the printable report",
		chromedp.Navigate(c.url(href)),
		chromedp.WaitReady(`h1`),
	)
	if h1 := eval[string](t, sup, `document.querySelector('h1').textContent`); !strings.Contains(h1, "运维") {
		t.Errorf("the printable report's heading %q", h1)
	}

	// The console restarts: the page says what it shows is stale, then
	// carries on by itself.
	do(t, op, 10*time.Second, "the overview", chromedp.Navigate(c.url("/")), chromedp.WaitVisible(testid("tile")))
	waitJS(t, op, 10*time.Second, "fresh at first", `document.querySelector('[data-testid="stale-banner"]') === null || document.querySelector('[data-testid="stale-banner"]').hidden`)
	c.stopConsole()
	waitJS(t, op, 10*time.Second, "the stale banner while the console is away",
		`(() => { const b = document.querySelector('[data-testid="stale-banner"]'); return !!b && !b.hidden && b.offsetParent !== null; })()`)
	c.startConsole(t, nil)
	waitJS(t, op, 20*time.Second, "the banner gone once the console is back",
		`(() => { const b = document.querySelector('[data-testid="stale-banner"]'); return !b || b.hidden; })()`)
	// Live again: every room shows what its probes measure now (a
	// latency incident the loaded test machine raised meanwhile may leave
	// a room degraded; none is unknown or idle).
	waitJS(t, op, 20*time.Second, "live again",
		fmt.Sprintf(`document.querySelectorAll('[data-testid="tile"][data-state="ok"], [data-testid="tile"][data-state="degraded"]').length === %d`, rooms))

	// The Chinese text is drawn as characters, in the page's own font.
	glyphsRendered(t, op, []string{"交", "易", "中", "心"})
}

// waitIncident waits for the watchdog to open an incident for the fault's
// room, and returns its id.
func waitIncident(t *testing.T, c *city, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		list, err := c.store.Active(context.Background())
		if err == nil {
			for _, inc := range list {
				if slices.Contains(inc.Place.Rooms, faultRoom) {
					return inc.ID
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no incident for %s within %s (active: %d, err %v)", faultRoom, timeout, len(list), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// resolveOrWait resolves the incident from the page while it is still
// open to that, or else finds the watchdog resolved it (its symptoms
// ended), and sees the page show it resolved.
func resolveOrWait(t *testing.T, c *city, ctx context.Context, id string) {
	t.Helper()
	waitJS(t, ctx, 30*time.Second, "resolvable or resolved",
		`!!document.querySelector('[data-testid="act-resolve"]') || !!document.querySelector('[data-testid="incident-detail"][data-state="resolved"]')`)
	if eval[bool](t, ctx, `!!document.querySelector('[data-testid="act-resolve"]')`) {
		do(t, ctx, 10*time.Second, "resolve",
			chromedp.SendKeys(testid("act-text"), "网关已恢复，投标人已重新进入"),
			chromedp.Click(testid("act-resolve")),
		)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		inc, err := c.store.Get(context.Background(), id)
		if err == nil && inc.State == incident.StateResolved {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("incident %s not resolved within 30 s (state %s, err %v)", id, inc.State, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	do(t, ctx, 20*time.Second, "reload the incident",
		chromedp.Navigate(c.url("/incidents/"+id)),
		chromedp.WaitVisible(testid("incident-detail", `[data-state="resolved"]`)),
	)
}

// hasEntry reports whether the timeline has an entry of kind by actor.
func hasEntry(inc incident.Incident, kind, actor string) bool {
	for _, e := range inc.Timeline {
		if e.Kind == kind && e.Actor == actor {
			return true
		}
	}
	return false
}
