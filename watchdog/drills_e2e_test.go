package watchdog

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/synthetic/hall/drill"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
	"github.com/bidwatch/bidwatch/watchdog/drills"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// TestDrillE2EScored plays a drill script against the hall over loopback
// while real probes watch it and the watchdog leads with dispatch, records
// the run in the watchdog's Redis, has a duty officer acknowledge the
// incident, and scores the run: the saturated media server's incident is
// the drill's, blamed on the server with its rooms, detected, alerted,
// acknowledged and resolved within the targets, and nothing else is left
// unexplained.
func TestDrillE2EScored(t *testing.T) {
	t.Parallel()
	city, h := e2eCity(t)
	phones := httptest.NewServer(&channel.Receiver{Deliver: func(channel.WebhookBody) {}})
	t.Cleanup(phones.Close)
	if err := withDispatch(city, phones.URL); err != nil {
		t.Fatal(err)
	}
	b := openBus(t, redisURL(t))
	w := startWatchdog(t, Options{Config: city, Bus: b})
	rooms := []string{"jd-hall-1", "jd-coord-1", "yz-hall-1"}
	startProbe(t, b, city, "yz-probe", "yz", "", rooms, 2)
	startProbe(t, b, city, "jd-probe", "jd", "", rooms, 2)
	settle(t, w, 3*time.Second)

	script, err := drill.Parse([]byte(`
name: e2e drill
drills:
  - name: "media server jd-media-1 saturated: CPU 97 %, its rooms lag 600 ms"
    hold: 12s
    pause: 1s
    faults:
      - {server: jd-media-1, cpu_pct: 97, rooms_fault: {latency_ms: 600}}
    expect:
      - {cause: server, subject: jd-media-1, rooms: [jd-coord-1, jd-hall-1], place: [jd]}
`))
	if err != nil {
		t.Fatal(err)
	}
	store := drills.NewStore(b.Client(), b.Prefix())
	rec, err := drills.NewRecorder(store, city, "e2e", testLogger(t)).Begin(context.Background(), script, "e2e.yaml", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	played := make(chan error, 1)
	go func() {
		played <- drill.Run(ctx, drill.HallTarget{Hall: h}, script, drill.Options{OnEvent: rec.OnEvent})
	}()

	// The duty officer acknowledges it once it is in.
	inc := activeOn(t, w.Watchdog, 15*time.Second, "server", "jd-media-1")
	if _, err := w.Store().Act(ctx, inc.ID, incident.Action{Kind: incident.ActAcknowledge, Actor: "张工 (zhang)", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-played:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("the drill did not finish")
	}
	rec.End(time.Now())
	waitFor(t, 20*time.Second, "the incident resolved", func() bool {
		return getIncident(t, w.Watchdog, inc.ID).State == incident.StateResolved
	})

	run, err := store.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	incs, err := drills.Incidents(ctx, w.Store(), &run, drills.DefaultGrace, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	targets := config.DrillTargets{Detect: 15 * time.Second, Alert: 20 * time.Second, Acknowledge: 30 * time.Second, Mitigate: time.Minute}
	sc := drills.Score(run, incs, targets, drills.DefaultGrace, time.Now())
	var csv strings.Builder
	_ = sc.WriteCSV(&csv)
	t.Logf("incidents:\n%s\nscore %d (%s):\n%s", describe(incs), sc.Score, sc.Grade, csv.String())

	if run.State != drills.RunFinished || len(sc.Drills) != 1 {
		t.Fatalf("run %s, %d drills", run.State, len(sc.Drills))
	}
	ds := sc.Drills[0]
	if ds.Primary == nil || ds.Primary.ID != inc.ID || ds.Cause != drills.Met {
		t.Errorf("scored incident %+v, cause %s, problems %+v", ds.Primary, ds.Cause, ds.Problems)
	}
	for _, st := range ds.Steps {
		if st.Verdict != drills.Met {
			t.Errorf("%s: %s after %s (target %s)", st.Name, st.Verdict, st.After, st.Target)
		}
	}
	if len(sc.Unexplained) > 0 {
		t.Errorf("unexplained incidents %+v", sc.Unexplained)
	}
	for _, i := range incs {
		if i.Counted() && !drills.IsDrill(&i, []drills.Run{run}) {
			t.Errorf("%s is not the drill's for the period report", i.ID)
		}
	}
}
