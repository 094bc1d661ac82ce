package watchdog

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/remedy"
)

// These tests run remediation end to end: the synthetic hall over
// loopback, real WebSocket participants publishing to a private
// redis-server, the watchdog leading and running the city's runbooks, whose
// HTTP steps call the hall's admin API (docs/remedy.md).

// hallAddrOf is the hall's host:port, from the city's room URLs.
func hallAddrOf(city *config.Config) string {
	return strings.TrimPrefix(strings.Split(city.Rooms[0].EventsURL, "/rooms/")[0], "ws://")
}

// withRunbooks puts runbooks in a city and checks it still validates (a
// config built in code gets no defaults: every step has its timeout).
func withRunbooks(t testing.TB, city *config.Config, rbs ...config.Runbook) {
	t.Helper()
	city.Remedy.Runbooks = rbs
	if err := city.Validate(); err != nil {
		t.Fatal(err)
	}
}

// restartRunbook restarts the incident's media server through the hall's
// admin API, then lets the probes see the effect.
func restartRunbook(hallAddr string, verify time.Duration) config.Runbook {
	return config.Runbook{
		Name:  "restart-media",
		Match: config.RunbookMatch{Causes: []string{"server"}, Roles: []string{"media"}},
		Steps: []config.RunbookStep{
			{Name: "restart", Timeout: 5 * time.Second, HTTP: &config.HTTPAction{Method: http.MethodPost,
				URL: "http://" + hallAddr + "/admin/servers/{{.Server}}/restart"}},
			{Name: "settle", Timeout: 5 * time.Second, WaitProbes: 500 * time.Millisecond},
		},
		VerifyWithin: verify,
		Cooldown:     time.Millisecond,
		MaxPerHour:   60,
	}
}

// slowerClear gives the detectors a clear_after of 4 s rather than 2 s:
// verification reads the incident once a second, and must see it clearing
// before it resolves.
func slowerClear(city *config.Config) {
	d := &city.Watchdog.Detect
	d.Latency.ClearAfter, d.Dropout.ClearAfter, d.Stutter.ClearAfter = 4*time.Second, 4*time.Second, 4*time.Second
	for i := range d.Saturation {
		d.Saturation[i].ClearAfter = 4 * time.Second
	}
}

// saturate makes a media server's trouble reach its rooms: its CPU above
// the saturation rule, and a load delaying every frame of its rooms.
func saturate(t testing.TB, h *hall.Hall, server string) {
	t.Helper()
	cpu := 97.0
	if err := h.Server(server).SetHealth(hall.Health{CPUPct: &cpu}); err != nil {
		t.Fatal(err)
	}
	if err := h.Server(server).SetLoad(hall.Load{LatencyMS: 600}); err != nil {
		t.Fatal(err)
	}
}

