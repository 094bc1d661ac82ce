package remedy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bidwatch/bidwatch/internal/config"
)

var hostile = Data{ID: "INC-000001", Cause: "room", Subject: `yz-hall-1'"; rm -rf / ` + "\n" + `$(x)`,
	Room: `'"; rm -rf / ` + "\n" + `$(x) && echo pwned | cat`, Rooms: Words{"a b", "c"}}

func testEnv() Env { return Env{HTTP: &http.Client{}, Clock: clockwork.NewRealClock()} }

func TestHTTPStep(t *testing.T) {
	type seen struct {
		method, path, auth, ctype, body string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)}
		if strings.HasSuffix(r.URL.Path, "/broken") {
			http.Error(w, "gateway on fire", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, strings.Repeat("x", 5000))
	}))
	defer srv.Close()
	d := Data{ID: "INC-000007", Server: "yz-wsgw-1", Room: "yz-hall-1"}
	st := &config.RunbookStep{Name: "restart", Timeout: 5 * time.Second, HTTP: &config.HTTPAction{
		URL: srv.URL + "/servers/{{.Server}}/restart", Token: "s3cret",
		Headers: map[string]string{"Content-Type": "application/json"},
		Body:    `{"incident":"{{.ID}}","room":"{{.Room}}"}`,
	}}
	out, err := RunStep(context.Background(), testEnv(), st, d)
	if err != nil {
		t.Fatalf("RunStep: %v", err)
	}
	s := <-got
	want := seen{"POST", "/servers/yz-wsgw-1/restart", "Bearer s3cret", "application/json", `{"incident":"INC-000007","room":"yz-hall-1"}`}
	if s != want {
		t.Errorf("server saw %+v, want %+v", s, want)
	}
	if !strings.HasPrefix(out, "200 OK\n") || len(out) > maxOutput+len("…(truncated)") {
		t.Errorf("output %d bytes, starting %q", len(out), out[:20])
	}
	if desc := Describe(st, d); desc != "POST "+srv.URL+"/servers/yz-wsgw-1/restart" || strings.Contains(desc, "s3cret") {
		t.Errorf("Describe = %q", desc)
	}

	st.HTTP.URL = srv.URL + "/broken"
	out, err = RunStep(context.Background(), testEnv(), st, d)
	<-got
	if !errors.Is(err, ErrStatus) || !strings.Contains(out, "500") || !strings.Contains(out, "gateway on fire") {
		t.Errorf("a 500: %q, %v; want ErrStatus with the status and body", out, err)
	}
	st.HTTP.OKStatus = []int{500}
	if _, err = RunStep(context.Background(), testEnv(), st, d); err != nil {
		t.Errorf("a 500 listed in ok_status: %v", err)
	}
	<-got
}

func TestHTTPStepTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	st := &config.RunbookStep{Name: "slow", Timeout: 100 * time.Millisecond, HTTP: &config.HTTPAction{URL: srv.URL}}
	start := time.Now()
	_, err := RunStep(context.Background(), testEnv(), st, Data{})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("a slow server: %v after %s; want the step's timeout", err, time.Since(start))
	}
}

// TestCommandHostileInput runs the test binary itself as the command: each
// templated argument must reach it whole, quotes, ";", newlines and "$(…)"
// included, with no shell in between.
func TestCommandHostileInput(t *testing.T) {
	t.Setenv(echoEnv, "1")
	st := &config.RunbookStep{Name: "clear", Timeout: 10 * time.Second, Command: &config.CommandAction{
		Path: os.Args[0],
		Args: []string{"{{.Room}}", "--subject={{.Subject}}", "{{.Rooms}}", "plain"},
	}}
	out, err := RunStep(context.Background(), testEnv(), st, hostile)
	if err != nil {
		t.Fatalf("RunStep: %v (%s)", err, out)
	}
	line, rest, _ := strings.Cut(out, "\n")
	var argv []string
	if err := json.Unmarshal([]byte(line), &argv); err != nil {
		t.Fatalf("decode %q: %v", line, err)
	}
	want := []string{hostile.Room, "--subject=" + hostile.Subject, "a b c", "plain"}
	if len(argv) != len(want) {
		t.Fatalf("argv = %q, want %q", argv, want)
	}
	for i := range want {
		if argv[i] != want[i] {
			t.Errorf("argv[%d] = %q, want %q", i, argv[i], want[i])
		}
	}
	if rest != "exit 0" {
		t.Errorf("output ends %q, want the exit code", rest)
	}
	if d := Describe(st, hostile); !strings.Contains(d, `"'\"; rm -rf / \n$(x) && echo pwned | cat"`) {
		t.Errorf("Describe quotes each argument: %s", d)
	}
}

func TestCommandExit(t *testing.T) {
	t.Setenv(echoEnv, "1")
	t.Setenv("REMEDY_TEST_EXIT", "3")
	st := &config.RunbookStep{Name: "x", Command: &config.CommandAction{Path: os.Args[0], Args: []string{"a"}}}
	out, err := RunStep(context.Background(), testEnv(), st, Data{})
	if !errors.Is(err, ErrExit) || !strings.HasSuffix(out, "exit 3") {
		t.Errorf("exit 3: %q, %v; want ErrExit and the code", out, err)
	}
	st.Command.Path = "/nonexistent/restart-gateway"
	if _, err := RunStep(context.Background(), testEnv(), st, Data{}); err == nil || errors.Is(err, ErrExit) {
		t.Errorf("a missing program: %v", err)
	}
	st.Command.Args = []string{"{{.Nope}}"}
	if _, err := RunStep(context.Background(), testEnv(), st, Data{}); !errors.Is(err, ErrTemplate) {
		t.Errorf("a bad template: %v, want ErrTemplate", err)
	}
}

func TestWaitStep(t *testing.T) {
	clock := clockwork.NewFakeClock()
	env := Env{Clock: clock}
	st := &config.RunbookStep{Name: "settle", WaitProbes: time.Minute}
	done := make(chan error, 1)
	go func() {
		_, err := RunStep(context.Background(), env, st, Data{})
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 2); err != nil { // the wait and the step's timeout
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("wait: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wait did not end when the clock passed it")
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() {
		_, err := RunStep(ctx2, env, st, Data{})
		done <- err
	}()
	if err := clock.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	cancel2()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a cancelled wait: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled wait did not end")
	}
}
