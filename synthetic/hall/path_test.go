package hall

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestPathDelaysAndCuts(t *testing.T) {
	th := startHall(t, Options{})
	p, err := NewPath(strings.TrimPrefix(th.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	via := *th
	via.wsURL = "ws://" + p.Addr()

	c, joined := via.join(t, "room-1", "p-1")
	if joined.Type != "joined" {
		t.Fatalf("through the path: got %+v, want joined", joined)
	}
	rtt, ok := c.ping("a", 2*time.Second)
	if !ok || rtt > 20*time.Millisecond {
		t.Fatalf("clean path: rtt %v ok %v", rtt, ok)
	}

	p.SetDelay(80 * time.Millisecond)
	rtt, ok = c.ping("b", 2*time.Second)
	if !ok || rtt < 75*time.Millisecond || rtt > 150*time.Millisecond {
		t.Errorf("path delayed 80 ms: rtt %v ok %v", rtt, ok)
	}
	// The delay does not add up over many frames: events keep their pace.
	c.drain()
	time.Sleep(300 * time.Millisecond)
	if rtt, ok = c.ping("c", 2*time.Second); !ok || rtt > 150*time.Millisecond {
		t.Errorf("after a burst of events: rtt %v ok %v, want still about 80 ms", rtt, ok)
	}

	p.SetCut(true)
	if err := c.closed(2 * time.Second); err == nil {
		t.Error("cut path: connection not closed")
	}
	if _, _, err := via.dial("room-1", nil); err == nil {
		t.Error("cut path: a new connection got through")
	}
	p.SetCut(false)
	p.SetDelay(0)
	c2, joined := via.join(t, "room-1", "p-2")
	if joined.Type != "joined" {
		t.Fatalf("restored path: got %+v", joined)
	}
	c2.ws.Close()
	// The hall itself was fine all along for everyone else.
	direct, _ := th.join(t, "room-1", "p-3")
	direct.ws.Close()
}

func TestHallAddPath(t *testing.T) {
	th := startHall(t, Options{})
	target := strings.TrimPrefix(th.srv.URL, "http://")
	gy, err := th.AddPath("gy", "", target)
	if err != nil {
		t.Fatal(err)
	}
	yz, err := th.AddPath("yz", "127.0.0.1:0", target)
	if err != nil {
		t.Fatal(err)
	}
	if gy.Location() != "gy" || !strings.HasPrefix(gy.Addr(), "127.0.0.1:") || gy.Addr() == yz.Addr() {
		t.Errorf("paths gy %s %s, yz %s", gy.Location(), gy.Addr(), yz.Addr())
	}
	if th.Path("gy") != gy || th.Path("jd") != nil {
		t.Error("Path does not find the paths by location")
	}
	if ps := th.Paths(); len(ps) != 2 || ps[0] != gy || ps[1] != yz {
		t.Errorf("Paths() = %v, want gy, yz in order", ps)
	}
	bad := []struct{ location, listen, want string }{
		{"gy", "", `bad path: duplicate location "gy" (its path is on ` + gy.Addr() + ` already)`},
		{"GY", "", `bad path: location "GY": invalid id (want at most 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit)`},
		{"", "", `bad path: location "": invalid id`},
		{"-gy", "", `bad path: location "-gy": invalid id`},
		{"jd", gy.Addr(), `path jd: network path to ` + target + `: listen tcp ` + gy.Addr()},
	}
	for _, tt := range bad {
		_, err := th.AddPath(tt.location, tt.listen, target)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("AddPath(%q, %q): %v, want %s…", tt.location, tt.listen, err, tt.want)
		}
		if tt.listen == "" && !errors.Is(err, ErrBadPath) {
			t.Errorf("AddPath(%q): %v does not wrap ErrBadPath", tt.location, err)
		}
	}
	if th.Path("jd") != nil {
		t.Error("a failed AddPath left a path behind")
	}

	// Close ends the connections through the paths and the paths with
	// them; goleak (TestMain) sees that nothing is left.
	via := *th
	via.wsURL = "ws://" + gy.Addr()
	c, joined := via.join(t, "room-1", "p-1")
	if joined.Type != "joined" {
		t.Fatalf("through the hall's path: got %+v", joined)
	}
	eventually(t, wait, "the path counts its connection", func() bool { return gy.Conns() == 1 })
	th.Close()
	if err := c.closed(wait); err == nil {
		t.Error("connection through the path still open after Close")
	}
	if _, err := th.AddPath("jd", "", target); !errors.Is(err, ErrClosed) {
		t.Errorf("AddPath after Close: %v, want ErrClosed", err)
	}
	if _, err := net.DialTimeout("tcp", gy.Addr(), time.Second); err == nil {
		t.Error("the path still accepts connections after Close")
	}
}

func TestAdminPaths(t *testing.T) {
	th := startHall(t, Options{})
	target := strings.TrimPrefix(th.srv.URL, "http://")
	gy, err := th.AddPath("gy", "", target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := th.AddPath("yz", "", target); err != nil {
		t.Fatal(err)
	}
	via := *th
	via.wsURL = "ws://" + gy.Addr()
	c, _ := via.join(t, "room-1", "p-1")
	eventually(t, wait, "the path counts its connection", func() bool { return gy.Conns() == 1 })

	gyInfo := func(delay string, cut bool, conns int) string {
		return fmt.Sprintf(`{"location":"gy","addr":%q,"delay_ms":%s,"cut":%t,"conns":%d}`, gy.Addr(), delay, cut, conns)
	}
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string // substring of the response
	}{
		{"list", "GET", "/admin/paths", "", 200, `[` + gyInfo("0", false, 1) + `,{"location":"yz",`},
		{"get", "GET", "/admin/paths/gy", "", 200, gyInfo("0", false, 1)},
		{"delay", "POST", "/admin/paths/gy", `{"delay_ms":80}`, 200, gyInfo("80", false, 1)},
		{"unknown field", "POST", "/admin/paths/gy", `{"delay":80}`, 400, `path fault: unknown field \"delay\" (known fields: delay_ms, cut)`},
		{"wrong type", "POST", "/admin/paths/gy", `{"cut":"yes"}`, 400, `path fault: cut: want a bool, got string`},
		{"out of range", "POST", "/admin/paths/gy", `{"delay_ms":60001}`, 400, `bad path: delay_ms: 60001 out of range (want 0 to 60000)`},
		{"negative", "POST", "/admin/paths/gy", `{"delay_ms":-1}`, 400, `bad path: delay_ms: -1 out of range`},
		{"empty body", "POST", "/admin/paths/gy", ``, 400, `empty body: send a path fault as a JSON object (known fields: delay_ms, cut)`},
		{"trailing data", "POST", "/admin/paths/gy", `{} {}`, 400, `trailing data`},
		{"rejected left it alone", "GET", "/admin/paths/gy", "", 200, gyInfo("80", false, 1)},
		{"unknown path", "POST", "/admin/paths/jd", `{}`, 404, `{"error":"unknown path \"jd\""}`},
		{"unknown path get", "GET", "/admin/paths/jd", ``, 404, `unknown path \"jd\"`},
		{"the other is untouched", "GET", "/admin/paths/yz", "", 200, `"delay_ms":0,"cut":false,"conns":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := th.call(t, tt.method, tt.path, tt.body)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Fatalf("%s %s = %d %s, want %d containing %s", tt.method, tt.path, code, body, tt.code, tt.want)
			}
		})
	}

	// The delay set over the API is the path's: the participant on it sees it.
	if rtt, ok := c.ping("slow", 2*time.Second); !ok || rtt < 75*time.Millisecond {
		t.Errorf("after POST delay_ms 80: rtt %v ok %v", rtt, ok)
	}
	code, body := th.call(t, "POST", "/admin/paths/gy", `{"cut":true}`)
	if code != 200 || body != gyInfo("0", true, 0)+"\n" && body != gyInfo("0", true, 1)+"\n" {
		t.Errorf("cut: %d %s", code, body)
	}
	if err := c.closed(wait); err == nil {
		t.Error("cut over the API: connection not closed")
	}
	eventually(t, wait, "the cut path has no connection", func() bool { return gy.Conns() == 0 })
	if code, body := th.call(t, "DELETE", "/admin/paths/gy", ""); code != 200 || body != gyInfo("0", false, 0)+"\n" {
		t.Errorf("DELETE: %d %s, want %s", code, body, gyInfo("0", false, 0))
	}
	c2, joined := via.join(t, "room-1", "p-2")
	if joined.Type != "joined" {
		t.Fatalf("restored path: got %+v", joined)
	}
	if rtt, ok := c2.ping("fast", 2*time.Second); !ok || rtt > 50*time.Millisecond {
		t.Errorf("restored path: rtt %v ok %v", rtt, ok)
	}
}

func TestPathCloseDuringDelay(t *testing.T) {
	th := startHall(t, Options{})
	p, err := th.AddPath("gy", "", strings.TrimPrefix(th.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	via := *th
	via.wsURL = "ws://" + p.Addr()
	via.join(t, "room-1", "p-1")
	// Events are held for a minute; Close must not wait for them.
	p.SetDelay(time.Minute)
	time.Sleep(100 * time.Millisecond)
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(wait):
		t.Fatal("Close waited for delayed data")
	}
}
