package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
)

// TestAlertsCommands: a test message goes through a configured channel to
// a real receiver; a bad channel name is a usage error; silences are added,
// listed and ended; the outbox is listed.
func TestAlertsCommands(t *testing.T) {
	var mu sync.Mutex
	var got []channel.WebhookBody
	rcv := httptest.NewServer(&channel.Receiver{Secret: "s3cret-0123456789", Deliver: func(b channel.WebhookBody) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, b)
	}})
	t.Cleanup(rcv.Close)
	mr := miniredis.RunT(t)
	text := string(config.DemoYAML()) + `
redis:
  url: redis://` + mr.Addr() + `
dispatch:
  channels:
    - {name: jd-hook, type: webhook, url: "` + rcv.URL + `", secret: "s3cret-0123456789"}
    - {name: dead-hook, type: webhook, url: "http://127.0.0.1:1/nothing"}
  people: [{id: zhang, name: 张工}]
  roster:
    - sub_center: jd
      levels: [{name: 值班员, channels: [jd-hook], shifts: [{days: all, from: "00:00", to: "24:00", people: [zhang]}]}]
`
	file := filepath.Join(t.TempDir(), "city.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := execute(t, "alerts", "test", "jd-hook", "--config", file)
	if code != 0 || !strings.Contains(out, "delivered") {
		t.Fatalf("alerts test: exit %d\n%s%s", code, out, errOut)
	}
	mu.Lock()
	if len(got) != 1 || got[0].Message.Kind != "test" || !strings.Contains(got[0].Message.Title, "测试消息") {
		t.Errorf("received %+v", got)
	}
	mu.Unlock()
	if code, _, errOut := execute(t, "alerts", "test", "dead-hook", "--config", file); code != 1 || !strings.Contains(errOut, "not delivered") {
		t.Errorf("dead channel: exit %d %s", code, errOut)
	}
	if code, _, errOut := execute(t, "alerts", "test", "nope", "--config", file); code != 3 || !strings.Contains(errOut, "jd-hook, dead-hook") {
		t.Errorf("unknown channel: exit %d %s", code, errOut)
	}

	code, out, errOut = execute(t, "alerts", "silence", "--config", file, "--match", "sub_center=jd,room=jd-hall-1", "--for", "1h", "--by", "张工", "--reason", "网关升级")
	if code != 0 || !strings.Contains(out, "SIL-") || !strings.Contains(out, "room=jd-hall-1 sub_center=jd silenced until") {
		t.Fatalf("silence: exit %d\n%s%s", code, out, errOut)
	}
	id := strings.Fields(out)[0]
	id = strings.TrimSuffix(id, ":")
	if code, _, errOut := execute(t, "alerts", "silence", "--config", file, "--match", "rooms=jd-hall-1", "--by", "x"); code != 3 || !strings.Contains(errOut, `unknown key "rooms"`) {
		t.Errorf("bad silence: exit %d %s", code, errOut)
	}
	code, out, _ = execute(t, "alerts", "silences", "--config", file)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "网关升级") {
		t.Errorf("silences: exit %d\n%s", code, out)
	}
	if code, out, errOut := execute(t, "alerts", "unsilence", id, "--config", file); code != 0 || !strings.Contains(out, "ended") {
		t.Errorf("unsilence: exit %d %s%s", code, out, errOut)
	}
	if code, _, _ := execute(t, "alerts", "unsilence", "SIL-nope", "--config", file); code != 1 {
		t.Errorf("unsilence a missing one: exit %d", code)
	}
	code, out, _ = execute(t, "alerts", "silences", "--config", file)
	if code != 0 || !strings.Contains(out, "(ended)") {
		t.Errorf("silences after unsilence: exit %d\n%s", code, out)
	}
	if code, out, errOut := execute(t, "alerts", "outbox", "--config", file); code != 0 || !strings.Contains(out, "the outbox is empty") {
		t.Errorf("outbox: exit %d %s%s", code, out, errOut)
	}
}
