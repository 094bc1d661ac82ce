package channel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"

	"github.com/bidwatch/bidwatch/internal/config"
)

// WebhookVersion names the webhook's body schema. WEBHOOK.md describes it;
// a change that is not backwards compatible gets a new version.
const WebhookVersion = "bidwatch.alert/v1"

// Webhook headers. The signature is "sha256=" and the hex HMAC-SHA256,
// keyed by the channel's secret, of the timestamp header's value, ".", and
// the body: a receiver recomputes it and refuses a timestamp more than five
// minutes from its clock, so a captured request cannot be replayed later.
const (
	HeaderSignature   = "X-Bidwatch-Signature"
	HeaderTimestamp   = "X-Bidwatch-Timestamp"
	HeaderIdempotency = "Idempotency-Key"
)

// WebhookBody is what a webhook channel POSTs, as JSON:
//
//	{"version":"bidwatch.alert/v1","channel":"ops-hook","message":{"id":…,"kind":…,…}}
//
// Message is the Message type's JSON (message.go), unchanged within v1:
// fields may be added, none removed or changed in meaning.
type WebhookBody struct {
	Version string   `json:"version"`
	Channel string   `json:"channel"`
	Message *Message `json:"message"`
}

// webhook POSTs messages as JSON to a URL of the user's: headers say who
// sends (a bearer token), prove it (an HMAC signature) and let the receiver
// drop duplicates (Idempotency-Key, the message id, stable across retries).
type webhook struct {
	base
	url    string
	token  config.Secret
	secret config.Secret
}

func newWebhook(spec config.Channel, env Env) (Channel, error) {
	_, where, secrets, err := parseURL(spec.URL)
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w", spec.Name, err)
	}
	return &webhook{
		base:   newBase(spec, env, where, secrets...),
		url:    spec.URL,
		token:  spec.Token,
		secret: spec.Secret,
	}, nil
}

// Send posts m: 2xx is delivered; 429, 408 and 5xx may pass later; any
// other status is for good. The reply's body is not read past maxReply.
func (w *webhook) Send(ctx context.Context, m *Message) (bool, error) {
	body, err := marshal(WebhookBody{Version: WebhookVersion, Channel: w.name, Message: m})
	if err != nil {
		return w.fail(false, fmt.Errorf("encode: %w", err))
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set(HeaderIdempotency, m.ID)
	if w.token != "" {
		h.Set("Authorization", "Bearer "+w.token.Reveal())
	}
	if w.secret != "" {
		ts := strconv.FormatInt(w.env.Now().Unix(), 10)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, SignWebhook(w.secret.Reveal(), ts, body))
	}
	r, err := w.post(ctx, w.url, h, body)
	if err != nil {
		return w.fail(true, err)
	}
	if retry, err := w.status(r); err != nil {
		return w.fail(retry, w.scrubErr(err))
	}
	w.log.Debug("sent", "id", m.ID, "status", r.status)
	return false, nil
}

// SignWebhook returns the signature header's value for a body sent at the
// timestamp ts (Unix seconds, as in the timestamp header).
func SignWebhook(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
