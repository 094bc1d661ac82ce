// Package channel delivers dispatch messages: one file per kind of channel
// (generic webhook, WeCom, DingTalk and Feishu group robots, e-mail over
// SMTP), all listed in one registry, Kinds. A channel formats a Message
// the way its provider wants it (signing it where the provider asks) and
// says, when sending fails, whether trying again may help.
package channel

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

// Channel sends messages to one place.
type Channel interface {
	// Name is the channel's name in the configuration.
	Name() string
	// Send delivers m. When it fails, retry says whether the failure may
	// pass (a timeout, a 5xx, the provider's own rate limit) or is for
	// good (a rejected signature, a malformed request): a message is not
	// tried again after a failure for good.
	Send(ctx context.Context, m *Message) (retry bool, err error)
}

// Env is what channels need from outside: every field has a default.
type Env struct {
	// Client makes HTTP requests; default a client with a 10 s timeout.
	Client *http.Client
	// Dialer dials SMTP servers; default a net.Dialer with a 10 s timeout.
	Dialer *net.Dialer
	// TLS is the base TLS configuration for STARTTLS (tests trust their
	// own CA through it); default the system's roots.
	TLS *tls.Config
	// Now is the clock (signatures carry timestamps); default time.Now.
	Now func() time.Time
	// Logger defaults to discarding. Secrets are never logged.
	Logger *slog.Logger
}

func (e Env) withDefaults() Env {
	if e.Client == nil {
		e.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if e.Dialer == nil {
		e.Dialer = &net.Dialer{Timeout: 10 * time.Second}
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Logger == nil {
		e.Logger = slog.New(slog.DiscardHandler)
	}
	return e
}

// Constructor makes a channel from its configuration.
type Constructor func(spec config.Channel, env Env) (Channel, error)

// Kinds returns the channel kinds by their configuration type: a fresh map
// each call. config.KnownChannelKinds validates the same types.
func Kinds() map[string]Constructor {
	return map[string]Constructor{
		"webhook":  newWebhook,
		"wecom":    newWeCom,
		"dingtalk": newDingTalk,
		"feishu":   newFeishu,
		"email":    newEmail,
	}
}

// New makes the channel a configuration describes.
func New(spec config.Channel, env Env) (Channel, error) {
	k, ok := Kinds()[spec.Type]
	if !ok {
		return nil, fmt.Errorf("channel %s: unknown type %q", spec.Name, spec.Type)
	}
	return k(spec, env.withDefaults())
}
