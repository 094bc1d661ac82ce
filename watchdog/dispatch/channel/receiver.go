package channel

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxWebhookBody bounds what a Receiver reads of a request.
const maxWebhookBody = 1 << 20

// Receiver is a webhook receiver for bidwatch's webhook channel, written to
// WEBHOOK.md: it checks the bearer token and the signature (refusing a
// timestamp more than five minutes off), the version, drops a message whose
// id it has seen already, and hands each new message to Deliver. bidwatch
// demo uses one as a duty officer's phone; it is a starting point for a
// receiver of your own.
type Receiver struct {
	// Token and Secret, when set, are required of every request.
	Token, Secret string
	// Deliver gets each new message once.
	Deliver func(b WebhookBody)
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time
}

// ServeHTTP implements http.Handler.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxWebhookBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err := r.check(req, body, now); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var b WebhookBody
	if err := json.Unmarshal(body, &b); err != nil || b.Message == nil {
		http.Error(w, "not a bidwatch webhook body", http.StatusBadRequest)
		return
	}
	if b.Version != WebhookVersion {
		http.Error(w, fmt.Sprintf("version %q, want %q", b.Version, WebhookVersion), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	if r.seen == nil {
		r.seen = map[string]time.Time{}
	}
	_, dup := r.seen[b.Message.ID]
	r.seen[b.Message.ID] = now
	for id, t := range r.seen {
		if now.Sub(t) > 24*time.Hour {
			delete(r.seen, id)
		}
	}
	r.mu.Unlock()
	if !dup && r.Deliver != nil {
		r.Deliver(b)
	}
	w.WriteHeader(http.StatusNoContent)
}

// check verifies the token and the signature.
func (r *Receiver) check(req *http.Request, body []byte, now time.Time) error {
	if r.Token != "" && !hmac.Equal([]byte(req.Header.Get("Authorization")), []byte("Bearer "+r.Token)) {
		return errors.New("wrong or missing bearer token")
	}
	if r.Secret == "" {
		return nil
	}
	ts := req.Header.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("missing timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp too far from now")
	}
	if !hmac.Equal([]byte(req.Header.Get(HeaderSignature)), []byte(SignWebhook(r.Secret, ts, body))) {
		return errors.New("bad signature")
	}
	return nil
}
