package channel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

// hookReceiver is a webhook receiver as WEBHOOK.md tells one to be
// written: it checks the bearer token, recomputes the signature over the
// timestamp and the body, refuses a timestamp five minutes off its clock,
// and drops a message id it has seen.
type hookReceiver struct {
	recorder
	now   time.Time
	token string
	// secret: "" takes unsigned requests.
	secret string
	seen   map[string]bool
	dups   int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got := h.read(r)
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		http.Error(w, "content type "+ct, http.StatusUnsupportedMediaType)
		return
	}
	if h.token != "" && r.Header.Get("Authorization") != "Bearer "+h.token {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	if h.secret != "" {
		ts := r.Header.Get("X-Bidwatch-Timestamp")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || h.now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
			http.Error(w, "stale or missing timestamp", http.StatusUnauthorized)
			return
		}
		mac := hmac.New(sha256.New, []byte(h.secret))
		mac.Write([]byte(ts + "."))
		mac.Write(got.Body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Bidwatch-Signature"))) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
	}
	var body struct {
		Version string          `json:"version"`
		Channel string          `json:"channel"`
		Message json.RawMessage `json:"message"`
	}
	if err := strictJSON(got.Body, &body); err != nil || body.Version != "bidwatch.alert/v1" || body.Channel == "" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		http.Error(w, "no Idempotency-Key", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	if h.seen[key] {
		h.dups++
	}
	h.seen[key] = true
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, `{"ok":true}`)
}

func hookSpec(url string) config.Channel {
	return config.Channel{Name: "ops-hook", Type: "webhook", URL: url, Token: hookToken, Secret: hookSecret}
}

func TestWebhookDelivers(t *testing.T) {
	recv := &hookReceiver{now: fixedNow, token: hookToken, secret: hookSecret, seen: map[string]bool{}}
	srv := newServer(t, recv)
	ch := mustNew(t, hookSpec(srv.URL+"/hooks/bidwatch"), testEnv(t, nil))
	for range 2 { // a retry is the same message: the receiver drops it
		if retry, err := send(t, ch, sample(), 2*time.Second); err != nil {
			t.Fatalf("Send = (%v, %v)", retry, err)
		}
	}
	reqs := recv.all()
	recv.mu.Lock()
	dups := recv.dups
	recv.mu.Unlock()
	if len(reqs) != 2 || dups != 1 {
		t.Fatalf("%d requests, %d duplicates; want 2 and 1", len(reqs), dups)
	}
	r := reqs[0]
	golden(t, "webhook.json", r.Body)
	if got := r.Header.Get("Idempotency-Key"); got != sample().ID {
		t.Errorf("Idempotency-Key %q, want the message id %q", got, sample().ID)
	}
	if got := r.Header.Get("X-Bidwatch-Timestamp"); got != strconv.FormatInt(fixedNow.Unix(), 10) {
		t.Errorf("timestamp %q, want the clock's", got)
	}
	if got := r.Header.Get("User-Agent"); got != userAgent {
		t.Errorf("User-Agent %q", got)
	}
	// The body's message is the Message, whole.
	var body WebhookBody
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	want := sample()
	if !reflect.DeepEqual(normalise(t, body.Message), normalise(t, want)) {
		t.Errorf("message round trip:\n got %+v\nwant %+v", body.Message, want)
	}
}

// normalise re-encodes a message, so time zones do not count.
func normalise(t *testing.T, m *Message) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestWebhookUnsigned(t *testing.T) {
	recv := &hookReceiver{now: fixedNow, seen: map[string]bool{}}
	srv := newServer(t, recv)
	ch := mustNew(t, config.Channel{Name: "plain", Type: "webhook", URL: srv.URL}, testEnv(t, nil))
	if _, err := send(t, ch, sample(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	h := recv.all()[0].Header
	for _, k := range []string{"Authorization", "X-Bidwatch-Signature", "X-Bidwatch-Timestamp"} {
		if h.Get(k) != "" {
			t.Errorf("%s sent without a token or secret: %q", k, h.Get(k))
		}
	}
}

func TestWebhookReceiverRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  func(url string) config.Channel
		clock time.Duration // the sender's clock, off the receiver's
	}{
		{"wrong secret", func(u string) config.Channel { s := hookSpec(u); s.Secret = "another-secret"; return s }, 0},
		{"wrong token", func(u string) config.Channel { s := hookSpec(u); s.Token = "another-token"; return s }, 0},
		{"old timestamp (a replay)", hookSpec, -6 * time.Minute},
		{"timestamp ahead", hookSpec, 6 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recv := &hookReceiver{now: fixedNow, token: hookToken, secret: hookSecret, seen: map[string]bool{}}
			srv := newServer(t, recv)
			env := testEnv(t, nil)
			env.Now = func() time.Time { return fixedNow.Add(tc.clock) }
			retry, err := send(t, mustNew(t, tc.spec(srv.URL), env), sample(), 2*time.Second)
			if err == nil || retry || !errors.Is(err, ErrRejected) {
				t.Fatalf("Send = (%v, %v), want a rejection for good", retry, err)
			}
		})
	}
}

func TestWebhookRetryTable(t *testing.T) {
	rows := append(httpCases(""),
		retryCase{name: "201", status: 201, body: `{"id":1}`},
		retryCase{name: "204", status: 204},
		retryCase{name: "200 garbage", status: 200, body: "<html>whatever"},
		retryCase{name: "401", status: 401, body: "bad token", wantErr: true, wantIs: ErrRejected},
		retryCase{name: "403", status: 403, wantErr: true, wantIs: ErrRejected},
		retryCase{name: "422", status: 422, wantErr: true, wantIs: ErrRejected},
	)
	runRetryTable(t, func(url string) config.Channel { return hookSpec(url) }, rows)
}

func TestSignWebhook(t *testing.T) {
	// The example in WEBHOOK.md.
	got := SignWebhook("s3cr3t", "1741915800", []byte(`{"version":"bidwatch.alert/v1"}`))
	if want := "sha256=b20343161d33ba6eb0101839c1225a6743058602b081f9e40e7e13f453294e3f"; got != want {
		t.Fatalf("SignWebhook = %s, want %s", got, want)
	}
}
