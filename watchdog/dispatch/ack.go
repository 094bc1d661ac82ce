package dispatch

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Errors an acknowledge link is refused with.
var (
	ErrLinkInvalid = errors.New("acknowledge link is not valid (tampered with, or not ours)")
	ErrLinkExpired = errors.New("acknowledge link has expired")
	ErrLinkUsed    = errors.New("acknowledge link was used already")
)

// AckSigner makes and checks acknowledge links: an HMAC-SHA256 over the
// incident id, the person and the expiry, with the dispatch section's
// secret.
type AckSigner struct {
	secret   []byte
	base     string
	validFor time.Duration
}

// NewAckSigner returns a signer for the ack section, or nil when it has no
// base URL (messages then carry no acknowledge links).
func NewAckSigner(a config.AckLinks) *AckSigner {
	if a.BaseURL == "" || a.Secret == "" {
		return nil
	}
	return &AckSigner{secret: []byte(a.Secret.Reveal()), base: strings.TrimRight(a.BaseURL, "/"), validFor: a.ValidFor}
}

func (s *AckSigner) sign(id, person string, exp int64) string {
	m := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(m, "%s\n%s\n%d", id, person, exp)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Link returns the acknowledge link of an incident for a person, valid from
// now for the configured time.
func (s *AckSigner) Link(id, person string, now time.Time) string {
	exp := now.Add(s.validFor).Unix()
	q := url.Values{"i": {id}, "p": {person}, "e": {strconv.FormatInt(exp, 10)}, "s": {s.sign(id, person, exp)}}
	return s.base + "/ack?" + q.Encode()
}

// Check verifies a link's query at now: it returns the incident and the
// person, or ErrLinkInvalid or ErrLinkExpired.
func (s *AckSigner) Check(q url.Values, now time.Time) (id, person string, exp time.Time, err error) {
	id, person = q.Get("i"), q.Get("p")
	e, perr := strconv.ParseInt(q.Get("e"), 10, 64)
	if id == "" || person == "" || perr != nil {
		return "", "", time.Time{}, ErrLinkInvalid
	}
	want := s.sign(id, person, e)
	if !hmac.Equal([]byte(want), []byte(q.Get("s"))) {
		return "", "", time.Time{}, ErrLinkInvalid
	}
	exp = time.Unix(e, 0)
	if !now.Before(exp) {
		return "", "", time.Time{}, ErrLinkExpired
	}
	return id, person, exp, nil
}

// AckHandler serves acknowledge links: GET shows what the link will do
// (a link scanner that fetches it acknowledges nothing); POST acknowledges
// the incident in the person's name, once.
type AckHandler struct {
	Signer *AckSigner
	Store  incident.Store
	Redis  redis.UniversalClient
	// Prefix is the Redis key prefix ("bidwatch:").
	Prefix string
	City   *config.Config
	Now    func() time.Time
	Logger *slog.Logger
}

var ackPage = template.Must(template.New("ack").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>确认接单 {{.ID}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:2em auto;padding:0 1em;line-height:1.6}
button{font-size:1.2em;padding:.5em 1.5em}.err{color:#b00}.ok{color:#070}</style></head><body>
<h1>确认接单 · Acknowledge</h1>
{{if .Error}}<p class="err">{{.Error}}</p>{{else if .Done}}<p class="ok">{{.Name}} 已确认接单 {{.ID}}（{{.At}}）。</p>
{{else}}<p>故障 <b>{{.ID}}</b>：{{.Summary}}</p><p>以 <b>{{.Name}}</b> 的名义确认接单？（链接 {{.Exp}} 前有效，只能使用一次）</p>
<form method="post"><input type="hidden" name="q" value="{{.Query}}"><button type="submit">确认接单</button></form>{{end}}
</body></html>`))

type ackView struct {
	ID, Name, Summary, Exp, At, Query, Error string
	Done                                     bool
}

// ServeHTTP implements http.Handler at /ack.
func (h *AckHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := h.Now()
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err == nil {
			if parsed, err := url.ParseQuery(r.PostForm.Get("q")); err == nil {
				q = parsed
			}
		}
	} else if r.Method != http.MethodGet {
		http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
		return
	}
	v := ackView{Query: q.Encode()}
	id, person, exp, err := h.Signer.Check(q, now)
	v.ID, v.Name = id, person
	if p, ok := h.City.Dispatch.Person(person); ok {
		v.Name = p.Name
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(http.StatusForbidden)
		v.Error = refusal(err)
		_ = ackPage.Execute(w, v)
		return
	}
	v.Exp = exp.In(h.City.Dispatch.Location()).Format("2006-01-02 15:04")
	if r.Method == http.MethodGet {
		if inc, err := h.Store.Get(r.Context(), id); err == nil {
			v.Summary = inc.Phenomenon.Summary
		}
		_ = ackPage.Execute(w, v)
		return
	}
	if err := h.acknowledge(r.Context(), q.Get("s"), id, v.Name, exp, now); err != nil {
		code := http.StatusConflict
		if errors.Is(err, incident.ErrNotFound) {
			code = http.StatusNotFound
		} else if !errors.Is(err, ErrLinkUsed) && !errors.Is(err, incident.ErrTransition) && !errors.Is(err, incident.ErrFrozen) && !errors.Is(err, incident.ErrMerged) {
			code = http.StatusInternalServerError
			h.log().Warn("acknowledge from a link", "incident", id, "err", err)
		}
		w.WriteHeader(code)
		v.Error = refusal(err)
		_ = ackPage.Execute(w, v)
		return
	}
	v.Done, v.At = true, now.In(h.City.Dispatch.Location()).Format("15:04:05")
	_ = ackPage.Execute(w, v)
}

// AckWithLink uses a checked link once (its signature sig, kept used in
// Redis until after it expires) and applies the acknowledgement a. A link
// spent on a refusal that will not change (the incident is no longer open)
// stays spent; one that failed for Redis's sake may be used again. The
// console and serve-ack both acknowledge through it, so a link works once
// whichever page it was opened on.
func AckWithLink(ctx context.Context, rdb redis.UniversalClient, prefix string, store incident.Store, sig string, exp time.Time, id string, a incident.Action) (incident.Incident, error) {
	now := a.At
	key := prefix + "dispatch:ack-used:" + sig
	ok, err := rdb.SetNX(ctx, key, now.UnixMilli(), max(exp.Sub(now), time.Second)+time.Hour).Result()
	if err != nil {
		return incident.Incident{}, fmt.Errorf("use link: %w", err)
	}
	if !ok {
		return incident.Incident{}, ErrLinkUsed
	}
	inc, err := store.Act(ctx, id, a)
	switch {
	case err == nil:
		return inc, nil
	case errors.Is(err, incident.ErrTransition), errors.Is(err, incident.ErrFrozen), errors.Is(err, incident.ErrMerged), errors.Is(err, incident.ErrNotFound):
		return inc, err
	}
	_ = rdb.Del(context.WithoutCancel(ctx), key).Err()
	return inc, err
}

// acknowledge uses the link once and acknowledges the incident.
func (h *AckHandler) acknowledge(ctx context.Context, sig, id, name string, exp, now time.Time) error {
	_, err := AckWithLink(ctx, h.Redis, h.Prefix, h.Store, sig, exp, id, incident.Action{Kind: incident.ActAcknowledge, Actor: name, At: now, Text: "acknowledged from the alert link (从派单链接确认接单)"})
	return err
}

func refusal(err error) string {
	switch {
	case errors.Is(err, ErrLinkExpired):
		return "链接已过期（the link has expired）。"
	case errors.Is(err, ErrLinkUsed):
		return "链接已使用过（the link was used already）。"
	case errors.Is(err, ErrLinkInvalid):
		return "链接无效（the link is not valid）。"
	case errors.Is(err, incident.ErrTransition), errors.Is(err, incident.ErrFrozen), errors.Is(err, incident.ErrMerged):
		return "故障已不在待处理状态，无需确认（the incident is no longer open）。"
	case errors.Is(err, incident.ErrNotFound):
		return "没有这个故障（no such incident）。"
	}
	return "暂时无法确认，请稍后再试（could not acknowledge now）。"
}

func (h *AckHandler) log() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
