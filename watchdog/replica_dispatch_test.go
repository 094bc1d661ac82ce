package watchdog

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// withDispatch gives a city a dispatch section: one webhook channel to url,
// and a duty officer on it for each of jd, yzg, gy and by all day.
func withDispatch(c *config.Config, url string) error {
	d := &c.Dispatch
	d.Channels = []config.Channel{{Name: "phones", Type: "webhook", URL: url, StartTLS: true}}
	d.GroupWait = 200 * time.Millisecond
	d.Remind = 0
	d.Retry = config.DispatchRetry{Initial: 200 * time.Millisecond, Max: time.Second, GiveUpAfter: 5 * time.Minute}
	for _, sc := range []string{"jd", "yzg", "gy", "by"} {
		d.People = append(d.People, config.Person{ID: sc + "-duty", Name: sc + " 值班员"})
		d.Roster = append(d.Roster, config.Roster{SubCenter: sc, Levels: []config.Level{{Name: "值班员", Channels: []string{"phones"},
			Shifts: []config.Shift{{Days: "all", From: "00:00", To: "24:00", People: []string{sc + "-duty"}}}}}})
	}
	return c.Validate()
}

// slowPhones is a webhook receiver that holds every request a while before
// answering, so that a sender can die while one is in flight. It records
// every request, by message id (the Idempotency-Key), as it arrives.
type slowPhones struct {
	srv  *httptest.Server
	hold time.Duration
	mu   sync.Mutex
	reqs []phoneReq
}

type phoneReq struct {
	id        string
	incidents []string
	start     time.Time
	end       time.Time // zero while held
}

func newSlowPhones(t *testing.T, hold time.Duration) *slowPhones {
	p := &slowPhones{hold: hold}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body channel.WebhookBody
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Message == nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if key := r.Header.Get(channel.HeaderIdempotency); key != body.Message.ID {
			t.Errorf("Idempotency-Key %q, message id %q", key, body.Message.ID)
		}
		req := phoneReq{id: body.Message.ID, start: time.Now()}
		for _, in := range body.Message.Incidents {
			req.incidents = append(req.incidents, in.ID)
		}
		p.mu.Lock()
		i := len(p.reqs)
		p.reqs = append(p.reqs, req)
		p.mu.Unlock()
		select {
		case <-time.After(p.hold):
		case <-r.Context().Done(): // the sender died
		}
		p.mu.Lock()
		p.reqs[i].end = time.Now()
		p.mu.Unlock()
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *slowPhones) requests() []phoneReq {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.reqs)
}

