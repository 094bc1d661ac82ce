package channel

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/bidwatch/bidwatch/internal/config"
)

// Errors a channel's Send wraps, for callers that test with errors.Is.
var (
	// ErrRateLimited: the provider said the channel sends too fast (HTTP
	// 429, WeCom 45009, DingTalk 130101, Feishu 11232). Send says retry.
	ErrRateLimited = errors.New("rate limited by the provider")
	// ErrRejected: the provider refused the message for good (a bad
	// signature, a malformed request, an unknown robot). Send says no retry.
	ErrRejected = errors.New("rejected by the provider")
	// ErrNoRecipients: an e-mail has nobody to go to.
	ErrNoRecipients = errors.New("no recipients")
)

// redacted stands for a secret in errors and in a channel's printed form.
const redacted = "<secret>"

// base is what every channel has: its name and kind, the environment, a
// narrowed logger, and the values it must never print.
type base struct {
	name, kind string
	env        Env
	log        *slog.Logger
	// where says where the channel sends without saying anything secret:
	// scheme://host for a URL (robot keys live in the path and the query),
	// host:port for SMTP.
	where string
	// secrets are scrubbed from every error text built from remote replies
	// (a hostile receiver may echo a header or the URL back).
	secrets []string
}

func newBase(spec config.Channel, env Env, where string, secrets ...string) base {
	env = env.withDefaults()
	b := base{name: spec.Name, kind: spec.Type, env: env, where: where}
	b.log = env.Logger.With("component", "dispatch.channel", "channel", spec.Name, "type", spec.Type)
	for _, s := range append(secrets, spec.Secret.Reveal(), spec.Token.Reveal(), spec.Password.Reveal()) {
		if len(s) >= 4 && !strings.Contains(where, s) {
			b.secrets = append(b.secrets, s)
		}
	}
	return b
}

// Name is the channel's name in the configuration.
func (b *base) Name() string { return b.name }

// String says which channel this is and where it sends, never a secret
// (robot URLs carry their key: only scheme://host is shown).
func (b *base) String() string { return fmt.Sprintf("%s channel %q (%s)", b.kind, b.name, b.where) }

// GoString is String, so that %#v shows no secret either.
func (b *base) GoString() string { return b.String() }

// fail wraps err with the channel; retry passes through.
func (b *base) fail(retry bool, err error) (bool, error) {
	return retry, fmt.Errorf("%s channel %q: %w", b.kind, b.name, err)
}

// scrub replaces every secret in s with <secret>.
func (b *base) scrub(s string) string {
	for _, sec := range b.secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return s
}

// snippet is the start of a reply body, fit to quote in an error: at most
// 200 bytes, valid UTF-8, one line, no secret.
func (b *base) snippet(body []byte) string {
	const n = 200
	s := string(body)
	if len(s) > n {
		s = cutBytes(s, n) + "…"
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return b.scrub(strings.TrimSpace(s))
}

// parseURL reads a channel's URL, returning where it points (scheme://host)
// and the parts of it that are secret: the query's values, the path's
// segments and any user information. The error never quotes the URL.
func parseURL(raw string) (u *url.URL, where string, secrets []string, err error) {
	u, err = url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", nil, errors.New("url: want an http or https URL (the value is not shown: it may hold a key)")
	}
	secrets = append(secrets, raw)
	for _, vs := range u.Query() {
		secrets = append(secrets, vs...)
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= 16 {
			secrets = append(secrets, seg)
		}
	}
	if u.User != nil {
		secrets = append(secrets, u.User.String())
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p)
		}
	}
	return u, u.Scheme + "://" + u.Host, secrets, nil
}

// cutBytes returns the longest prefix of s of at most n bytes that ends on
// a rune boundary.
func cutBytes(s string, n int) string {
	if n >= len(s) {
		return s
	}
	if n <= 0 {
		return ""
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
