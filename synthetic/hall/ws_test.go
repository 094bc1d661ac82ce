package hall

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestJoinThenEventsInSeqOrder(t *testing.T) {
	th := startHall(t, Options{})
	c, joined := th.join(t, "room-1", "p-1")
	if joined.Room != "room-1" || joined.Participant != "p-1" || joined.PeriodMS != 20 {
		t.Fatalf("joined = %+v", joined)
	}
	if d := time.Since(time.UnixMicro(joined.TS)); d < 0 || d > time.Second {
		t.Errorf("joined ts is %s from now", d)
	}
	want := joined.Seq + 1
	for range 10 {
		m := c.nextType("event", wait)
		if m.Seq != want {
			t.Fatalf("event seq = %d, want %d", m.Seq, want)
		}
		want++
		if m.Room != "room-1" || m.Kind == "" || len(m.Data) == 0 {
			t.Errorf("event = %+v", m)
		}
		if lag := m.at.Sub(time.UnixMicro(m.TS)); lag < 0 || lag > 200*time.Millisecond {
			t.Errorf("event lag = %s", lag)
		}
	}
}

func TestEverySeqIsSharedByTheRoom(t *testing.T) {
	th := startHall(t, Options{})
	a, _ := th.join(t, "room-2", "a")
	b, _ := th.join(t, "room-2", "b")
	ea := a.nextType("event", wait)
	for {
		eb := b.nextType("event", wait)
		if eb.Seq == ea.Seq {
			if eb.TS != ea.TS || eb.Kind != ea.Kind || string(eb.Data) != string(ea.Data) {
				t.Fatalf("same seq, different events: %+v vs %+v", ea, eb)
			}
			return
		}
		if eb.Seq > ea.Seq {
			t.Fatalf("b skipped seq %d", ea.Seq)
		}
	}
}

func TestHeartbeatGetsAck(t *testing.T) {
	th := startHall(t, Options{Period: time.Hour})
	c, _ := th.join(t, "room-1", "p")
	c.send(`{"type":"heartbeat"}`)
	m := c.nextType("heartbeat_ack", wait)
	if d := time.Since(time.UnixMicro(m.TS)); d < 0 || d > time.Second {
		t.Errorf("heartbeat_ack ts is %s from now", d)
	}
}

func TestPingGetsPongWithPayload(t *testing.T) {
	th := startHall(t, Options{})
	c, _ := th.join(t, "room-1", "p")
	rtt, ok := c.ping("ping-1", wait)
	if !ok {
		t.Fatal("no pong")
	}
	if rtt > 100*time.Millisecond {
		t.Errorf("rtt on loopback = %s", rtt)
	}
}