// TestReplicaKilledMidSend runs two watchdog replicas as processes with
// dispatch to a receiver that holds each request 1.5 s, opens four
// incidents (four sub-centers, four messages, sent one after another),
// and SIGKILLs the leader while it is sending. The other replica takes
// over. As docs/dispatch.md promises (delivery at least once, by a stable
// id receivers drop duplicates by): every message queued is received; a
// message arrives twice only if its first send was in flight when the
// leader died (received, but not recorded as sent); every other message
// exactly once.
func TestReplicaKilledMidSend(t *testing.T) {
	url := redisURL(t)
	b := openBus(t, url)
	ctx := context.Background()
	phones := newSlowPhones(t, 1500*time.Millisecond)
	// Whichever replica leads first dispatches from the first event on.
	if err := b.Client().Set(ctx, b.Key("dispatch:cursor"), "0-0", 0).Err(); err != nil {
		t.Fatal(err)
	}
	reps := map[string]*replica{}
	for _, id := range []string{"replica-a", "replica-b"} {
		reps[id] = startReplica(t, id, url, envDispatch+"="+phones.srv.URL)
	}
	var leaderID string
	waitFor(t, 10*time.Second, "two replicas and a leader", func() bool {
		n, err := b.Client().HLen(ctx, b.Key(KeyReplicas)).Result()
		leaderID, _ = b.Client().Get(ctx, b.Key(KeyLeader)).Result()
		return err == nil && n == 2 && leaderID != ""
	})

	store := incident.NewRedisStore(b.Client(), b.Prefix(), config.DefaultWatchdog().Incidents)
	var ids []string
	for _, room := range []string{"jd-hall-1", "yzg-hall-1", "gy-hall-1", "by-hall-1"} {
		sc, _, _ := strings.Cut(room, "-")
		f := &detect.Finding{Kind: vocab.KindDropout, Severity: vocab.SeverityDegraded, Room: room, Probe: "yz-probe", Location: "yz", Text: "bidders dropped"}
		p := correlate.Problem{Key: vocab.CauseRoom.Key(room), Cause: vocab.CauseRoom, Subject: room, SubCenters: []string{sc}, Rooms: []string{room},
			Explains: []string{room}, Findings: []*detect.Finding{f}, Kinds: []vocab.Kind{vocab.KindDropout}, Severity: vocab.SeverityDegraded,
			Page: true, Since: time.Now(), Summary: room + ": dropout"}
		inc, _, err := store.Open(ctx, p, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inc.ID)
	}

	// Kill the leader while it holds a request open: one answered, the next
	// in flight.
	waitFor(t, 20*time.Second, "one message answered and the next in flight", func() bool {
		rs := phones.requests()
		return len(rs) >= 2 && !rs[0].end.IsZero() && rs[len(rs)-1].end.IsZero()
	})
	if err := reps[leaderID].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reps[leaderID].exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the killed leader did not exit")
	}
	killed := time.Now()
	// What the dead leader recorded as sent.
	sentAtKill := map[string]bool{}
	for _, dl := range deliveries(t, b.Client(), b.Key("dispatch:")) {
		if dl["status"] == "sent" {
			sentAtKill[dl["mid"]] = true
		}
	}
	// In flight at the kill: received before it, not recorded as sent.
	inFlight := map[string]bool{}
	for _, r := range phones.requests() {
		if r.start.Before(killed) && !sentAtKill[r.id] {
			inFlight[r.id] = true
		}
	}
	if len(inFlight) == 0 {
		t.Fatalf("the kill landed between sends, not mid-send: requests %+v", phones.requests())
	}
	t.Logf("killed the leader %s; in flight: %v; recorded sent: %v", leaderID, keys(inFlight), keys(sentAtKill))

	// The other replica leads and sends the rest once the dead leader's
	// claims have lapsed (a 30 s lease).
	var queued []string
	waitFor(t, 60*time.Second, "every delivery sent by the new leader", func() bool {
		dls := deliveries(t, b.Client(), b.Key("dispatch:"))
		queued = queued[:0]
		for _, dl := range dls {
			if dl["status"] != "sent" {
				return false
			}
			queued = append(queued, dl["mid"])
		}
		return len(dls) > 0
	})
	time.Sleep(time.Second) // a stray resend would come now
	var other string
	for id := range reps {
		if id != leaderID {
			other = id
		}
	}
	if leader, _ := b.Client().Get(ctx, b.Key(KeyLeader)).Result(); leader != other {
		t.Errorf("leader after the kill %q, want %q", leader, other)
	}

	seen := map[string]int{}
	named := map[string]bool{}
	for _, r := range phones.requests() {
		seen[r.id]++
		for _, in := range r.incidents {
			named[in] = true
		}
	}
	slices.Sort(queued)
	if got := slices.Sorted(func(yield func(string) bool) {
		for id := range seen {
			if !yield(id) {
				return
			}
		}
	}); !slices.Equal(got, queued) {
		t.Errorf("unique message ids received %v, queued %v", got, queued)
	}
	for id, n := range seen {
		switch {
		case n == 1:
		case inFlight[id] && n == 2:
			t.Logf("%s received twice: its first send was in flight at the kill (the receiver drops it by id)", id)
		default:
			t.Errorf("message %s received %d times (in flight at the kill: %v)", id, n, inFlight[id])
		}
	}
	for _, id := range ids {
		if !named[id] {
			t.Errorf("incident %s is in no message received", id)
		}
	}
}

// deliveries reads every delivery hash of the outbox (keys under prefix).
func deliveries(t *testing.T, rdb redis.UniversalClient, prefix string) []map[string]string {
	t.Helper()
	ctx := context.Background()
	ks, err := rdb.ZRange(ctx, prefix+"deliveries", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, k := range ks {
		h, err := rdb.HGetAll(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