// getIncident reads one incident.
func getIncident(t testing.TB, w *Watchdog, id string) incident.Incident {
	t.Helper()
	inc, err := w.Store().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// entries returns the timeline entries of a kind (and, when actor is not
// "", by that actor).
func entries(inc incident.Incident, kind, actor string) []incident.Entry {
	var out []incident.Entry
	for _, e := range inc.Timeline {
		if e.Kind == kind && (actor == "" || e.Actor == actor) {
			out = append(out, e)
		}
	}
	return out
}

// hasEntry reports whether the timeline has an entry of a kind whose text
// contains text.
func hasEntry(inc incident.Incident, kind, actor, text string) bool {
	for _, e := range entries(inc, kind, actor) {
		if strings.Contains(e.Text, text) {
			return true
		}
	}
	return false
}

func timeline(inc incident.Incident) string {
	var b strings.Builder
	for _, e := range inc.Timeline {
		fmt.Fprintf(&b, "  %s %-22s %-12s %s\n", e.At.Format("15:04:05.000"), e.Actor, e.Kind, e.Text)
	}
	return b.String()
}

// activeOn waits for an active incident whose cause key is cause:subject and
// returns it.
func activeOn(t testing.TB, w *Watchdog, timeout time.Duration, cause, subject string) incident.Incident {
	t.Helper()
	var inc incident.Incident
	waitFor(t, timeout, "an incident on "+cause+" "+subject, func() bool {
		act, err := w.Store().Active(context.Background())
		if err != nil {
			return false
		}
		for _, i := range act {
			if string(i.Cause) == cause && i.Subject == subject {
				inc = i
				return true
			}
		}
		return false
	})
	return inc
}

// TestRemedyE2EFixes: a media server saturates (CPU 97 %, its rooms' frames
// delayed 600 ms); the runbook restart-media, matching causes [server]
// roles [media], restarts it through the hall's admin API → the probes see
// the rooms well again, the incident is marked mitigated by the runbook
// within verify_within, then resolves as usual; every step is in its
// timeline.
func TestRemedyE2EFixes(t *testing.T) {
	t.Parallel()
	city, h := e2eCity(t)
	slowerClear(city)
	const verify = 20 * time.Second
	withRunbooks(t, city, restartRunbook(hallAddrOf(city), verify))
	b := openBus(t, redisURL(t))
	w := startWatchdog(t, Options{Config: city, Bus: b})
	rooms := []string{"jd-hall-1", "jd-coord-1", "yz-hall-1"}
	startProbe(t, b, city, "yz-probe", "yz", "", rooms, 2)
	startProbe(t, b, city, "jd-probe", "jd", "", rooms, 2)
	settle(t, w, 3*time.Second)

	// The server's load reaches its rooms first: the probes see them lag
	// (room incidents, which the runbook does not match); then its CPU
	// goes high and the rooms' trouble is blamed on it.
	if err := h.Server("jd-media-1").SetLoad(hall.Load{LatencyMS: 600}); err != nil {
		t.Fatal(err)
	}
	fault := time.Now()
	waitFor(t, 10*time.Second, "the rooms lagging", func() bool { return len(incidents(t, w.Watchdog)) > 0 })
	lagging := time.Now()
	saturate(t, h, "jd-media-1")
	inc := activeOn(t, w.Watchdog, 15*time.Second, "server", "jd-media-1")
	t.Logf("load → rooms lagging in %s; CPU high → server incident %s in %s", lagging.Sub(fault).Round(time.Millisecond),
		inc.ID, time.Since(lagging).Round(time.Millisecond))

	actor := remedy.Actor("restart-media")
	waitFor(t, verify+10*time.Second, "the incident mitigated by the runbook", func() bool {
		return len(entries(getIncident(t, w.Watchdog, inc.ID), "mitigated", actor)) > 0
	})
	waitFor(t, 30*time.Second, "the incident resolved", func() bool {
		return getIncident(t, w.Watchdog, inc.ID).State == incident.StateResolved
	})
	inc = getIncident(t, w.Watchdog, inc.ID)
	t.Logf("timeline of %s:\n%s", inc.ID, timeline(inc))
	if got := incidents(t, w.Watchdog); len(got) != 2 || got[0].State == incident.StateOpen || got[1].State == incident.StateOpen {
		t.Errorf("incidents (one room incident merged into the server's):\n%s", describe(got))
	}

	steps := entries(inc, remedy.KindRemedy, actor)
	if len(steps) < 3 || !strings.Contains(steps[0].Text, "started on server:jd-media-1") ||
		!strings.Contains(steps[1].Text, "step 1/2 restart") || !strings.Contains(steps[1].Text, "/admin/servers/jd-media-1/restart → ok") ||
		!strings.Contains(steps[2].Text, "step 2/2 settle") {
		t.Fatalf("the runbook's entries in the timeline:\n%s", timeline(inc))
	}
	started := steps[0].At
	mit := entries(inc, "mitigated", actor)[0]
	if took := mit.At.Sub(started); took > verify+2*time.Second {
		t.Errorf("mitigated %s after the runbook started, verify_within %s", took, verify)
	}
	res := entries(inc, "resolved", "")
	if inc.MitigatedAt.IsZero() || len(res) != 1 || res[0].At.Before(mit.At) {
		t.Errorf("mitigated at %s, then resolved: %+v", inc.MitigatedAt, res)
	}
	if n := h.Server("jd-media-1").Restarts(); n != 1 {
		t.Errorf("jd-media-1 restarted %d times, want once", n)
	}
	ctx := context.Background()
	atts := remedy.NewAttempts(b.Client(), b.Prefix())
	a, err := atts.Load(ctx, atts.AttemptKey(inc.ID, "restart-media", inc.Reopens))
	if err != nil {
		t.Fatal(err)
	}
	if a.State != remedy.AttemptVerified || len(a.Steps) != 2 || !a.Steps[0].OK || !a.Steps[1].OK || a.Target != "server:jd-media-1" {
		t.Errorf("attempt %+v", a)
	}
	st, err := remedy.NewStates(b.Client(), b.Prefix()).Get(ctx, "restart-media")
	if err != nil || st.Suspended || st.Failures != 0 || len(st.Runs) != 1 || st.Runs[0].Result != string(remedy.AttemptVerified) {
		t.Errorf("runbook state %+v, %v", st, err)
	}
	t.Logf("fault → runbook started %s, → verified (mitigated) %s, → resolved %s",
		started.Sub(fault).Round(time.Millisecond), mit.At.Sub(fault).Round(time.Millisecond), res[0].At.Sub(fault).Round(time.Millisecond))
}

// TestRemedyE2EDoesNotFix: a room refuses and drops its bidders; the
// runbook that matches it only reads the hall's server list, which fixes
// nothing → after verify_within the incident is escalated (an escalate
// event for dispatch, an entry in the timeline) and the runbook has failed
// once; a second incident → failed twice → suspended; a third → refused
// ("suspended"), recorded in its timeline.
func TestRemedyE2EDoesNotFix(t *testing.T) {
	t.Parallel()
	city, h := e2eCity(t)
	city.Watchdog.Incidents.ReopenWithin = 0 // each fault a new incident
	const verify = 4 * time.Second
	const name = "look-at-servers"
	withRunbooks(t, city, config.Runbook{
		Name:  name,
		Match: config.RunbookMatch{Causes: []string{"room"}, Rooms: []string{"by-hall-1"}},
		Steps: []config.RunbookStep{{Name: "list", Timeout: 5 * time.Second,
			HTTP: &config.HTTPAction{Method: http.MethodGet, URL: "http://" + hallAddrOf(city) + "/admin/servers"}}},
		VerifyWithin: verify,
		Cooldown:     time.Millisecond,
		MaxPerHour:   60,
	})
	b := openBus(t, redisURL(t))
	w := startWatchdog(t, Options{Config: city, Bus: b, NoHealth: true})
	const room = "by-hall-1"
	startProbe(t, b, city, "yz-probe", "yz", "", []string{room}, 2)
	startProbe(t, b, city, "jd-probe", "jd", "", []string{room}, 2)
	settle(t, w, 3*time.Second)

	ctx := context.Background()
	states := remedy.NewStates(b.Client(), b.Prefix())
	actor := remedy.Actor(name)
	// fault breaks the room until its incident meets done, then mends it
	// and waits for the incident to resolve.
	fault := func(n int, what string, done func(incident.Incident) bool) incident.Incident {
		t.Helper()
		if err := h.Room(room).SetFault(hall.Fault{Refuse: true, Drop: true}); err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		inc := activeOn(t, w.Watchdog, 10*time.Second, "room", room)
		waitFor(t, verify+15*time.Second, fmt.Sprintf("incident %d (%s): %s", n, inc.ID, what), func() bool {
			return done(getIncident(t, w.Watchdog, inc.ID))
		})
		inc = getIncident(t, w.Watchdog, inc.ID)
		t.Logf("incident %d %s, %s after the fault:\n%s", n, inc.ID, time.Since(at).Round(time.Millisecond), timeline(inc))
		h.Room(room).ClearFault()
		waitFor(t, 20*time.Second, fmt.Sprintf("incident %d resolved", n), func() bool {
			return getIncident(t, w.Watchdog, inc.ID).State == incident.StateResolved
		})
		return inc
	}
	failed := func(inc incident.Incident) bool { return hasEntry(inc, remedy.KindRemedy, actor, "failed: ") }

	// 1: escalated after verify_within, one failure.
	first := fault(1, "the runbook failed", failed)
	if !hasEntry(first, "escalated", incident.Actor, "runbook "+name) || !hasEntry(first, remedy.KindRemedy, actor, "; escalated") {
		t.Errorf("incident 1 not escalated:\n%s", timeline(first))
	}
	steps := entries(first, remedy.KindRemedy, actor)
	if len(steps) < 3 || !strings.Contains(steps[1].Text, "step 1/1 list") || !strings.Contains(steps[1].Text, "→ ok") {
		t.Errorf("incident 1 steps:\n%s", timeline(first))
	}
	if took := steps[2].At.Sub(steps[0].At); took < verify || took > verify+3*time.Second {
		t.Errorf("failed %s after the start, verify_within %s", took, verify)
	}
	escalates := escalateEvents(t, w.Watchdog, first.ID)
	if escalates != 1 {
		t.Errorf("%d escalate events for %s, want 1", escalates, first.ID)
	}
	st, err := states.Get(ctx, name)
	if err != nil || st.Failures != 1 || st.Suspended {
		t.Fatalf("after one failure: %+v, %v", st, err)
	}

	// 2: failed again → suspended.
	second := fault(2, "the runbook suspended", func(inc incident.Incident) bool {
		return hasEntry(inc, remedy.KindRemedy, actor, "suspended after")
	})
	if second.ID == first.ID || !hasEntry(second, "escalated", incident.Actor, "runbook "+name) {
		t.Errorf("incident 2 (%s after %s) not escalated:\n%s", second.ID, first.ID, timeline(second))
	}
	st, err = states.Get(ctx, name)
	if err != nil || st.Failures != 2 || !st.Suspended || !strings.Contains(st.Reason, "2 failed verifications in a row") {
		t.Fatalf("after two failures: %+v, %v", st, err)
	}

	// 3: refused, the runbook is suspended; nothing runs.
	third := fault(3, "the runbook refused", func(inc incident.Incident) bool {
		return hasEntry(inc, remedy.KindRemedy, actor, "refused: ")
	})
	if !hasEntry(third, remedy.KindRemedy, actor, "is suspended") || hasEntry(third, remedy.KindRemedy, actor, "started on") ||
		hasEntry(third, "escalated", "", "") {
		t.Errorf("incident 3:\n%s", timeline(third))
	}
	st, err = states.Get(ctx, name)
	if err != nil || len(st.Runs) != 3 || st.Runs[0].Result != string(remedy.AttemptRefused) ||
		st.Runs[1].Result != string(remedy.AttemptFailed) || st.Runs[2].Result != string(remedy.AttemptFailed) {
		t.Errorf("runs %+v, %v", st.Runs, err)
	}
}

// escalateEvents counts the escalate events published for an incident.
func escalateEvents(t testing.TB, w *Watchdog, id string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := w.Store().Events(ctx, "0-0")
	n := 0
	idle := time.NewTimer(2 * time.Second)
	defer idle.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return n
			}
			if ev.Kind == incident.EventEscalate && ev.Incident.ID == id {
				n++
			}
			idle.Reset(500 * time.Millisecond)
		case <-idle.C:
			return n
		}
	}
}

