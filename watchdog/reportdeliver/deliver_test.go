package reportdeliver

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/dispatch"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/report"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait in these tests.
const wait = 10 * time.Second

// mailbox is an SMTP server on loopback that keeps what it receives.
type mailbox struct {
	addr  string
	mu    sync.Mutex
	mails [][]byte
}

type mailSession struct{ mb *mailbox }

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Reset()                               {}
func (s *mailSession) Logout() error                        { return nil }
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	s.mb.mails = append(s.mb.mails, b)
	s.mb.mu.Unlock()
	return nil
}

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	mb := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{mb: mb}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		_ = l.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("the SMTP server did not stop")
		}
	})
	return mb
}

func (mb *mailbox) got() [][]byte {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([][]byte(nil), mb.mails...)
}

// hook is a webhook receiver on loopback (channel.Receiver: it drops
// duplicates by message id, and counts them).
type hook struct {
	mu   sync.Mutex
	msgs []channel.Message
	url  string
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	srv := httptest.NewServer(&channel.Receiver{Deliver: func(b channel.WebhookBody) {
		h.mu.Lock()
		h.msgs = append(h.msgs, *b.Message)
		h.mu.Unlock()
	}})
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/hook"
	return h
}

func (h *hook) got() []channel.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]channel.Message(nil), h.msgs...)
}

// lister is the incidents a report reads: a fixed list.
type lister []incident.Incident

func (l lister) List(_ context.Context, f incident.Filter) ([]incident.Incident, error) {
	var out []incident.Incident
	for _, inc := range l {
		if (f.From.IsZero() || !inc.OpenedAt.Before(f.From)) && (f.To.IsZero() || inc.OpenedAt.Before(f.To)) {
			out = append(out, inc)
		}
	}
	return out, nil
}

