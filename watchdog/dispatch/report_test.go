package dispatch

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
)

// TestReportWaitsOutTheRateLimit: period reports past a channel's rate
// limit are sent whole once it allows — each with its attachment — and
// never folded into a summary, which would lose the file.
func TestReportWaitsOutTheRateLimit(t *testing.T) {
	rcv := newReceiver(t)
	c := city(t, map[string]string{"jd": rcv.srv.URL})
	for i := range c.Dispatch.Channels {
		c.Dispatch.Channels[i].Rate = "2/s"
	}
	r := newRig(t, c, Options{})
	r.start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now()
	const n = 5
	for i := range n {
		m := channel.Message{ID: fmt.Sprintf("report-%d", i), Kind: KindReport, At: now, Title: fmt.Sprintf("2026年11月 运维月报 %d", i),
			Lines:       []string{"可用率 99.90%"},
			Attachments: []channel.Attachment{{Name: "report.html", ContentType: "text/html; charset=utf-8", Data: []byte("<h1>运维月报</h1>")}}}
		if err := r.d.outbox.Enqueue(ctx, Envelope{Message: m, Receiver: Receiver{SubCenter: "jd"}}, []string{"jd-hook"}, now); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "every report delivered", func() bool { return rcv.count() >= n })
	for _, m := range rcv.messages() {
		if m.Kind != KindReport || len(m.Attachments) != 1 || string(m.Attachments[0].Data) != "<h1>运维月报</h1>" {
			t.Errorf("got %s %q with %d attachments: want each report whole", m.Kind, m.Title, len(m.Attachments))
		}
	}
	if seen := rcv.timesSeen(); len(seen) != n {
		t.Errorf("messages by id: %v, want each of the %d reports once", seen, n)
	}
}
