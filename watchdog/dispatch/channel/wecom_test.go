package channel

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bidwatch/bidwatch/internal/config"
)

// weComRobot answers like a WeCom group robot: the key in the query, a
// JSON body of a known msgtype, markdown at most 4096 bytes and text at
// most 2048 (errcode 40058 past them), {"errcode":0,"errmsg":"ok"}.
type weComRobot struct {
	recorder
	// answer, when set, replaces the reply to the n-th request (from 0).
	answer func(n int, msgType string) (status int, body string)
}

func (wr *weComRobot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got := wr.read(r)
	n := len(wr.all()) - 1
	if r.Method != http.MethodPost || r.URL.Path != "/cgi-bin/webhook/send" {
		http.NotFound(w, r)
		return
	}
	if got.Query.Get("key") != weComKey {
		writeJSON(w, 200, `{"errcode":93000,"errmsg":"invalid webhook url, hint: [x]"}`)
		return
	}
	var msg struct {
		MsgType  string `json:"msgtype"`
		Markdown *struct {
			Content string `json:"content"`
		} `json:"markdown"`
		Text *struct {
			Content             string   `json:"content"`
			MentionedList       []string `json:"mentioned_list"`
			MentionedMobileList []string `json:"mentioned_mobile_list"`
		} `json:"text"`
	}
	if err := strictJSON(got.Body, &msg); err != nil || !utf8.Valid(got.Body) {
		writeJSON(w, 200, `{"errcode":40035,"errmsg":"invalid parameter"}`)
		return
	}
	switch {
	case msg.MsgType == "markdown" && msg.Markdown != nil && msg.Markdown.Content != "":
		if len(msg.Markdown.Content) > 4096 {
			writeJSON(w, 200, `{"errcode":40058,"errmsg":"markdown.content exceed max length 4096"}`)
			return
		}
	case msg.MsgType == "text" && msg.Text != nil && msg.Text.Content != "":
		if len(msg.Text.Content) > 2048 {
			writeJSON(w, 200, `{"errcode":40058,"errmsg":"text.content exceed max length 2048"}`)
			return
		}
	default:
		writeJSON(w, 200, `{"errcode":40008,"errmsg":"invalid message type"}`)
		return
	}
	if wr.answer != nil {
		if status, body := wr.answer(n, msg.MsgType); status != 0 {
			writeJSON(w, status, body)
			return
		}
	}
	writeJSON(w, 200, `{"errcode":0,"errmsg":"ok"}`)
}

func weComSpec(url string) config.Channel {
	return config.Channel{Name: "jd-wecom", Type: "wecom", URL: url + "/cgi-bin/webhook/send?key=" + weComKey}
}

func TestWeComDelivers(t *testing.T) {
	robot := &weComRobot{}
	srv := newServer(t, robot)
	if retry, err := send(t, mustNew(t, weComSpec(srv.URL), testEnv(t, nil)), sample(), 2*time.Second); err != nil {
		t.Fatalf("Send = (%v, %v)", retry, err)
	}
	reqs := robot.all()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want the markdown and the mention", len(reqs))
	}
	golden(t, "wecom-markdown.json", reqs[0].Body)
	golden(t, "wecom-mention.json", reqs[1].Body)
	md := string(reqs[0].Body)
	for _, want := range append([]string{"江都区分中心 · 值班员", "值班：张三、李四"}, sample().Lines...) {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	for _, l := range sample().Links {
		if !strings.Contains(md, "("+l.URL+")") {
			t.Errorf("markdown lacks the link %s", l.URL)
		}
	}
	if !strings.Contains(string(reqs[1].Body), `"mentioned_mobile_list":["13800001111","13900002222"]`) {
		t.Errorf("mention lacks the mobiles: %s", reqs[1].Body)
	}
}

func TestWeComNoMobileNoMention(t *testing.T) {
	robot := &weComRobot{}
	srv := newServer(t, robot)
	m := sample()
	for i := range m.Mentions {
		m.Mentions[i].Mobile = ""
	}
	if _, err := send(t, mustNew(t, weComSpec(srv.URL), testEnv(t, nil)), m, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := len(robot.all()); n != 1 {
		t.Fatalf("%d requests, want the markdown alone", n)
	}
}

// A retry after the mention failed sends the mention only: the group does
// not see the markdown twice.
func TestWeComRetrySendsOnlyWhatFailed(t *testing.T) {
	robot := &weComRobot{answer: func(n int, msgType string) (int, string) {
		if n == 1 && msgType == "text" {
			return 200, `{"errcode":45009,"errmsg":"api freq out of limit"}`
		}
		return 0, ""
	}}
	srv := newServer(t, robot)
	ch := mustNew(t, weComSpec(srv.URL), testEnv(t, nil))
	retry, err := send(t, ch, sample(), 2*time.Second)
	if err == nil || !retry || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("first Send = (%v, %v), want a rate limit to retry", retry, err)
	}
	if _, err := send(t, ch, sample(), 2*time.Second); err != nil {
		t.Fatalf("retry: %v", err)
	}
	var types []string
	for _, r := range robot.all() {
		types = append(types, strings.SplitN(string(r.Body), `"`, 5)[3])
	}
	if want := []string{"markdown", "text", "text"}; !slices.Equal(types, want) {
		t.Fatalf("requests %v, want %v", types, want)
	}
}

func TestWeComTruncates(t *testing.T) {
	robot := &weComRobot{}
	srv := newServer(t, robot)
	if _, err := send(t, mustNew(t, weComSpec(srv.URL), testEnv(t, nil)), huge(), 2*time.Second); err != nil {
		t.Fatalf("a huge message: %v", err)
	}
	content := weComMarkdown(huge())
	if len(content) > 4096 || !utf8.ValidString(content) {
		t.Fatalf("%d bytes, valid UTF-8 %v", len(content), utf8.ValidString(content))
	}
	if len(content) < 3900 {
		t.Errorf("only %d of 4096 bytes used", len(content))
	}
	for _, want := range []string{truncMark, "值班：张三、李四", sample().Title} {
		if !strings.Contains(content, want) {
			t.Errorf("truncated markdown lacks %q", want)
		}
	}
	for _, l := range sample().Links {
		if !strings.Contains(content, l.URL) {
			t.Errorf("truncated markdown lost the link %s", l.URL)
		}
	}
}

func TestWeComRetryTable(t *testing.T) {
	ok := `{"errcode":0,"errmsg":"ok"}`
	rows := append(httpCases(ok),
		retryCase{name: "45009 frequency limit", status: 200, body: `{"errcode":45009,"errmsg":"api freq out of limit"}`, wantErr: true, wantRetry: true, wantIs: ErrRateLimited},
		retryCase{name: "-1 system busy", status: 200, body: `{"errcode":-1,"errmsg":"system busy"}`, wantErr: true, wantRetry: true},
		retryCase{name: "93000 invalid url", status: 200, body: `{"errcode":93000,"errmsg":"invalid webhook url"}`, wantErr: true, wantIs: ErrRejected},
		retryCase{name: "40058 too long", status: 200, body: `{"errcode":40058,"errmsg":"markdown.content exceed max length 4096"}`, wantErr: true, wantIs: ErrRejected},
		retryCase{name: "200 no errcode", status: 200, body: `{"ok":true}`, wantErr: true, wantRetry: true},
	)
	runRetryTable(t, func(url string) config.Channel { return weComSpec(url) }, rows)
}
