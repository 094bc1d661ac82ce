package dispatch

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// TestRoutedMessages: a server fault touching rooms of two sub-centers →
// each sub-center's channel and the center get exactly one message; a
// network-path incident for location gy → gy's duty officer and the
// center only.
func TestRoutedMessages(t *testing.T) {
	recv := map[string]*receiver{}
	urls := map[string]string{}
	for _, sc := range []string{"yz", "jd", "gy", "by"} {
		recv[sc] = newReceiver(t)
		urls[sc] = recv[sc].srv.URL
	}
	r := newRig(t, city(t, urls), Options{})
	r.start()
	srv := problem(vocab.CauseServer, "shared-db", []string{"gy", "jd"}, []string{"gy-hall-1", "jd-hall-1"})
	srv.Findings[0].Kind, srv.Kinds = vocab.KindServerDown, []vocab.Kind{vocab.KindServerDown, vocab.KindLatency}
	r.open(srv, time.Now())
	waitFor(t, 10*time.Second, "jd, gy and the center told", func() bool {
		return len(recv["jd"].messages()) == 1 && len(recv["gy"].messages()) == 1 && len(recv["yz"].messages()) == 1
	})
	time.Sleep(time.Second)
	for sc, want := range map[string]int{"jd": 1, "gy": 1, "yz": 1, "by": 0} {
		if got := recv[sc].messages(); len(got) != want {
			t.Errorf("%s got %d messages, want %d: %+v", sc, len(got), want, got)
		}
	}
	m := recv["jd"].messages()[0]
	if m.Kind != KindOpened || !strings.Contains(m.Title, "新故障") || !strings.Contains(m.Title, "服务器 shared-db") || len(m.Mentions) != 1 || m.Mentions[0].ID != "jd-duty" {
		t.Errorf("jd's message: %+v", m)
	}

	net := problem(vocab.CauseNetwork, "by", []string{"by"}, []string{"yz-hall-1", "jd-hall-1", "gy-hall-1"})
	r.open(net, time.Now())
	waitFor(t, 10*time.Second, "by and the center told", func() bool {
		return len(recv["by"].messages()) == 1 && len(recv["yz"].messages()) == 2
	})
	time.Sleep(time.Second)
	if len(recv["jd"].messages()) != 1 || len(recv["gy"].messages()) != 1 {
		t.Errorf("a network path to by told jd or gy: jd %d, gy %d", len(recv["jd"].messages()), len(recv["gy"].messages()))
	}
	if ids := slices.Collect(func(yield func(string) bool) {
		for _, m := range recv["yz"].messages() {
			if !yield(m.ID) {
				return
			}
		}
	}); ids[0] == ids[1] {
		t.Errorf("two messages with one id: %v", ids)
	}
}