// testCity is the demo city with the center's e-mail and webhook channels,
// a roster, a public console URL, and daily and monthly reports to both.
func testCity(t *testing.T, smtpAddr, hookURL string) *config.Config {
	t.Helper()
	c := config.DemoCity()
	d := &c.Dispatch
	d.Channels = append(d.Channels,
		config.Channel{Name: "yz-mail", Type: "email", SMTP: smtpAddr, From: "bidwatch <reports@bidwatch.example.com>", To: []string{"交易中心 <center@example.com>"}},
		config.Channel{Name: "yz-hook", Type: "webhook", URL: hookURL})
	d.People = append(d.People, config.Person{ID: "yz-duty", Name: "值班员"})
	d.Roster = append(d.Roster, config.Roster{SubCenter: "yz", Levels: []config.Level{
		{Name: "值班员", Channels: []string{"yz-hook"}, Shifts: []config.Shift{{Days: "all", From: "00:00", To: "24:00", People: []string{"yz-duty"}}}},
	}})
	d.Retry = config.DispatchRetry{Initial: 100 * time.Millisecond, Max: time.Second, GiveUpAfter: 10 * 365 * 24 * time.Hour}
	c.Console.PublicURL = "https://bidwatch.example.gov.cn/"
	c.Reports.Deliver = []config.ReportDelivery{{Periods: []string{"day", "month"}, Channels: []string{"yz-mail", "yz-hook"}, Scope: "city", After: 30 * time.Minute}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// incidents: one a day through June 2025, and one in May.
func incidents(loc *time.Location) lister {
	var out lister
	mk := func(id string, at time.Time) incident.Incident {
		return incident.Incident{ID: id, Key: "room:yz-hall-1", Cause: vocab.CauseRoom, Subject: "yz-hall-1", State: incident.StateResolved,
			Class: vocab.ClassMinor, OpenedAt: at, DetectedAt: at, ResolvedAt: at.Add(10 * time.Minute), Deadline: at.Add(time.Hour),
			Place: incident.Place{SubCenters: []string{"yz"}, Rooms: []string{"yz-hall-1"}}}
	}
	out = append(out, mk("INC-MAY", time.Date(2025, 5, 20, 10, 0, 0, 0, loc)))
	for day := 1; day <= 30; day++ {
		out = append(out, mk("INC-JUN-"+string(rune('A'+day)), time.Date(2025, 6, day, 10, 0, 0, 0, loc)))
	}
	return out
}

// TestDeliversOncePerPeriod runs scheduled delivery against a real Redis,
// a real dispatcher, an SMTP server and a webhook on loopback: at each
// period's end, one message per period to each channel — the mail with the
// report attached, the webhook with the figures and the console link — no
// matter how many leaders look, and after a restart only the latest
// period missed.
func TestDeliversOncePerPeriod(t *testing.T) {
	mb, hk := newMailbox(t), newHook(t)
	c := testCity(t, mb.addr, hk.url)
	loc := c.Reports.Location()
	srv := bustest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	disp, err := dispatch.New(dispatch.Options{City: c, Redis: rdb, Prefix: "t:", Store: incident.NewRedisStore(rdb, "t:", c.Watchdog.Incidents)})
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { defer close(stopped); disp.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(wait):
			t.Error("the dispatcher did not stop")
		}
	}()

	clock := clockwork.NewFakeClockAt(time.Date(2025, 6, 3, 9, 0, 0, 0, loc))
	newLeader := func() *Deliverer {
		d, err := New(Options{City: c, Redis: rdb, Prefix: "t:", Clock: clock,
			Sources: rollupSources(c, incidents(loc))})
		if err != nil || d == nil {
			t.Fatalf("New = %v, %v", d, err)
		}
		return d
	}
	outcomes := func(rs []Result) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.Job.Period.ID()+" "+string(r.Outcome))
			if r.Err != nil {
				s = append(s, r.Err.Error())
			}
		}
		return strings.Join(s, ", ")
	}

	// Two leaders at once (one just took over, one not yet gone): each
	// report is made by one of them.
	a, b := newLeader(), newLeader()
	var ra, rb []Result
	var wg sync.WaitGroup
	wg.Go(func() { ra = a.Check(ctx) })
	wg.Go(func() { rb = b.Check(ctx) })
	wg.Wait()
	queued := 0
	for _, r := range append(ra, rb...) {
		if r.Outcome == Queued {
			queued++
		}
	}
	if queued != 2 {
		t.Fatalf("queued %d, want 2 (day and month): %s | %s", queued, outcomes(ra), outcomes(rb))
	}
	waitFor(t, "2 mails and 2 webhook messages", func() bool { return len(mb.got()) >= 2 && len(hk.got()) >= 2 })

	// Looked at again, by either leader: nothing more (a leader that found
	// the other making a report learns now that it is done).
	if got := outcomes(append(a.Check(ctx), b.Check(ctx)...)); strings.Contains(got, "queued") || strings.Contains(got, "busy") {
		t.Errorf("again: %s", got)
	}
	if got := outcomes(append(a.Check(ctx), b.Check(ctx)...)); got != "" {
		t.Errorf("and again: %s", got)
	}
	if got := outcomes(newLeader().Check(ctx)); got != "2025-06-02 done, 2025-05 done" {
		t.Errorf("a new leader: %s", got)
	}

	// The mail carries the report.
	var titles []string
	for _, raw := range mb.got() {
		title, att := attachment(t, raw)
		titles = append(titles, title)
		if !bytes.Contains(att, []byte("<!DOCTYPE html>")) || !bytes.Contains(att, []byte(title)) {
			t.Errorf("the attachment of %q is not its report (%d bytes)", title, len(att))
		}
	}
	slices.Sort(titles)
	if len(titles) != 2 || !strings.HasPrefix(titles[0], "2025年5月 运维月报 — 扬州市") || !strings.HasPrefix(titles[1], "2025年6月2日 运维日报 — 扬州市") {
		t.Errorf("mail subjects %q", titles)
	}
	// The webhook, the figures and the link.
	for _, m := range hk.got() {
		if m.Kind != KindReport || len(m.Links) != 1 || !strings.HasPrefix(m.Links[0].URL, "https://bidwatch.example.gov.cn/reports/") {
			t.Errorf("webhook message %s: kind %s, links %+v", m.ID, m.Kind, m.Links)
		}
		if text := strings.Join(m.Lines, "\n"); !strings.Contains(text, "可用率") || !strings.Contains(text, "故障：") {
			t.Errorf("webhook lines %q", m.Lines)
		}
	}
	html, err := rdb.Get(ctx, "t:"+KeyFile+"day.2025-06-02.city").Result()
	if err != nil || !strings.Contains(html, "2025年6月2日 运维日报") {
		t.Errorf("kept HTML: %v (%d bytes)", err, len(html))
	}
	if v, _ := rdb.Get(ctx, "t:"+KeySent+"day:2025-06-02:city:yz-hook,yz-mail").Result(); !strings.HasPrefix(v, "sent ") {
		t.Errorf("marker %q", v)
	}

	// The next day's end (and its half hour): that day's report.
	clock.Advance(24 * time.Hour)
	if got := outcomes(a.Check(ctx)); got != "2025-06-03 queued" {
		t.Errorf("next day: %s", got)
	}
	waitFor(t, "the third mail", func() bool { return len(mb.got()) >= 3 && len(hk.got()) >= 3 })

	// A leader back after four days: the latest day only, not four.
	clock.Advance(4 * 24 * time.Hour)
	if got := outcomes(newLeader().Check(ctx)); got != "2025-06-07 queued, 2025-05 done" {
		t.Errorf("after a restart: %s", got)
	}
	waitFor(t, "the fourth mail", func() bool { return len(mb.got()) >= 4 && len(hk.got()) >= 4 })

	// Settled: exactly one message per report on each channel.
	seen := map[string]int{}
	for _, m := range hk.got() {
		seen[m.ID]++
	}
	if len(hk.got()) != 4 || len(mb.got()) != 4 || len(seen) != 4 {
		t.Errorf("%d webhook messages (%v), %d mails; want 4 each, all different", len(hk.got()), seen, len(mb.got()))
	}
}

