package channel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

// feishuMax bounds the request body: Feishu's custom robot takes at most
// 20 KB (自定义机器人使用指南: 请求体的数据大小不能超过 20 KB).
const feishuMax = 20000

// Feishu reply codes: 11232 is its frequency limit (100 a minute, 5 a
// second per robot), 99991400 the platform's ("request trigger frequency
// limit", with HTTP 429); both may pass later. 19021 (a bad signature or a
// timestamp more than an hour off), 19022 (IP not allowed), 19024 (keyword
// missing) and 9499 (bad request) are for good, as is any other code.
var feishuCodes = robotCodes{rate: []int{11232, 99991400}}

// feishu posts an interactive card to a Feishu/Lark (飞书) custom robot's
// webhook URL (…/open-apis/bot/v2/hook/<token>; the token is the
// credential, so the URL is never shown). With a secret (签名校验) the body
// carries timestamp (Unix seconds, as a string) and sign =
// base64(HMAC-SHA256 keyed by timestamp + "\n" + secret, over nothing).
//
// A custom robot can mention people only by their Feishu open_id, which
// bidwatch does not have: the people on duty are named in the card, not
// mentioned. Lines are plain_text (nothing in them is read as markup);
// links are buttons.
type feishu struct {
	base
	url    string
	secret config.Secret
}

func newFeishu(spec config.Channel, env Env) (Channel, error) {
	_, where, secrets, err := parseURL(spec.URL)
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w", spec.Name, err)
	}
	return &feishu{base: newBase(spec, env, where, secrets...), url: spec.URL, secret: spec.Secret}, nil
}

type feishuMessage struct {
	Timestamp string     `json:"timestamp,omitempty"`
	Sign      string     `json:"sign,omitempty"`
	MsgType   string     `json:"msg_type"`
	Card      feishuCard `json:"card"`
}

type feishuCard struct {
	Config   feishuConfig    `json:"config"`
	Header   feishuHeader    `json:"header"`
	Elements []feishuElement `json:"elements"`
}

type feishuConfig struct {
	WideScreenMode bool `json:"wide_screen_mode"`
}

type feishuHeader struct {
	Template string     `json:"template"`
	Title    feishuText `json:"title"`
}

type feishuText struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

type feishuElement struct {
	Tag     string         `json:"tag"`
	Text    *feishuText    `json:"text,omitempty"`
	Actions []feishuButton `json:"actions,omitempty"`
}

type feishuButton struct {
	Tag  string     `json:"tag"`
	Text feishuText `json:"text"`
	Type string     `json:"type"`
	URL  string     `json:"url"`
}

// Send signs (with a secret) and posts m's card.
func (f *feishu) Send(ctx context.Context, m *Message) (bool, error) {
	var ts, sign string
	if f.secret != "" {
		ts, sign = SignFeishu(f.secret.Reveal(), f.env.Now())
	}
	body, err := feishuBody(m, ts, sign)
	if err != nil {
		return f.fail(false, fmt.Errorf("encode: %w", err))
	}
	r, err := f.post(ctx, f.url, http.Header{}, body)
	if err != nil {
		return f.fail(true, err)
	}
	if retry, err := f.judge(r, feishuAnswer, feishuCodes); err != nil {
		return f.fail(retry, f.scrubErr(err))
	}
	f.log.Debug("sent", "id", m.ID)
	return false, nil
}

// SignFeishu returns the timestamp and sign body fields for a request at
// now.
func SignFeishu(secret string, now time.Time) (ts, sign string) {
	ts = strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(ts+"\n"+secret))
	return ts, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// feishuAnswer parses Feishu's reply, {"code":0,"msg":"success","data":{}},
// or the older {"StatusCode":0,"StatusMessage":"success"}.
func feishuAnswer(body []byte) (answer, bool) {
	var v struct {
		Code          *int   `json:"code"`
		Msg           string `json:"msg"`
		StatusCode    *int   `json:"StatusCode"`
		StatusMessage string `json:"StatusMessage"`
	}
	if json.Unmarshal(body, &v) != nil {
		return answer{}, false
	}
	switch {
	case v.Code != nil:
		return answer{Code: *v.Code, Msg: v.Msg}, true
	case v.StatusCode != nil:
		return answer{Code: *v.StatusCode, Msg: v.StatusMessage}, true
	}
	return answer{}, false
}

// feishuBody is the request body, cut to feishuMax bytes.
func feishuBody(m *Message, ts, sign string) ([]byte, error) {
	build := func(d draft) feishuMessage {
		return feishuMessage{Timestamp: ts, Sign: sign, MsgType: "interactive", Card: feishuCardOf(m, d)}
	}
	d := fit(newDraft(m), feishuMax, func(d draft) int {
		b, err := marshal(build(d))
		if err != nil {
			return 0
		}
		return len(b)
	})
	return marshal(build(d))
}

func feishuCardOf(m *Message, d draft) feishuCard {
	div := func(s string) feishuElement {
		return feishuElement{Tag: "div", Text: &feishuText{Tag: "plain_text", Content: s}}
	}
	var els []feishuElement
	if s := forWhom(m); s != "" {
		els = append(els, div(s))
	}
	body := d.Body
	if d.Cut {
		body = strings.TrimPrefix(body+"\n"+truncMark, "\n")
	}
	if body != "" {
		els = append(els, div(body))
	}
	if len(m.Mentions) > 0 {
		els = append(els, div("值班："+names(m.Mentions)))
	}
	if len(d.Links) > 0 {
		act := feishuElement{Tag: "action"}
		for _, l := range d.Links {
			act.Actions = append(act.Actions, feishuButton{
				Tag: "button", Text: feishuText{Tag: "plain_text", Content: l.Text}, Type: "default", URL: l.URL,
			})
		}
		els = append(els, act)
	}
	return feishuCard{
		Config:   feishuConfig{WideScreenMode: true},
		Header:   feishuHeader{Template: feishuColor(m.Kind), Title: feishuText{Tag: "plain_text", Content: d.Title}},
		Elements: els,
	}
}

// feishuColor is the card header's template: red for news that wants
// action, orange for a change, green for a resolution, blue otherwise.
func feishuColor(kind string) string {
	switch kind {
	case "opened", "escalation":
		return "red"
	case "changed", "merged", "reminder":
		return "orange"
	case "resolved":
		return "green"
	}
	return "blue"
}
