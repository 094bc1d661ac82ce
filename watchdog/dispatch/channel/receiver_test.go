package channel

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

// TestReceiver: the webhook channel's messages reach a Receiver once each,
// however often they are sent; a wrong secret or token is refused.
func TestReceiver(t *testing.T) {
	var mu sync.Mutex
	var got []string
	rcv := &Receiver{Token: "tok", Secret: "sec-0123456789", Deliver: func(b WebhookBody) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, b.Message.ID)
	}}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	send := func(token, secret string, m *Message) error {
		ch, err := New(config.Channel{Name: "hook", Type: "webhook", URL: srv.URL, Token: config.Secret(token), Secret: config.Secret(secret)}, Env{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = ch.Send(ctx, m)
		return err
	}
	m1 := &Message{ID: "MSG-1", Kind: "opened", Title: "【新故障】江都区分中心"}
	m2 := &Message{ID: "MSG-2", Kind: "resolved", Title: "【故障已排除】江都区分中心"}
	for _, m := range []*Message{m1, m1, m2, m1} {
		if err := send("tok", "sec-0123456789", m); err != nil {
			t.Fatalf("send %s: %v", m.ID, err)
		}
	}
	if err := send("tok", "wrong-secret-000", m2); err == nil {
		t.Error("a wrong secret was accepted")
	}
	if err := send("nope", "sec-0123456789", m2); err == nil {
		t.Error("a wrong token was accepted")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != "MSG-1" || got[1] != "MSG-2" {
		t.Errorf("delivered %v, want each message once", got)
	}
}
