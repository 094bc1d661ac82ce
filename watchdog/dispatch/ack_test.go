package dispatch

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

const ackSecret = "0123456789abcdef-ack-secret"

func ackLinks() config.AckLinks {
	return config.AckLinks{Secret: ackSecret, BaseURL: "https://bidwatch.example.gov.cn/", ValidFor: 4 * time.Hour}
}

// linkQuery returns the query of an acknowledge link.
func linkQuery(t testing.TB, link string) url.Values {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme+"://"+u.Host+u.Path != "https://bidwatch.example.gov.cn/ack" {
		t.Fatalf("link %s does not point at BASE/ack", link)
	}
	return u.Query()
}

// TestAckSigner: a link checks out as made, until it expires; changing any
// part of it (the incident, the person, the expiry, the signature) makes it
// invalid, as does another secret.
func TestAckSigner(t *testing.T) {
	s := NewAckSigner(ackLinks())
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	good := linkQuery(t, s.Link("INC-000042", "zhang", t0))
	with := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range good {
			q[kk] = append([]string(nil), vv...)
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	flip := func(s string) string {
		b := []byte(s)
		if b[3] == 'A' {
			b[3] = 'B'
		} else {
			b[3] = 'A'
		}
		return string(b)
	}
	other := NewAckSigner(config.AckLinks{Secret: "another-secret-of-16+", BaseURL: "https://bidwatch.example.gov.cn", ValidFor: 4 * time.Hour})
	tests := []struct {
		name    string
		q       url.Values
		now     time.Time
		wantErr error
	}{
		{"valid at once", good, t0, nil},
		{"valid a second before expiry", good, t0.Add(4*time.Hour - time.Second), nil},
		{"expired at valid_for", good, t0.Add(4 * time.Hour), ErrLinkExpired},
		{"expired long after", good, t0.Add(48 * time.Hour), ErrLinkExpired},
		{"tampered signature", with("s", flip(good.Get("s"))), t0, ErrLinkInvalid},
		{"no signature", with("s", ""), t0, ErrLinkInvalid},
		{"tampered incident", with("i", "INC-000043"), t0, ErrLinkInvalid},
		{"tampered person", with("p", "wang"), t0, ErrLinkInvalid},
		{"tampered expiry (later)", with("e", good.Get("e")+"0"), t0, ErrLinkInvalid},
		{"tampered expiry, checked after the real one", with("e", "99999999999"), t0.Add(5 * time.Hour), ErrLinkInvalid},
		{"expiry not a number", with("e", "soon"), t0, ErrLinkInvalid},
		{"no incident", with("i", ""), t0, ErrLinkInvalid},
		{"no person", with("p", ""), t0, ErrLinkInvalid},
		{"another secret's link", linkQuery(t, other.Link("INC-000042", "zhang", t0)), t0, ErrLinkInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, person, exp, err := s.Check(tt.q, tt.now)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Check = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && (id != "INC-000042" || person != "zhang" || !exp.Equal(t0.Add(4*time.Hour))) {
				t.Errorf("Check = %s, %s, %s", id, person, exp)
			}
			if tt.wantErr != nil && (id != "" || person != "") {
				t.Errorf("a refused link still names %q, %q", id, person)
			}
		})
	}
	if NewAckSigner(config.AckLinks{Secret: ackSecret}) != nil || NewAckSigner(config.AckLinks{BaseURL: "https://x.example"}) != nil {
		t.Error("a signer without a base URL or a secret: want nil (no links)")
	}
}

