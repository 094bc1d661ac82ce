package channel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bidwatch/bidwatch/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixedNow is the clock of every test: senders sign with it and the fake
// providers check against it.
var fixedNow = time.Date(2025, 3, 14, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))

// Secrets used across the tests: none may ever show in an error, a log
// line or a printed channel.
const (
	hookToken  = "tok-WEBHOOK-0f9e8d7c6b5a"
	hookSecret = "sec-WEBHOOK-a1b2c3d4e5f6"
	weComKey   = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"
	dingToken  = "dingAccessToken0123456789abcdef"
	dingSecret = "SECdingtalk1234567890abcdef"
	feishuHook = "bf8bb912-bc2e-40ad-9533-fcb8068aa621"
	feishuSec  = "feishuSecret-Zx9Yw8"
	smtpPass   = "smtp-Pa55word-Q7"
)

var allSecrets = []string{hookToken, hookSecret, weComKey, dingToken, dingSecret, feishuHook, feishuSec, smtpPass}

func sample() *Message {
	return &Message{
		ID:    "INC-000042.opened.1",
		Kind:  "opened",
		At:    fixedNow,
		Title: "【新事件】江都区分中心 3 号开标室音视频中断",
		Lines: []string{
			"等级：严重 · 影响：开标直播中断，投标人无法看到唱标",
			"原因：媒体服务器 ws-gw-2 无响应（疑似进程挂起）",
			"发现 09:28:10，SLA 截止 09:58:10（剩余 28 分钟）",
			"涉及房间：江都-开标室-3、江都-开标室-4",
		},
		SubCenter: "江都区分中心",
		Level:     "值班员",
		Mentions: []Mention{
			{ID: "zhang", Name: "张三", Mobile: "13800001111", Email: "zhangsan@example.com"},
			{ID: "li", Name: "李四", Mobile: "13900002222", Email: "lisi@example.com"},
		},
		Incidents: []Incident{{
			ID: "INC-000042", Key: "room:jd-3/av", State: "open", Class: "outage", Severity: "critical",
			Cause: "server", Subject: "ws-gw-2", Summary: "江都-开标室-3 音视频中断",
			SubCenters: []string{"江都区分中心"}, Rooms: []string{"jd-3", "jd-4"}, Servers: []string{"ws-gw-2"},
			DetectedAt: fixedNow.Add(-110 * time.Second), OpenedAt: fixedNow.Add(-100 * time.Second),
			Deadline: fixedNow.Add(28 * time.Minute), URL: "https://bidwatch.example.com/incidents/INC-000042",
		}},
		Links: []Link{
			{Text: "事件详情", URL: "https://bidwatch.example.com/incidents/INC-000042"},
			{Text: "张三 确认接单", URL: "https://bidwatch.example.com/ack?i=INC-000042&p=zhang&exp=1741919400&sig=9f2c"},
			{Text: "李四 确认接单", URL: "https://bidwatch.example.com/ack?i=INC-000042&p=li&exp=1741919400&sig=77ab"},
		},
	}
}

// huge is sample with thousands of lines: more than any provider takes.
func huge() *Message {
	m := sample()
	for i := range 3000 {
		m.Lines = append(m.Lines, fmt.Sprintf("第 %d 行：江都-开标室-%d 媒体流中断，丢包率 100%%，请检查 ws-gw-2 的进程与网络。", i, i%9))
	}
	return m
}

// logBuf collects a channel's log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testEnv is an Env with the fixed clock, a client that gives up after
// two seconds, and a debug logger into logs.
func testEnv(t *testing.T, logs *logBuf) Env {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	var w = &logBuf{}
	if logs != nil {
		w = logs
	}
	return Env{
		Client: client,
		Dialer: &net.Dialer{Timeout: 2 * time.Second},
		Now:    func() time.Time { return fixedNow },
		Logger: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func mustNew(t *testing.T, spec config.Channel, env Env) Channel {
	t.Helper()
	ch, err := New(spec, env)
	if err != nil {
		t.Fatalf("New(%s): %v", spec.Type, err)
	}
	return ch
}

// send runs ch.Send with a deadline, failing the test if it does not
// return in time.
func send(t *testing.T, ch Channel, m *Message, timeout time.Duration) (bool, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	type result struct {
		retry bool
		err   error
	}
	done := make(chan result, 1)
	go func() {
		r, err := ch.Send(ctx, m)
		done <- result{r, err}
	}()
	select {
	case r := <-done:
		return r.retry, r.err
	case <-time.After(timeout + 3*time.Second):
		t.Fatalf("Send did not return within %s of its deadline", 3*time.Second)
		return false, nil
	}
}

// golden compares got with testdata/golden/name byte for byte (-update
// rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n got: %s\nwant: %s", name, got, want)
	}
}

// noSecret fails when s shows any secret.
func noSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range allSecrets {
		if strings.Contains(s, sec) {
			t.Errorf("%s shows the secret %q: %s", what, sec, s)
		}
	}
}

func TestRegistryMatchesConfig(t *testing.T) {
	got := slices.Sorted(maps.Keys(Kinds()))
	want := slices.Sorted(maps.Keys(config.KnownChannelKinds))
	if !slices.Equal(got, want) {
		t.Fatalf("channel kinds %v, config kinds %v", got, want)
	}
}