func TestMalformedMessagesGetErrorFrames(t *testing.T) {
	th := startHall(t, Options{Period: time.Hour})
	c := th.connect(t, "room-1", nil)
	tests := []struct {
		name, msg, want string
	}{
		{"not JSON", `{"type":`, "malformed JSON"},
		{"wrong type", `{"type":7}`, `"type": want a string`},
		{"no type", `{}`, `missing "type"`},
		{"unknown type", `{"type":"bid"}`, `unknown message type "bid"`},
		{"join without participant", `{"type":"join","room":"room-1"}`, `"participant" is required`},
		{"join to another room", `{"type":"join","room":"room-2","participant":"p"}`, `but this connection is to room "room-1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.send(tt.msg)
			m := c.next(wait)
			if m.Type != "error" || !strings.Contains(m.Error, tt.want) {
				t.Fatalf("got %+v, want an error containing %q", m, tt.want)
			}
		})
	}
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if m := c.next(wait); m.Type != "error" || !strings.Contains(m.Error, "binary") {
		t.Fatalf("binary message: got %+v", m)
	}
	// The connection is still good: a join works, a second one is refused.
	c.send(`{"type":"join","room":"room-1","participant":"p-1"}`)
	if m := c.next(wait); m.Type != "joined" {
		t.Fatalf("after errors, join got %+v", m)
	}
	c.send(`{"type":"join","participant":"p-2"}`)
	if m := c.next(wait); m.Type != "error" || !strings.Contains(m.Error, `already joined as "p-1"`) {
		t.Fatalf("second join got %+v", m)
	}
}

func TestOversizeMessageCloses1009(t *testing.T) {
	th := startHall(t, Options{ReadLimit: 1024})
	c := th.connect(t, "room-1", nil)
	c.send(`{"type":"heartbeat","pad":"` + strings.Repeat("x", 2048) + `"}`)
	err := c.closed(wait)
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("read error = %v, want close 1009", err)
	}
}

func TestNoJoinCloses1008(t *testing.T) {
	th := startHall(t, Options{JoinTimeout: 100 * time.Millisecond})
	c := th.connect(t, "room-1", nil)
	c.send(`{"type":"heartbeat"}`) // not a join: does not count
	start := time.Now()
	err := c.closed(wait)
	if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
		t.Fatalf("read error = %v, want close 1008", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("closed after %s", d)
	}
	eventually(t, wait, "conn count back to 0", func() bool { return th.Room("room-1").Conns() == 0 })
}

func TestUpgradeRefusals(t *testing.T) {
	th := startHall(t, Options{Token: "s3cret"})
	tests := []struct {
		name string
		room string
		auth string
		want int
	}{
		{"unknown room", "room-9", "Bearer s3cret", http.StatusNotFound},
		{"no token", "room-1", "", http.StatusUnauthorized},
		{"wrong token", "room-1", "Bearer nope", http.StatusUnauthorized},
		{"not bearer", "room-1", "Basic s3cret", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			if tt.auth != "" {
				hdr.Set("Authorization", tt.auth)
			}
			_, resp, err := th.dial(tt.room, hdr)
			if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != tt.want {
				t.Fatalf("dial: err %v, resp %v; want status %d", err, resp, tt.want)
			}
		})
	}
	t.Run("right token", func(t *testing.T) {
		hdr := http.Header{"Authorization": {"Bearer s3cret"}}
		c := th.connect(t, "room-1", hdr)
		c.send(`{"type":"join","participant":"p"}`)
		c.nextType("joined", wait)
	})
}

func TestCoordinationRoomPlaysItsScript(t *testing.T) {
	th := startHall(t, Options{Rooms: []RoomSpec{{ID: "eval-1", Kind: KindCoordinationRoom}}})
	c, _ := th.join(t, "eval-1", "expert")
	m := c.nextType("event", wait)
	switch m.Kind {
	case "expert_sign_in", "review", "scoring":
	default:
		t.Fatalf("coordination room event kind %q", m.Kind)
	}
}

func TestOpeningScript(t *testing.T) {
	seen := map[string]int{}
	for step := range uint64(openingLoop) {
		kind, data := openingScript(step)
		seen[kind]++
		b, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		if kind == "bid_reading" && !strings.Contains(string(b), `.`) {
			t.Errorf("price without decimals: %s", b)
		}
	}
	want := map[string]int{"countdown": countdownSteps, "sign_in": signInSteps, "decryption": decryptionSteps, "bid_reading": len(bidders)}
	for k, n := range want {
		if seen[k] != n {
			t.Errorf("%s: %d steps, want %d", k, seen[k], n)
		}
	}
	k0, _ := openingScript(0)
	kLoop, _ := openingScript(uint64(openingLoop))
	if k0 != kLoop || k0 != "countdown" {
		t.Errorf("script does not loop: %q, %q", k0, kLoop)
	}
	_, d := openingScript(countdownSteps + signInSteps + decryptionSteps)
	b, _ := json.Marshal(d)
	if !strings.Contains(string(b), `"bidder":"扬州某建设工程有限公司"`) || !strings.Contains(string(b), `"duration_days":365`) {
		t.Errorf("first bid reading = %s", b)
	}
}

func TestYuanHasTwoDecimals(t *testing.T) {
	b, _ := json.Marshal(struct {
		P yuan `json:"p"`
	}{12345678})
	if string(b) != `{"p":12345678.00}` {
		t.Fatalf("got %s", b)
	}
}