// TestAckHandler serves acknowledge links over HTTP with a real Redis and
// incident store: GET shows the page and acknowledges nothing; POST
// acknowledges once, in the person's name; the link cannot be used again;
// an expired or tampered link, or one for an incident no longer open, is
// refused.
func TestAckHandler(t *testing.T) {
	c := city(t, map[string]string{"jd": "http://127.0.0.1:9/unused"})
	c.Dispatch.Ack = ackLinks()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, c, Options{})
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	signer := NewAckSigner(c.Dispatch.Ack)
	h := &AckHandler{Signer: signer, Store: r.store, Redis: r.rdb, Prefix: "bidwatch:", City: c, Now: func() time.Time { return now }}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	open := r.open(problem(vocab.CauseRoom, "jd-hall-1", []string{"jd"}, []string{"jd-hall-1"}), now)
	resolved := r.open(problem(vocab.CauseRoom, "jd-coord-1", []string{"jd"}, []string{"jd-coord-1"}), now)
	if _, err := r.store.Act(ctx, resolved.ID, incident.Action{Kind: incident.ActResolve, Actor: "张工", At: now}); err != nil {
		t.Fatal(err)
	}
	expiredFor := r.open(problem(vocab.CauseRoom, "gy-hall-1", []string{"jd"}, []string{"gy-hall-1"}), now)

	link := func(id string, at time.Time) string {
		return srv.URL + "/ack?" + linkQuery(t, signer.Link(id, "jd-duty", at)).Encode()
	}
	get := func(u string) (int, string) {
		t.Helper()
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control %q", u, res.Header.Get("Cache-Control"))
		}
		return res.StatusCode, string(body)
	}
	post := func(u string) (int, string) {
		t.Helper()
		pu, _ := url.Parse(u)
		res, err := http.PostForm(srv.URL+"/ack", url.Values{"q": {pu.RawQuery}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	acks := func(id string) []incident.Entry {
		var out []incident.Entry
		for _, e := range r.timeline(id) {
			if e.Kind == "acknowledged" {
				out = append(out, e)
			}
		}
		return out
	}
	state := func(id string) incident.State {
		inc, err := r.store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return inc.State
	}

	good := link(open.ID, now)
	t.Run("GET shows the page, acknowledges nothing", func(t *testing.T) {
		for range 3 { // a link scanner, a preview, the person
			code, body := get(good)
			if code != http.StatusOK || !strings.Contains(body, `<form method="post">`) || !strings.Contains(body, "jd 值班员") || !strings.Contains(body, open.ID) {
				t.Fatalf("GET: %d\n%s", code, body)
			}
		}
		if st := state(open.ID); st != incident.StateOpen {
			t.Errorf("after GETs the incident is %s", st)
		}
		if n, _ := r.rdb.Exists(ctx, "bidwatch:dispatch:ack-used:"+linkQuery(t, signer.Link(open.ID, "jd-duty", now)).Get("s")).Result(); n != 0 {
			t.Error("a GET spent the link")
		}
	})
	t.Run("POST acknowledges in the person's name", func(t *testing.T) {
		code, body := post(good)
		if code != http.StatusOK || !strings.Contains(body, "已确认接单") {
			t.Fatalf("POST: %d\n%s", code, body)
		}
		if st := state(open.ID); st != incident.StateAcknowledged {
			t.Errorf("after POST the incident is %s", st)
		}
		a := acks(open.ID)
		if len(a) != 1 || a[0].Actor != "jd 值班员" || !strings.Contains(a[0].Text, "从派单链接确认接单") {
			t.Errorf("acknowledged entries: %+v", a)
		}
	})
	t.Run("a second POST is refused: used already", func(t *testing.T) {
		code, body := post(good)
		if code != http.StatusConflict || !strings.Contains(body, "链接已使用过") {
			t.Errorf("second POST: %d\n%s", code, body)
		}
		if a := acks(open.ID); len(a) != 1 {
			t.Errorf("acknowledged %d times", len(a))
		}
	})
	t.Run("an expired link is refused", func(t *testing.T) {
		old := link(expiredFor.ID, now.Add(-5*time.Hour))
		for _, do := range []func(string) (int, string){get, post} {
			code, body := do(old)
			if code != http.StatusForbidden || !strings.Contains(body, "链接已过期") {
				t.Errorf("expired link: %d\n%s", code, body)
			}
		}
		if st := state(expiredFor.ID); st != incident.StateOpen {
			t.Errorf("an expired link acknowledged: %s", st)
		}
	})
	t.Run("a tampered link is refused", func(t *testing.T) {
		bad := strings.Replace(link(expiredFor.ID, now), "p=jd-duty", "p=jd-boss", 1)
		code, body := post(bad)
		if code != http.StatusForbidden || !strings.Contains(body, "链接无效") {
			t.Errorf("tampered link: %d\n%s", code, body)
		}
		if st := state(expiredFor.ID); st != incident.StateOpen {
			t.Errorf("a tampered link acknowledged: %s", st)
		}
	})
	t.Run("a link for an incident no longer open is refused", func(t *testing.T) {
		code, body := post(link(resolved.ID, now))
		if code != http.StatusConflict || !strings.Contains(body, "故障已不在待处理状态") {
			t.Errorf("resolved incident: %d\n%s", code, body)
		}
		if st := state(resolved.ID); st != incident.StateResolved || len(acks(resolved.ID)) != 0 {
			t.Errorf("resolved incident now %s with %d acknowledgements", st, len(acks(resolved.ID)))
		}
	})
	t.Run("PUT is not allowed", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, good, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("PUT: %d", res.StatusCode)
		}
	})
}