func TestNewRejectsBadSpecsWithoutShowingThem(t *testing.T) {
	for _, spec := range []config.Channel{
		{Name: "a", Type: "webhook", URL: "ftp://hooks.example.com/" + hookToken},
		{Name: "b", Type: "wecom", URL: "::not a url?key=" + weComKey},
		{Name: "c", Type: "dingtalk", URL: "/robot/send?access_token=" + dingToken},
		{Name: "d", Type: "feishu", URL: "https:///open-apis/bot/v2/hook/" + feishuHook},
		{Name: "e", Type: "email", SMTP: "no-port", From: "bidwatch@example.com"},
		{Name: "f", Type: "email", SMTP: "127.0.0.1:25", From: "not an address"},
		{Name: "g", Type: "nope"},
	} {
		_, err := New(spec, Env{})
		if err == nil {
			t.Errorf("%s: New accepted %+v", spec.Name, spec)
			continue
		}
		if !strings.Contains(err.Error(), "channel "+spec.Name) {
			t.Errorf("%s: error does not name the channel: %v", spec.Name, err)
		}
		noSecret(t, spec.Name+" error", err.Error())
	}
}

// TestSecretsNeverShown prints every kind of channel, and the errors and
// logs of sends that fail every way, looking for a secret.
func TestSecretsNeverShown(t *testing.T) {
	// A receiver that echoes everything it got: the URL, the headers, the
	// body.
	echo := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL.String())
		_ = r.Header.Write(&b)
		status := http.StatusBadRequest
		if strings.Contains(r.URL.Path, "5xx") {
			status = http.StatusBadGateway
		}
		w.WriteHeader(status)
		fmt.Fprint(w, b.String())
	}))
	refused := refusedAddr(t)
	logs := &logBuf{}
	env := testEnv(t, logs)
	for _, base := range []string{echo.URL + "/4xx", echo.URL + "/5xx", "http://" + refused} {
		specs := []config.Channel{
			{Name: "hook", Type: "webhook", URL: base + "/hooks/" + hookToken + "?t=" + hookToken, Token: hookToken, Secret: hookSecret},
			{Name: "wc", Type: "wecom", URL: base + "/cgi-bin/webhook/send?key=" + weComKey},
			{Name: "dd", Type: "dingtalk", URL: base + "/robot/send?access_token=" + dingToken, Secret: dingSecret},
			{Name: "fs", Type: "feishu", URL: base + "/open-apis/bot/v2/hook/" + feishuHook, Secret: feishuSec},
		}
		for _, spec := range specs {
			ch := mustNew(t, spec, env)
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				noSecret(t, spec.Type+" channel "+verb, fmt.Sprintf(verb, ch))
			}
			_, err := send(t, ch, sample(), 2*time.Second)
			if err == nil {
				t.Fatalf("%s: send to %s succeeded", spec.Type, base)
			}
			for _, verb := range []string{"%v", "%+v", "%#v"} {
				noSecret(t, spec.Type+" error "+verb, fmt.Sprintf(verb, err))
			}
		}
	}
	mail := mustNew(t, emailSpec("127.0.0.1:25"), env)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		noSecret(t, "email channel "+verb, fmt.Sprintf(verb, mail))
	}
	noSecret(t, "logs", logs.String())
}

// newServer starts an httptest server closed when the test ends.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// refusedAddr is a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// retryCase is one row of a channel's retry table.
type retryCase struct {
	name      string
	status    int
	body      string
	wantRetry bool
	wantErr   bool
	wantIs    error
}

// runRetryTable sends sample through a channel made by mk against a
// server answering each row's status and body.
func runRetryTable(t *testing.T, mk func(url string) config.Channel, rows []retryCase) {
	t.Helper()
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			ch := mustNew(t, mk(srv.URL), testEnv(t, nil))
			retry, err := send(t, ch, sample(), 2*time.Second)
			if (err != nil) != tc.wantErr || retry != tc.wantRetry {
				t.Fatalf("Send = (%v, %v), want retry %v, error %v", retry, err, tc.wantRetry, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("error %v is not %v", err, tc.wantIs)
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		ch := mustNew(t, mk("http://"+refusedAddr(t)), testEnv(t, nil))
		retry, err := send(t, ch, sample(), 2*time.Second)
		if err == nil || !retry {
			t.Fatalf("Send = (%v, %v), want a retried error", retry, err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}))
		defer close(release)
		env := testEnv(t, nil)
		env.Client = &http.Client{Timeout: 150 * time.Millisecond}
		defer env.Client.CloseIdleConnections()
		ch := mustNew(t, mk(srv.URL), env)
		start := time.Now()
		retry, err := send(t, ch, sample(), 5*time.Second)
		if err == nil || !retry {
			t.Fatalf("Send = (%v, %v), want a retried error", retry, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Send took %s with a 150 ms client timeout", d)
		}
	})
}

// httpCases are the rows every HTTP channel shares; ok is the provider's
// success body.
func httpCases(ok string) []retryCase {
	return []retryCase{
		{name: "200", status: 200, body: ok},
		{name: "400", status: 400, body: `{"error":"bad"}`, wantErr: true, wantIs: ErrRejected},
		{name: "404", status: 404, body: "not found", wantErr: true, wantIs: ErrRejected},
		{name: "408", status: 408, body: "", wantErr: true, wantRetry: true},
		{name: "429", status: 429, body: "slow down", wantErr: true, wantRetry: true, wantIs: ErrRateLimited},
		{name: "500", status: 500, body: "oops", wantErr: true, wantRetry: true},
		{name: "502", status: 502, body: "<html>bad gateway</html>", wantErr: true, wantRetry: true},
		{name: "503", status: 503, body: "", wantErr: true, wantRetry: true},
	}
}

// recorder is the part of a fake provider that keeps what it received.
type recorder struct {
	mu   sync.Mutex
	reqs []received
}

type received struct {
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// read takes the request's body (up to 1 MiB) and records the request.
func (rec *recorder) read(r *http.Request) received {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	got := received{Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, got)
	rec.mu.Unlock()
	return got
}

func (rec *recorder) all() []received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

// strictJSON decodes body into v refusing unknown fields, as a provider
// that validates its input would.
func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}
