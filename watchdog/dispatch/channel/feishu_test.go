package channel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bidwatch/bidwatch/internal/config"
)

// feishuRobot answers like a Feishu custom robot with 签名校验: the token
// in the path; timestamp (s, within an hour) and sign =
// base64(HMAC-SHA256(key timestamp+"\n"+secret, empty message)) in the
// body; a body at most 20 KB; {"code":0,"msg":"success","data":{}}.
type feishuRobot struct {
	recorder
	now    time.Time
	secret string
}

func (fr *feishuRobot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got := fr.read(r)
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/open-apis/bot/v2/hook/") {
		http.NotFound(w, r)
		return
	}
	if strings.TrimPrefix(r.URL.Path, "/open-apis/bot/v2/hook/") != feishuHook {
		writeJSON(w, 200, `{"code":19001,"data":{},"msg":"param invalid: incoming webhook access token invalid"}`)
		return
	}
	if len(got.Body) > 20*1024 {
		writeJSON(w, 400, `{"code":9499,"data":{},"msg":"Bad Request"}`)
		return
	}
	var msg struct {
		Timestamp string `json:"timestamp"`
		Sign      string `json:"sign"`
		MsgType   string `json:"msg_type"`
		Card      struct {
			Config map[string]any `json:"config"`
			Header struct {
				Template string `json:"template"`
				Title    struct {
					Tag     string `json:"tag"`
					Content string `json:"content"`
				} `json:"title"`
			} `json:"header"`
			Elements []json.RawMessage `json:"elements"`
		} `json:"card"`
	}
	if err := strictJSON(got.Body, &msg); err != nil || msg.MsgType != "interactive" || msg.Card.Header.Title.Content == "" {
		writeJSON(w, 400, `{"code":9499,"data":{},"msg":"Bad Request"}`)
		return
	}
	if fr.secret != "" {
		sec, err := strconv.ParseInt(msg.Timestamp, 10, 64)
		mac := hmac.New(sha256.New, []byte(msg.Timestamp+"\n"+fr.secret))
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if err != nil || fr.now.Sub(time.Unix(sec, 0)).Abs() > time.Hour || msg.Sign != want {
			writeJSON(w, 200, `{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}`)
			return
		}
	}
	writeJSON(w, 200, `{"code":0,"data":{},"msg":"success"}`)
}

func feishuSpec(url string) config.Channel {
	return config.Channel{Name: "jd-feishu", Type: "feishu", URL: url + "/open-apis/bot/v2/hook/" + feishuHook, Secret: feishuSec}
}

func TestFeishuDelivers(t *testing.T) {
	robot := &feishuRobot{now: fixedNow, secret: feishuSec}
	srv := newServer(t, robot)
	if retry, err := send(t, mustNew(t, feishuSpec(srv.URL), testEnv(t, nil)), sample(), 2*time.Second); err != nil {
		t.Fatalf("Send = (%v, %v)", retry, err)
	}
	body := robot.all()[0].Body
	golden(t, "feishu.json", body)
	for _, want := range append([]string{`"timestamp":"` + strconv.FormatInt(fixedNow.Unix(), 10) + `"`, `"template":"red"`, "值班：张三、李四"}, sample().Lines...) {
		if !strings.Contains(string(body), want) {
			t.Errorf("card lacks %q", want)
		}
	}
	for _, l := range sample().Links {
		if !strings.Contains(string(body), `"url":"`+l.URL+`"`) {
			t.Errorf("card lacks the button for %s", l.URL)
		}
	}
}

func TestFeishuUnsigned(t *testing.T) {
	robot := &feishuRobot{now: fixedNow}
	srv := newServer(t, robot)
	spec := feishuSpec(srv.URL)
	spec.Secret = ""
	if _, err := send(t, mustNew(t, spec, testEnv(t, nil)), sample(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if b := string(robot.all()[0].Body); strings.Contains(b, `"sign"`) || strings.Contains(b, `"timestamp"`) {
		t.Errorf("unsigned channel sent a signature: %s", b)
	}
}

func TestFeishuRobotRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  func(string) config.Channel
		clock time.Duration
	}{
		{"wrong secret", func(u string) config.Channel { s := feishuSpec(u); s.Secret = "wrong"; return s }, 0},
		{"old timestamp", feishuSpec, -61 * time.Minute},
		{"unknown hook", func(u string) config.Channel {
			s := feishuSpec(u)
			s.URL = u + "/open-apis/bot/v2/hook/nope"
			return s
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, &feishuRobot{now: fixedNow, secret: feishuSec})
			env := testEnv(t, nil)
			env.Now = func() time.Time { return fixedNow.Add(tc.clock) }
			retry, err := send(t, mustNew(t, tc.spec(srv.URL), env), sample(), 2*time.Second)
			if err == nil || retry || !errors.Is(err, ErrRejected) {
				t.Fatalf("Send = (%v, %v), want a rejection for good", retry, err)
			}
		})
	}
}

func TestFeishuTruncates(t *testing.T) {
	robot := &feishuRobot{now: fixedNow, secret: feishuSec}
	srv := newServer(t, robot)
	if _, err := send(t, mustNew(t, feishuSpec(srv.URL), testEnv(t, nil)), huge(), 2*time.Second); err != nil {
		t.Fatalf("a huge message: %v", err)
	}
	body := robot.all()[0].Body
	if len(body) > 20000 || len(body) < 19000 || !utf8.Valid(body) {
		t.Fatalf("%d bytes (want 19000–20000), valid UTF-8 %v", len(body), utf8.Valid(body))
	}
	for _, want := range []string{truncMark, "值班：张三、李四"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("truncated card lacks %q", want)
		}
	}
	for _, l := range sample().Links {
		if !strings.Contains(string(body), l.URL) {
			t.Errorf("truncated card lost the link %s", l.URL)
		}
	}
}

func TestFeishuRetryTable(t *testing.T) {
	ok := `{"code":0,"data":{},"msg":"success"}`
	rows := append(httpCases(ok),
		retryCase{name: "legacy success", status: 200, body: `{"Extra":null,"StatusCode":0,"StatusMessage":"success"}`},
		retryCase{name: "11232 frequency limited", status: 200, body: `{"code":11232,"data":{},"msg":"frequency limited psm"}`, wantErr: true, wantRetry: true, wantIs: ErrRateLimited},
		retryCase{name: "429 99991400", status: 429, body: `{"code":99991400,"msg":"request trigger frequency limit"}`, wantErr: true, wantRetry: true, wantIs: ErrRateLimited},
		retryCase{name: "400 99991400", status: 400, body: `{"code":99991400,"msg":"request trigger frequency limit"}`, wantErr: true, wantRetry: true, wantIs: ErrRateLimited},
		retryCase{name: "19021 sign", status: 200, body: `{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}`, wantErr: true, wantIs: ErrRejected},
		retryCase{name: "19024 keyword", status: 200, body: `{"code":19024,"data":{},"msg":"Key Words Not Found"}`, wantErr: true, wantIs: ErrRejected},
		retryCase{name: "400 9499", status: 400, body: `{"code":9499,"data":{},"msg":"Bad Request"}`, wantErr: true, wantIs: ErrRejected},
	)
	runRetryTable(t, func(url string) config.Channel { return feishuSpec(url) }, rows)
}