// blockingAdmin is an admin API whose every call blocks until released (or
// until its caller gives up), counting the calls.
type blockingAdmin struct {
	srv     *httptest.Server
	calls   atomic.Int64
	release chan struct{}
	once    sync.Once
	// gaveUp counts the calls whose caller went away before the release.
	gaveUp atomic.Int64
}

func newBlockingAdmin(t *testing.T) *blockingAdmin {
	a := &blockingAdmin{release: make(chan struct{})}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		select {
		case <-a.release:
			fmt.Fprintln(w, "done")
		case <-r.Context().Done():
			a.gaveUp.Add(1)
		}
	}))
	t.Cleanup(func() {
		a.open()
		a.srv.Close()
	})
	return a
}

func (a *blockingAdmin) open() { a.once.Do(func() { close(a.release) }) }

// TestRemedyE2ELeaderKilled: two watchdog replicas on one Redis; the
// leader starts a runbook whose first step blocks in the admin API, and is
// killed (its context cancelled) while the step is in flight. The other
// replica takes over: the step is not called again, the attempt is recorded
// interrupted with its later step skipped, and it goes on to verification;
// the room mended meanwhile, it verifies and marks the incident mitigated.
func TestRemedyE2ELeaderKilled(t *testing.T) {
	t.Parallel()
	city, h := e2eCity(t)
	admin := newBlockingAdmin(t)
	const name, room = "clear-room", "gy-hall-1"
	const verify = 20 * time.Second
	withRunbooks(t, city, config.Runbook{
		Name:  name,
		Match: config.RunbookMatch{Causes: []string{"room"}, Rooms: []string{room}},
		Steps: []config.RunbookStep{
			{Name: "ask", Timeout: 30 * time.Second, HTTP: &config.HTTPAction{Method: http.MethodPost, URL: admin.srv.URL + "/ask/{{.Room}}"}},
			{Name: "clear", Timeout: 5 * time.Second, HTTP: &config.HTTPAction{Method: http.MethodPost,
				URL: "http://" + hallAddrOf(city) + "/admin/rooms/{{.Room}}/clear"}},
		},
		VerifyWithin: verify,
		Cooldown:     time.Millisecond,
		MaxPerHour:   60,
	})
	url := redisURL(t)
	reps := map[string]*running{}
	for _, id := range []string{"replica-a", "replica-b"} {
		reps[id] = startWatchdog(t, Options{Config: city, Bus: openBus(t, url), ID: id, NoHealth: true})
	}
	b := openBus(t, url)
	startProbe(t, b, city, "yz-probe", "yz", "", []string{room}, 2)
	startProbe(t, b, city, "jd-probe", "jd", "", []string{room}, 2)
	var leader, other *running
	waitFor(t, 10*time.Second, "a leader", func() bool {
		for _, r := range reps {
			if r.Leader() {
				leader = r
			}
		}
		return leader != nil
	})
	for _, r := range reps {
		if r != leader {
			other = r
		}
	}
	settle(t, leader, 3*time.Second)

	if err := h.Room(room).SetFault(hall.Fault{Refuse: true, Drop: true}); err != nil {
		t.Fatal(err)
	}
	inc := activeOn(t, leader.Watchdog, 10*time.Second, "room", room)
	waitFor(t, 10*time.Second, "the first step in flight", func() bool { return admin.calls.Load() == 1 })
	time.Sleep(300 * time.Millisecond)
	leader.stop(t)
	killed := time.Now()
	t.Logf("stopped the leader %s in step 1 of %s on %s", leader.ID(), name, inc.ID)
	waitFor(t, 5*time.Second, "the step's call given up", func() bool { return admin.gaveUp.Load() == 1 })
	waitFor(t, 10*time.Second, "the other replica leading", other.Leader)

	actor := remedy.Actor(name)
	waitFor(t, 10*time.Second, "the attempt recorded interrupted", func() bool {
		return hasEntry(getIncident(t, other.Watchdog, inc.ID), remedy.KindRemedy, actor, "interrupted in step 1/2 ask")
	})
	t.Logf("the new leader took the attempt over %s after the kill", time.Since(killed).Round(time.Millisecond))
	// Staff mend the room by hand meanwhile; the probes see it and the
	// interrupted attempt verifies.
	h.Room(room).ClearFault()
	waitFor(t, verify+5*time.Second, "the incident mitigated by the runbook", func() bool {
		return len(entries(getIncident(t, other.Watchdog, inc.ID), "mitigated", actor)) > 0
	})
	waitFor(t, 20*time.Second, "the incident resolved", func() bool {
		return getIncident(t, other.Watchdog, inc.ID).State == incident.StateResolved
	})
	inc = getIncident(t, other.Watchdog, inc.ID)
	t.Logf("timeline of %s:\n%s", inc.ID, timeline(inc))

	if n := admin.calls.Load(); n != 1 {
		t.Errorf("the blocking step was called %d times, want once", n)
	}
	if hasEntry(inc, remedy.KindRemedy, actor, "step 2/2") || hasEntry(inc, remedy.KindRemedy, actor, "failed") ||
		!hasEntry(inc, remedy.KindRemedy, actor, "1 later steps skipped") {
		t.Errorf("timeline:\n%s", timeline(inc))
	}
	atts := remedy.NewAttempts(b.Client(), b.Prefix())
	a, err := atts.Load(context.Background(), atts.AttemptKey(inc.ID, name, inc.Reopens))
	if err != nil {
		t.Fatal(err)
	}
	if a.State != remedy.AttemptVerified || !a.Steps[0].Interrupted || a.Steps[0].OK || !a.Steps[1].Started.IsZero() {
		t.Errorf("attempt %+v", a)
	}
}
