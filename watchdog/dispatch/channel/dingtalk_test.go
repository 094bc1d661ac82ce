package channel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bidwatch/bidwatch/internal/config"
)

// dingTalkRobot answers like a DingTalk custom robot with 加签: the
// access_token, then timestamp (ms, within an hour of its clock) and sign
// (URL-encoded base64 of HMAC-SHA256(secret, timestamp+"\n"+secret)) in the
// query, a markdown body at most 20000 bytes, {"errcode":0,"errmsg":"ok"}.
type dingTalkRobot struct {
	recorder
	now    time.Time
	secret string
}

func (dr *dingTalkRobot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got := dr.read(r)
	if r.Method != http.MethodPost || r.URL.Path != "/robot/send" {
		http.NotFound(w, r)
		return
	}
	if got.Query.Get("access_token") != dingToken {
		writeJSON(w, 200, `{"errcode":300001,"errmsg":"token is not exist"}`)
		return
	}
	if dr.secret != "" {
		ts := got.Query.Get("timestamp")
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || dr.now.Sub(time.UnixMilli(ms)).Abs() > time.Hour {
			writeJSON(w, 200, `{"errcode":310000,"errmsg":"invalid timestamp"}`)
			return
		}
		mac := hmac.New(sha256.New, []byte(dr.secret))
		mac.Write([]byte(ts + "\n" + dr.secret))
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if got.Query.Get("sign") != want {
			writeJSON(w, 200, `{"errcode":310000,"errmsg":"sign not match"}`)
			return
		}
	}
	if len(got.Body) > 20000 {
		writeJSON(w, 200, `{"errcode":460101,"errmsg":"message too long, exceed 20000 bytes"}`)
		return
	}
	var msg struct {
		MsgType  string `json:"msgtype"`
		Markdown struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"markdown"`
		At struct {
			AtMobiles []string `json:"atMobiles"`
			AtUserIds []string `json:"atUserIds"`
			IsAtAll   bool     `json:"isAtAll"`
		} `json:"at"`
	}
	if err := strictJSON(got.Body, &msg); err != nil || msg.MsgType != "markdown" || msg.Markdown.Title == "" || msg.Markdown.Text == "" {
		writeJSON(w, 200, `{"errcode":40035,"errmsg":"缺少参数 json"}`)
		return
	}
	writeJSON(w, 200, `{"errcode":0,"errmsg":"ok"}`)
}

func dingTalkSpec(url string) config.Channel {
	return config.Channel{Name: "jd-ding", Type: "dingtalk", URL: url + "/robot/send?access_token=" + dingToken, Secret: dingSecret}
}

func TestDingTalkDelivers(t *testing.T) {
	robot := &dingTalkRobot{now: fixedNow, secret: dingSecret}
	srv := newServer(t, robot)
	if retry, err := send(t, mustNew(t, dingTalkSpec(srv.URL), testEnv(t, nil)), sample(), 2*time.Second); err != nil {
		t.Fatalf("Send = (%v, %v)", retry, err)
	}
	r := robot.all()[0]
	golden(t, "dingtalk.json", r.Body)
	if got := r.Query.Get("timestamp"); got != strconv.FormatInt(fixedNow.UnixMilli(), 10) {
		t.Errorf("timestamp %s, want the clock in ms", got)
	}
	body := string(r.Body)
	// DingTalk shows a mention only when the text has "@mobile".
	for _, want := range []string{`"atMobiles":["13800001111","13900002222"]`, "@13800001111", "@13900002222", "> 江都区分中心 · 值班员"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	for _, l := range sample().Links {
		if !strings.Contains(body, "("+l.URL+")") {
			t.Errorf("body lacks the link %s", l.URL)
		}
	}
}

func TestDingTalkUnsigned(t *testing.T) {
	robot := &dingTalkRobot{now: fixedNow}
	srv := newServer(t, robot)
	spec := dingTalkSpec(srv.URL)
	spec.Secret = ""
	if _, err := send(t, mustNew(t, spec, testEnv(t, nil)), sample(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if q := robot.all()[0].Query; q.Has("sign") || q.Has("timestamp") {
		t.Errorf("unsigned channel sent %v", q)
	}
}

func TestDingTalkRobotRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  func(string) config.Channel
		clock time.Duration
	}{
		{"wrong secret", func(u string) config.Channel { s := dingTalkSpec(u); s.Secret = "SECwrong"; return s }, 0},
		{"old timestamp", dingTalkSpec, -61 * time.Minute},
		{"unknown token", func(u string) config.Channel {
			s := dingTalkSpec(u)
			s.URL = u + "/robot/send?access_token=nope"
			return s
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, &dingTalkRobot{now: fixedNow, secret: dingSecret})
			env := testEnv(t, nil)
			env.Now = func() time.Time { return fixedNow.Add(tc.clock) }
			retry, err := send(t, mustNew(t, tc.spec(srv.URL), env), sample(), 2*time.Second)
			if err == nil || retry || !errors.Is(err, ErrRejected) {
				t.Fatalf("Send = (%v, %v), want a rejection for good", retry, err)
			}
		})
	}
}

func TestDingTalkTruncates(t *testing.T) {
	robot := &dingTalkRobot{now: fixedNow, secret: dingSecret}
	srv := newServer(t, robot)
	if _, err := send(t, mustNew(t, dingTalkSpec(srv.URL), testEnv(t, nil)), huge(), 2*time.Second); err != nil {
		t.Fatalf("a huge message: %v", err)
	}
	body := robot.all()[0].Body
	if len(body) > 20000 || len(body) < 19000 || !utf8.Valid(body) {
		t.Fatalf("%d bytes (want 19000–20000), valid UTF-8 %v", len(body), utf8.Valid(body))
	}
	for _, want := range []string{truncMark, "@13800001111", "@13900002222"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("truncated body lacks %q", want)
		}
	}
	for _, l := range sample().Links {
		if !strings.Contains(string(body), l.URL) {
			t.Errorf("truncated body lost the link %s", l.URL)
		}
	}
}

func TestDingTalkRetryTable(t *testing.T) {
	ok := `{"errcode":0,"errmsg":"ok"}`
	rows := append(httpCases(ok),
		retryCase{name: "130101 send too fast", status: 200, body: `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`, wantErr: true, wantRetry: true, wantIs: ErrRateLimited},
		retryCase{name: "-1 system busy", status: 200, body: `{"errcode":-1,"errmsg":"系统繁忙"}`, wantErr: true, wantRetry: true},
		retryCase{name: "310000 sign not match", status: 200, body: `{"errcode":310000,"errmsg":"sign not match"}`, wantErr: true, wantIs: ErrRejected},
		retryCase{name: "300001 token", status: 200, body: `{"errcode":300001,"errmsg":"token is not exist"}`, wantErr: true, wantIs: ErrRejected},
		retryCase{name: "460101 too long", status: 200, body: `{"errcode":460101,"errmsg":"message too long, exceed 20000 bytes"}`, wantErr: true, wantIs: ErrRejected},
	)
	runRetryTable(t, func(url string) config.Channel { return dingTalkSpec(url) }, rows)
}