// TestEmptyPeriodNotSent: a period with nothing to report is marked and
// not sent.
func TestEmptyPeriodNotSent(t *testing.T) {
	c := testCity(t, "127.0.0.1:1", "http://127.0.0.1:1/hook")
	srv := bustest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2025, 6, 3, 9, 0, 0, 0, c.Reports.Location()))
	d, err := New(Options{City: c, Redis: rdb, Prefix: "t:", Clock: clock, Sources: rollupSources(c, nil)})
	if err != nil {
		t.Fatal(err)
	}
	rs := d.Check(ctx)
	if len(rs) != 2 || rs[0].Outcome != Empty || rs[1].Outcome != Empty {
		t.Fatalf("results %+v", rs)
	}
	if n, _ := rdb.Exists(ctx, "t:dispatch:due").Result(); n != 0 {
		t.Error("something was queued")
	}
	if v, _ := rdb.Get(ctx, "t:"+KeySent+"month:2025-05:city:yz-hook,yz-mail").Result(); !strings.HasPrefix(v, "empty ") {
		t.Errorf("marker %q", v)
	}
	if d, _ := New(Options{City: config.DemoCity(), Redis: rdb, Sources: rollupSources(c, nil)}); d != nil {
		t.Error("a deliverer with nothing to deliver")
	}
}

func rollupSources(c *config.Config, l lister) func(context.Context, report.Period) (report.Sources, error) {
	s := report.Sources{Config: c, Rollups: rollup.NewMem(rollup.Thresholds{DegradedRTT: 300 * time.Millisecond}, c.Reports.Location())}
	if l != nil {
		s.Incidents = l
	}
	return func(context.Context, report.Period) (report.Sources, error) { return s, nil }
}

// attachment returns a mail's subject and its attachment, decoded.
func attachment(t *testing.T, raw []byte) (string, []byte) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no attachment in %q: %v", subject, err)
		}
		if p.FileName() == "" {
			continue
		}
		if p.FileName() != subject+".html" {
			t.Errorf("attachment named %q", p.FileName())
		}
		b, _ := io.ReadAll(p)
		dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(b), "\r\n", ""))
		if err != nil {
			t.Fatal(err)
		}
		return subject, dec
	}
}

// waitFor polls cond every 20 ms until it holds, or fails after wait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", wait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
