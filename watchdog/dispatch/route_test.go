package dispatch

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
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

// TestRoute: the sub-centers of an incident's place that have a roster,
// and the center from center_class up; sorted, each once.
func TestRoute(t *testing.T) {
	tests := []struct {
		name        string
		centerClass vocab.Class
		class       vocab.Class
		subs        []string
		want        []string
	}{
		{"minor: its sub-center only", vocab.ClassPartial, vocab.ClassMinor, []string{"jd"}, []string{"jd/0"}},
		{"partial: and the center", vocab.ClassPartial, vocab.ClassPartial, []string{"jd"}, []string{"jd/0", "yz/0"}},
		{"outage over two sub-centers: each and the center, sorted", vocab.ClassPartial, vocab.ClassOutage, []string{"jd", "gy"}, []string{"gy/0", "jd/0", "yz/0"}},
		{"a sub-center twice: once", vocab.ClassPartial, vocab.ClassMinor, []string{"jd", "jd"}, []string{"jd/0"}},
		{"a sub-center without a roster: nobody", vocab.ClassPartial, vocab.ClassMinor, []string{"yzg"}, nil},
		{"a sub-center without a roster, partial: the center only", vocab.ClassPartial, vocab.ClassPartial, []string{"yzg"}, []string{"yz/0"}},
		{"the center's own incident: once", vocab.ClassPartial, vocab.ClassOutage, []string{"yz"}, []string{"yz/0"}},
		{"center_class outage: partial stays local", vocab.ClassOutage, vocab.ClassPartial, []string{"jd"}, []string{"jd/0"}},
		{"center_class outage: major goes up", vocab.ClassOutage, vocab.ClassMajor, []string{"jd"}, []string{"jd/0", "yz/0"}},
		{"center_class minor: everything goes up", vocab.ClassMinor, vocab.ClassMinor, []string{"gy"}, []string{"gy/0", "yz/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := city(t, map[string]string{"jd": "http://127.0.0.1:9/jd", "gy": "http://127.0.0.1:9/gy", "yz": "http://127.0.0.1:9/yz"})
			c.Dispatch.CenterClass = tt.centerClass
			b := &incident.Brief{ID: "INC-000001", Class: tt.class, SubCenters: tt.subs}
			var got []string
			for _, rc := range Route(c, NewRoster(c), b) {
				if rc.Level != 0 {
					t.Errorf("first receivers are level 0, got %s", rc.Key())
				}
				got = append(got, rc.Key())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Route = %v, want %v", got, tt.want)
			}
		})
	}
}
