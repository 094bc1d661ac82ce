package channel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

// dingTalkMax bounds the request body. DingTalk refuses a longer message
// with errcode 460101, "message too long, exceed 20000 bytes"; the whole
// body is kept under it, which keeps the markdown under it too.
const dingTalkMax = 20000

// DingTalk reply codes: 130101 is its frequency limit ("send too fast,
// exceed 20 times per minute"), -1 "system busy"; both may pass later.
// 310000 (a bad signature, a missing keyword, an IP not allowed) and
// 300001 (an unknown access_token) are for good, as is any other code.
var dingTalkCodes = robotCodes{rate: []int{130101}, busy: []int{-1}}

// dingTalk posts markdown to a DingTalk (钉钉) custom group robot's webhook
// URL (…/robot/send?access_token=…), mentioning the people on duty by
// mobile (at.atMobiles, and "@mobile" in the text, which DingTalk requires
// for the mention to show). With a secret (加签), each request is signed:
// timestamp in milliseconds, sign = URL-encoded base64 of HMAC-SHA256
// keyed by the secret over timestamp + "\n" + secret, both added to the
// URL's query; DingTalk refuses a timestamp more than an hour off.
type dingTalk struct {
	base
	url    *url.URL
	secret config.Secret
}

func newDingTalk(spec config.Channel, env Env) (Channel, error) {
	u, where, secrets, err := parseURL(spec.URL)
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w", spec.Name, err)
	}
	return &dingTalk{base: newBase(spec, env, where, secrets...), url: u, secret: spec.Secret}, nil
}

type dingTalkMessage struct {
	MsgType  string           `json:"msgtype"`
	Markdown dingTalkMarkdown `json:"markdown"`
	At       dingTalkAt       `json:"at"`
}

type dingTalkMarkdown struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

type dingTalkAt struct {
	AtMobiles []string `json:"atMobiles"`
	IsAtAll   bool     `json:"isAtAll"`
}

// Send signs (with a secret) and posts m.
func (d *dingTalk) Send(ctx context.Context, m *Message) (bool, error) {
	body, err := dingTalkBody(m)
	if err != nil {
		return d.fail(false, fmt.Errorf("encode: %w", err))
	}
	target := *d.url
	if d.secret != "" {
		ts, sign := SignDingTalk(d.secret.Reveal(), d.env.Now())
		q := target.Query()
		q.Set("timestamp", ts)
		q.Set("sign", sign)
		target.RawQuery = q.Encode()
	}
	r, err := d.post(ctx, target.String(), http.Header{}, body)
	if err != nil {
		return d.fail(true, err)
	}
	if retry, err := d.judge(r, errcodeAnswer, dingTalkCodes); err != nil {
		return d.fail(retry, d.scrubErr(err))
	}
	d.log.Debug("sent", "id", m.ID)
	return false, nil
}

// SignDingTalk returns the timestamp and sign query values for a request
// at now: sign is base64(HMAC-SHA256(secret, timestamp + "\n" + secret)),
// to be URL-encoded in the query (url.Values does).
func SignDingTalk(secret string, now time.Time) (ts, sign string) {
	ts = strconv.FormatInt(now.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "\n" + secret))
	return ts, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// dingTalkBody is the request body, cut to dingTalkMax bytes.
func dingTalkBody(m *Message) ([]byte, error) {
	mob := mobiles(m.Mentions)
	if mob == nil {
		mob = []string{}
	}
	build := func(d draft) dingTalkMessage {
		return dingTalkMessage{
			MsgType:  "markdown",
			Markdown: dingTalkMarkdown{Title: d.Title, Text: dingTalkText(m, d)},
			At:       dingTalkAt{AtMobiles: mob},
		}
	}
	d := fit(newDraft(m), dingTalkMax, func(d draft) int {
		b, err := marshal(build(d))
		if err != nil {
			return 0
		}
		return len(b)
	})
	return marshal(build(d))
}

// dingTalkText lays m out in DingTalk's markdown: paragraphs need a blank
// line between them, so every line is one.
func dingTalkText(m *Message, d draft) string {
	var parts []string
	parts = append(parts, "### "+d.Title)
	if s := forWhom(m); s != "" {
		parts = append(parts, "> "+s)
	}
	if d.Body != "" {
		parts = append(parts, strings.Split(d.Body, "\n")...)
	}
	if d.Cut {
		parts = append(parts, truncMark)
	}
	if len(m.Mentions) > 0 {
		who := make([]string, 0, len(m.Mentions))
		for _, p := range m.Mentions {
			if p.Mobile != "" {
				who = append(who, p.Name+" @"+p.Mobile)
			} else {
				who = append(who, p.Name)
			}
		}
		parts = append(parts, "值班："+strings.Join(who, "、"))
	}
	for _, l := range d.Links {
		parts = append(parts, mdLink(l))
	}
	return strings.Join(parts, "\n\n")
}
