package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/dispatch"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// detailReply is GET /api/incidents/{id} and every action's answer.
type detailReply struct {
	Incident   incident.Incident `json:"incident"`
	Allowed    []string          `json:"allowed"`
	RemainingS float64           `json:"remaining_s"`
}

func (e *env) detail(r reply) detailReply {
	e.t.Helper()
	var d detailReply
	r.decode(e.t, &d)
	return d
}

// postRoute is one route that changes something, and who may use it.
type postRoute struct {
	path string
	body any
	// user may use it; wrong is a user whose role may not ("" for none).
	user, wrong string
}

// postRoutes are every POST route of the API but login, on an incident
// and an acknowledge link's query.
func postRoutes(id string, link url.Values) []postRoute {
	in := "/api/incidents/" + id + "/"
	return []postRoute{
		{"/api/logout", nil, "screen", ""},
		{in + "ack", map[string]string{"text": "on my way"}, "zhang", "screen"},
		{in + "note", map[string]string{"text": "a note"}, "zhang", "screen"},
		{in + "mitigate", map[string]string{"text": "traffic moved"}, "zhang", "screen"},
		{in + "resolve", map[string]string{"text": "switch replaced"}, "zhang", "screen"},
		{in + "class", map[string]string{"class": "major"}, "zhang", "screen"},
		{in + "signoff", map[string]string{"text": "agreed"}, "li", "zhang"},
		{"/api/rooms/yz-hall-1/probe", map[string]int{"minutes": 5}, "zhang", "screen"},
		{"/api/ack", map[string]string{"i": link.Get("i"), "p": link.Get("p"), "e": link.Get("e"), "s": link.Get("s")}, "zhang", "screen"},
	}
}

// Every route that changes something refuses a request without a session
// (401), a session's request without its CSRF token or with a wrong one
// (403), one from another origin (403), and a role that may not (403);
// and none of them changed anything.
func TestMutatingEndpointsRefuse(t *testing.T) {
	e := newEnv(t, envOptions{})
	inc := e.openIncident("yz-hall-1", vocab.SeverityDegraded, time.Now())
	link := linkQuery(t, e.ack.Link(inc.ID, linkPerson, time.Now()))
	sessions := map[string]session{}
	for _, u := range testUsers {
		sessions[u.name] = e.login(u.name)
	}
	other := e.login("admin") // whose CSRF token is not theirs
	revoked := e.token("zhang", "revoked")
	if err := e.auth.RevokeToken(context.Background(), "zhang", "revoked"); err != nil {
		t.Fatal(err)
	}

	for _, rt := range postRoutes(inc.ID, link) {
		t.Run(strings.TrimPrefix(rt.path, "/api/"), func(t *testing.T) {
			s := sessions[rt.user]
			cases := []struct {
				name string
				opts []reqOpt
				code int
			}{
				{"no session", nil, http.StatusUnauthorized},
				{"a session that does not exist", []reqOpt{as(session{token: "bogus", csrf: "bogus"})}, http.StatusUnauthorized},
				{"a revoked API token", []reqOpt{bearer(revoked)}, http.StatusUnauthorized},
				{"an unknown API token", []reqOpt{bearer(auth.TokenPrefix + "0000")}, http.StatusUnauthorized},
				{"no CSRF token", []reqOpt{cookieOnly(s)}, http.StatusForbidden},
				{"a wrong CSRF token", []reqOpt{cookieOnly(s), withHeader(auth.CSRFHeader, "wrong")}, http.StatusForbidden},
				{"another session's CSRF token", []reqOpt{cookieOnly(s), withHeader(auth.CSRFHeader, other.csrf)}, http.StatusForbidden},
				{"another origin", []reqOpt{as(s), withHeader("Origin", "http://evil.example")}, http.StatusForbidden},
			}
			if rt.wrong != "" {
				cases = append(cases, struct {
					name string
					opts []reqOpt
					code int
				}{"the wrong role", []reqOpt{as(sessions[rt.wrong])}, http.StatusForbidden})
			}
			for _, tc := range cases {
				r := e.call("POST", rt.path, rt.body, tc.opts...)
				if r.code != tc.code {
					t.Errorf("%s: %s, want %d", tc.name, r, tc.code)
					continue
				}
				if msg := r.errorText(t); msg == "" {
					t.Errorf("%s: no error message", tc.name)
				}
			}
		})
	}

	// Nothing changed.
	if got := e.getIncident(inc.ID); got.Version != inc.Version || got.State != incident.StateOpen || len(got.Timeline) != len(inc.Timeline) {
		t.Errorf("refused requests changed the incident: %s v%d, %d timeline entries", got.State, got.Version, len(got.Timeline))
	}
	cmds, _, err := e.bus.CommandsSince(context.Background(), time.Now().Add(-time.Hour))
	if err != nil || len(cmds) != 0 {
		t.Errorf("refused requests sent commands: %v %v", cmds, err)
	}
	if r := e.call("GET", "/api/me", nil, as(sessions["screen"])); r.code != http.StatusOK {
		t.Errorf("a refused logout signed the viewer out: %s", r)
	}
	if r := e.call("POST", "/api/ack", postRoutes(inc.ID, link)[8].body, as(sessions["zhang"])); r.code != http.StatusOK {
		t.Errorf("the link was spent by a refused request: %s", r)
	}
}

// With an API token no CSRF token is needed; the token acts as its user,
// with the user's role.
func TestMutatingEndpointsWithToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	inc := e.openIncident("yz-hall-1", vocab.SeverityDegraded, time.Now())
	linked := e.openIncident("jd-hall-1", vocab.SeverityDegraded, time.Now())
	link := linkQuery(t, e.ack.Link(linked.ID, linkPerson, time.Now()))
	tokens := map[string]string{"zhang": e.token("zhang", "script"), "li": e.token("li", "script"), "screen": e.token("screen", "wall")}
	want := map[string]int{"/api/logout": http.StatusNoContent, "/api/rooms/yz-hall-1/probe": http.StatusAccepted}
	// In the order the incident's state allows them.
	for _, rt := range postRoutes(inc.ID, link) {
		if rt.wrong != "" {
			if r := e.call("POST", rt.path, rt.body, bearer(tokens[rt.wrong])); r.code != http.StatusForbidden {
				t.Errorf("%s with %s's token: %s, want 403", rt.path, rt.wrong, r)
			}
		}
		code := want[rt.path]
		if code == 0 {
			code = http.StatusOK
		}
		if r := e.call("POST", rt.path, rt.body, bearer(tokens[rt.user])); r.code != code {
			t.Errorf("%s with %s's token: %s, want %d", rt.path, rt.user, r, code)
		}
	}
	got := e.getIncident(inc.ID)
	if got.State != incident.StateSignedOff || got.SignedOffBy != "李主任 (li)" || got.Class != vocab.ClassMajor {
		t.Errorf("incident after the token's actions: %s, class %s, signed off by %q", got.State, got.Class, got.SignedOffBy)
	}
	for _, kind := range []string{"acknowledged", "note", "mitigated", "reclassified", "resolved"} {
		if i := slices.IndexFunc(got.Timeline, func(en incident.Entry) bool { return en.Kind == kind }); i < 0 || got.Timeline[i].Actor != "张工 (zhang)" {
			t.Errorf("no %s entry by 张工 (zhang): %+v", kind, got.Timeline)
		}
	}
	if r := e.call("GET", "/api/me", nil, bearer(tokens["screen"])); r.code != http.StatusOK {
		t.Errorf("a token's logout ended the token: %s", r)
	}
}

// Every GET route of the API wants a login; /healthz and the page do not.
func TestReadRoutesNeedLogin(t *testing.T) {
	e := newEnv(t, envOptions{})
	paths := []string{
		"/api/me", "/api/overview", "/api/rooms/yz-hall-1", "/api/incidents", "/api/incidents/export",
		"/api/incidents/INC-000001", "/api/schedule", "/api/ack?i=INC-000001&p=wang&e=1&s=x", "/api/live",
		"/metrics", "/api/no-such-path",
	}
	for _, p := range paths {
		for _, opts := range [][]reqOpt{nil, {cookieOnly(session{token: "bogus"})}, {bearer("bw_bogus")}} {
			r := e.call("GET", p, nil, opts...)
			if r.code != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Errorf("GET %s: %s (%s), want a JSON 401", p, r, r.header.Get("Content-Type"))
			}
		}
	}
	if r := e.call("GET", "/healthz", nil); r.code != http.StatusOK || string(r.body) != "ok\n" {
		t.Errorf("/healthz: %s", r)
	}
	for _, p := range []string{"/", "/rooms/yz-hall-1", "/incidents/INC-000001", "/ack"} {
		r := e.call("GET", p, nil)
		if r.code != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %s, want the page", p, r.code, r.header.Get("Content-Type"))
		}
		if r.header.Get("Content-Security-Policy") == "" || r.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: security headers missing: %v", p, r.header)
		}
	}
	screen := e.login("screen")
	if r := e.call("GET", "/api/no-such-path", nil, as(screen)); r.code != http.StatusNotFound {
		t.Errorf("an unknown API path, signed in: %s, want 404", r)
	}
}

// Signing in: one answer for a wrong name and a wrong password; the
// cookie is HttpOnly and SameSite=Strict; logout ends the session.
func TestLoginLogout(t *testing.T) {
	e := newEnv(t, envOptions{})
	wrongPW := e.call("POST", "/api/login", map[string]string{"name": "zhang", "password": "not-the-password"})
	noUser := e.call("POST", "/api/login", map[string]string{"name": "nobody", "password": password})
	if wrongPW.code != http.StatusUnauthorized || noUser.code != http.StatusUnauthorized || !bytes.Equal(wrongPW.body, noUser.body) {
		t.Errorf("wrong password %s; unknown name %s: want the same 401", wrongPW, noUser)
	}
	if r := e.call("POST", "/api/login", "{not json"); r.code != http.StatusBadRequest {
		t.Errorf("a login that is not JSON: %s", r)
	}
	if r := e.call("POST", "/api/login", map[string]string{"name": "zhang", "password": password}, withHeader("Origin", "http://evil.example")); r.code != http.StatusForbidden {
		t.Errorf("a cross-origin login: %s, want 403", r)
	}

	r := e.call("POST", "/api/login", map[string]string{"name": "zhang", "password": password})
	var body struct {
		User struct{ Name, Display, Role string }
		CSRF string
	}
	r.decode(t, &body)
	if r.code != http.StatusOK || body.User.Name != "zhang" || body.User.Display != "张工" || body.User.Role != "operator" || body.CSRF == "" {
		t.Fatalf("login: %s", r)
	}
	cookies := (&http.Response{Header: r.header}).Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/" || cookies[0].Secure {
		t.Fatalf("cookie %+v: want one, HttpOnly, SameSite=Strict, for /, not Secure over http", cookies)
	}
	s := session{user: "zhang", token: cookies[0].Value, csrf: body.CSRF}
	me := e.call("GET", "/api/me", nil, as(s))
	if me.code != http.StatusOK || !strings.Contains(string(me.body), `"csrf":"`+s.csrf+`"`) {
		t.Errorf("me: %s", me)
	}
	out := e.call("POST", "/api/logout", nil, as(s))
	if out.code != http.StatusNoContent {
		t.Fatalf("logout: %s", out)
	}
	if c := (&http.Response{Header: out.header}).Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("logout does not clear the cookie: %+v", c)
	}
	if r := e.call("GET", "/api/me", nil, as(s)); r.code != http.StatusUnauthorized {
		t.Errorf("after logout: %s, want 401", r)
	}
}

// Guessing passwords is slowed: the 11th attempt in a minute for one name
// is refused with 429 and Retry-After, whatever the address; so is the
// 11th from one address, whatever the names.
func TestLoginBruteForce(t *testing.T) {
	e := newEnv(t, envOptions{loginRate: auth.DefaultLoginRate, trustForwarded: true})
	login := func(name, pw, addr string) reply {
		return e.call("POST", "/api/login", map[string]string{"name": name, "password": pw}, withHeader("X-Forwarded-For", addr))
	}
	limited := func(what string, r reply) {
		t.Helper()
		if r.code != http.StatusTooManyRequests {
			t.Fatalf("%s: %s, want 429", what, r)
		}
		if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
			t.Errorf("%s: Retry-After %q, want 1 to 60 seconds", what, r.header.Get("Retry-After"))
		}
	}

	t.Run("one name", func(t *testing.T) {
		for i := 1; i <= 10; i++ {
			if r := login("zhang", "guess-"+strconv.Itoa(i), "10.0.0."+strconv.Itoa(i)); r.code != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %s, want 401", i, r)
			}
		}
		limited("the 11th attempt for zhang, with the right password", login("zhang", password, "10.0.0.11"))
		if r := login("li", password, "10.0.0.12"); r.code != http.StatusOK {
			t.Errorf("another name meanwhile: %s, want 200", r)
		}
	})
	t.Run("one address", func(t *testing.T) {
		for i := 1; i <= 10; i++ {
			if r := login("guess"+strconv.Itoa(i), "guess", "10.9.9.9"); r.code != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %s, want 401", i, r)
			}
		}
		limited("the 11th attempt from 10.9.9.9, a real user's", login("admin", password, "10.9.9.9"))
		if r := login("admin", password, "10.9.9.10"); r.code != http.StatusOK {
			t.Errorf("another address meanwhile: %s, want 200", r)
		}
	})
}

// linkQuery is an acknowledge link's query.
func linkQuery(t testing.TB, link string) url.Values {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// ackBody is POST /api/ack's body for a link's query.
func ackBody(q url.Values) map[string]string {
	return map[string]string{"i": q.Get("i"), "p": q.Get("p"), "e": q.Get("e"), "s": q.Get("s")}
}

// tamper changes one byte of a field of a link.
func tamper(q url.Values, field string) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	b := []byte(out.Get(field))
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else if b[i] >= '0' && b[i] <= '8' {
		b[i]++
	} else {
		b[i] = 'A'
	}
	out.Set(field, string(b))
	return out
}

// Acknowledge links: a good one acknowledges once, as the signed-in user,
// naming the person it was sent to; a tampered, expired or used one is
// refused.
func TestAckLinks(t *testing.T) {
	e := newEnv(t, envOptions{})
	zhang, screen := e.login("zhang"), e.login("screen")
	inc := e.openIncident("yz-hall-1", vocab.SeverityDegraded, time.Now())
	good := linkQuery(t, e.ack.Link(inc.ID, linkPerson, time.Now()))

	var shown struct {
		Incident   incident.Brief `json:"incident"`
		Person     string         `json:"person"`
		PersonName string         `json:"person_name"`
		CanAck     bool           `json:"can_ack"`
	}
	r := e.call("GET", "/api/ack?"+good.Encode(), nil, as(screen))
	r.decode(t, &shown)
	if r.code != http.StatusOK || shown.Incident.ID != inc.ID || shown.Person != linkPerson || shown.PersonName != "王工" || shown.CanAck {
		t.Errorf("the link, to a viewer: %s", r)
	}
	r = e.call("GET", "/api/ack?"+good.Encode(), nil, as(zhang))
	r.decode(t, &shown)
	if !shown.CanAck {
		t.Errorf("the link, to an operator: %s, want can_ack", r)
	}

	expiring := dispatch.NewAckSigner(config.AckLinks{Secret: config.Secret(ackSecret), BaseURL: "http://console.test", ValidFor: time.Second})
	bad := map[string]url.Values{
		"tampered signature": tamper(good, "s"),
		"tampered incident":  tamper(good, "i"),
		"tampered person":    tamper(good, "p"),
		"tampered expiry":    tamper(good, "e"),
		"expired":            linkQuery(t, expiring.Link(inc.ID, linkPerson, time.Now().Add(-time.Minute))),
		"another secret":     linkQuery(t, dispatch.NewAckSigner(config.AckLinks{Secret: "other", BaseURL: "http://x", ValidFor: time.Hour}).Link(inc.ID, linkPerson, time.Now())),
		"no signature":       {"i": {inc.ID}, "p": {linkPerson}, "e": {good.Get("e")}},
	}
	for name, q := range bad {
		if r := e.call("GET", "/api/ack?"+q.Encode(), nil, as(zhang)); r.code != http.StatusBadRequest {
			t.Errorf("GET, %s: %s, want 400", name, r)
		}
		if r := e.call("POST", "/api/ack", ackBody(q), as(zhang)); r.code != http.StatusBadRequest {
			t.Errorf("POST, %s: %s, want 400", name, r)
		}
	}
	if r := e.call("GET", "/api/ack?"+bad["expired"].Encode(), nil, as(zhang)); !strings.Contains(r.errorText(t), "expired") {
		t.Errorf("an expired link's refusal does not say so: %s", r)
	}
	if got := e.getIncident(inc.ID); got.State != incident.StateOpen {
		t.Fatalf("refused links acknowledged the incident: %s", got.State)
	}

	r = e.call("POST", "/api/ack", ackBody(good), as(zhang))
	if r.code != http.StatusOK {
		t.Fatalf("a good link: %s", r)
	}
	d := e.detail(r)
	ack := d.Incident.Timeline[slices.IndexFunc(d.Incident.Timeline, func(en incident.Entry) bool { return en.Kind == "acknowledged" })]
	if d.Incident.State != incident.StateAcknowledged || ack.Actor != "张工 (zhang)" || !strings.Contains(ack.Text, "王工") {
		t.Errorf("acknowledged through the link: %s, entry %+v: want 张工 (zhang), naming 王工", d.Incident.State, ack)
	}
	if r := e.call("POST", "/api/ack", ackBody(good), as(zhang)); r.code != http.StatusConflict {
		t.Errorf("the link used again: %s, want 409", r)
	}
	again := linkQuery(t, e.ack.Link(inc.ID, "zhao", time.Now()))
	if r := e.call("POST", "/api/ack", ackBody(again), as(zhang)); r.code != http.StatusConflict {
		t.Errorf("another link for an acknowledged incident: %s, want 409", r)
	}
	none := linkQuery(t, e.ack.Link("INC-999999", linkPerson, time.Now()))
	if r := e.call("GET", "/api/ack?"+none.Encode(), nil, as(zhang)); r.code != http.StatusNotFound {
		t.Errorf("a link to no incident: %s, want 404", r)
	}
	if r := e.call("POST", "/api/ack", ackBody(none), as(zhang)); r.code != http.StatusNotFound {
		t.Errorf("acknowledging no incident: %s, want 404", r)
	}
}

// A full workflow: the operator acknowledges, notes, reclassifies and
// resolves; the supervisor signs off; the record is frozen; the timeline
// names who did what.
func TestIncidentWorkflow(t *testing.T) {
	e := newEnv(t, envOptions{})
	zhang, li, screen := e.login("zhang"), e.login("li"), e.login("screen")
	inc := e.openIncident("yz-hall-2", vocab.SeverityDegraded, time.Now())
	path := "/api/incidents/" + inc.ID
	allowed := func(s session, want ...string) {
		t.Helper()
		r := e.call("GET", path, nil, as(s))
		if r.code != http.StatusOK {
			t.Fatalf("GET as %s: %s", s.user, r)
		}
		if d := e.detail(r); !slices.Equal(d.Allowed, want) {
			t.Errorf("%s may %v, want %v (incident %s)", s.user, d.Allowed, want, d.Incident.State)
		}
	}
	act := func(s session, action string, body any, code int) detailReply {
		t.Helper()
		r := e.call("POST", path+"/"+action, body, as(s))
		if r.code != code {
			t.Fatalf("%s by %s: %s, want %d", action, s.user, r, code)
		}
		if code != http.StatusOK {
			return detailReply{}
		}
		return e.detail(r)
	}

	r := e.call("GET", path, nil, as(screen))
	if d := e.detail(r); d.RemainingS <= 0 || d.Incident.ID != inc.ID {
		t.Errorf("detail: %s", r)
	}
	allowed(screen)
	allowed(zhang, "ack", "note", "mitigate", "resolve", "class")
	allowed(li, "ack", "note", "mitigate", "resolve", "class")

	if d := act(zhang, "ack", map[string]string{"text": "到场处理"}, http.StatusOK); d.Incident.State != incident.StateAcknowledged {
		t.Errorf("after ack: %s", d.Incident.State)
	}
	act(zhang, "ack", nil, http.StatusConflict)
	allowed(zhang, "note", "mitigate", "resolve", "class")
	act(zhang, "note", map[string]string{"text": "重启了媒体服务"}, http.StatusOK)
	act(zhang, "note", map[string]string{"text": "   "}, http.StatusBadRequest)
	act(zhang, "class", map[string]string{"class": "critical"}, http.StatusBadRequest)
	act(zhang, "class", map[string]string{"class": string(otherClass(inc.Class))}, http.StatusOK)
	act(zhang, "note", "{broken", http.StatusBadRequest)
	if d := act(zhang, "resolve", map[string]string{"text": "交换机端口更换"}, http.StatusOK); d.Incident.State != incident.StateResolved || d.Incident.Result != "交换机端口更换" {
		t.Errorf("after resolve: %s, result %q", d.Incident.State, d.Incident.Result)
	}
	act(zhang, "signoff", nil, http.StatusForbidden)
	allowed(li, "note", "class", "signoff")
	if d := act(li, "signoff", map[string]string{"text": "同意"}, http.StatusOK); d.Incident.State != incident.StateSignedOff || d.Incident.SignedOffBy != "李主任 (li)" {
		t.Errorf("after sign-off: %s by %q", d.Incident.State, d.Incident.SignedOffBy)
	}
	allowed(li)
	for _, a := range []string{"note", "ack", "resolve", "class", "signoff"} {
		act(li, a, map[string]string{"text": "more", "class": "major"}, http.StatusConflict)
	}

	got := e.getIncident(inc.ID)
	var people []string
	for _, en := range got.Timeline {
		if en.Actor != incident.Actor {
			people = append(people, en.Kind+" "+en.Actor)
		}
	}
	want := []string{"acknowledged 张工 (zhang)", "note 张工 (zhang)", "reclassified 张工 (zhang)", "resolved 张工 (zhang)", "signed_off 李主任 (li)"}
	if !slices.Equal(people, want) {
		t.Errorf("timeline\n got %q\nwant %q", people, want)
	}

	if r := e.call("GET", "/api/incidents/INC-999999", nil, as(screen)); r.code != http.StatusNotFound {
		t.Errorf("an unknown incident: %s, want 404", r)
	}
	if r := e.call("POST", "/api/incidents/INC-999999/ack", nil, as(zhang)); r.code != http.StatusNotFound {
		t.Errorf("acting on an unknown incident: %s, want 404", r)
	}
}

// The incident list filters by state, class, sub-center and time, newest
// first; the export is the same list as a file, CSV for Excel or JSON.
func TestIncidentListAndExport(t *testing.T) {
	e := newEnv(t, envOptions{})
	screen := e.login("screen")
	now := time.Now()
	setClass := func(id string, c vocab.Class) {
		if e.getIncident(id).Class != c {
			e.act(id, incident.Action{Kind: incident.ActReclassify, Actor: "test", At: now, Class: c})
		}
	}
	a := e.openIncident("yz-hall-1", vocab.SeverityDegraded, now.Add(-72*time.Hour))
	setClass(a.ID, vocab.ClassMinor)
	e.act(a.ID, incident.Action{Kind: incident.ActResolve, Actor: "test", At: now, Text: "done"})
	b := e.openIncident("jd-hall-1", vocab.SeverityDegraded, now.Add(-time.Hour))
	setClass(b.ID, vocab.ClassMajor)
	c := e.openIncident("gy-hall-1", vocab.SeverityCritical, now.Add(-30*time.Minute))
	setClass(c.ID, vocab.ClassPartial)
	e.act(c.ID, incident.Action{Kind: incident.ActAcknowledge, Actor: "test", At: now})
	d := e.openIncident("by-hall-1", vocab.SeverityDegraded, now)
	setClass(d.ID, vocab.ClassOutage)

	loc := e.city.Dispatch.Location()
	dayA := a.OpenedAt.In(loc).Format(time.DateOnly)
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{d.ID, c.ID, b.ID, a.ID}},
		{"state=open", []string{d.ID, b.ID}},
		{"state=open,acknowledged", []string{d.ID, c.ID, b.ID}},
		{"state=resolved", []string{a.ID}},
		{"class=major", []string{b.ID}},
		{"class=minor,outage", []string{d.ID, a.ID}},
		{"sub_center=jd", []string{b.ID}},
		{"sub_center=gy,by", []string{d.ID, c.ID}},
		{"from=" + url.QueryEscape(now.Add(-2*time.Hour).Format(time.RFC3339)), []string{d.ID, c.ID, b.ID}},
		{"to=" + url.QueryEscape(now.Add(-2*time.Hour).Format(time.RFC3339)), []string{a.ID}},
		{"from=" + dayA + "&to=" + dayA, []string{a.ID}},
		{"limit=2", []string{d.ID, c.ID}},
		{"state=open,acknowledged&sub_center=gy", []string{c.ID}},
		{"class=major&sub_center=yz", nil},
	}
	for _, tc := range cases {
		r := e.call("GET", "/api/incidents?"+tc.query, nil, as(screen))
		var list struct {
			Incidents []struct {
				ID        string  `json:"id"`
				HandlingS float64 `json:"handling_s"`
			} `json:"incidents"`
		}
		r.decode(t, &list)
		var ids []string
		for _, inc := range list.Incidents {
			ids = append(ids, inc.ID)
		}
		if r.code != http.StatusOK || !slices.Equal(ids, tc.want) {
			t.Errorf("?%s: %d %v, want %v", tc.query, r.code, ids, tc.want)
		}
		if list.Incidents == nil {
			t.Errorf("?%s: incidents is null, want a list", tc.query)
		}
	}
	for _, q := range []string{"state=bogus", "class=critical", "from=yesterday", "to=2026-13-01", "limit=-1", "limit=x"} {
		if r := e.call("GET", "/api/incidents?"+q, nil, as(screen)); r.code != http.StatusBadRequest || r.errorText(t) == "" {
			t.Errorf("?%s: %s, want 400 saying why", q, r)
		}
	}

	r := e.call("GET", "/api/incidents/export?sub_center=yz,jd", nil, as(screen))
	if r.code != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV export: %d %s", r.code, r.header.Get("Content-Type"))
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.HasSuffix(cd, `.csv"`) {
		t.Errorf("CSV export: Content-Disposition %q", cd)
	}
	if !bytes.HasPrefix(r.body, []byte("\xef\xbb\xbf"+incident.CSVHeadPrefix+"n=")) {
		t.Fatalf("CSV export does not start with the UTF-8 BOM and the evidence chain's head: %q", r.body[:min(len(r.body), 60)])
	}
	_, records, _ := bytes.Cut(r.body, []byte("\n"))
	rows, err := csv.NewReader(bytes.NewReader(records)).ReadAll()
	if err != nil {
		t.Fatalf("CSV export: %v", err)
	}
	if len(rows) != 3 || rows[0][0] != "id" || rows[0][1] != "state" || rows[1][0] != a.ID || rows[2][0] != b.ID {
		t.Errorf("CSV export: header %q, %d rows, want the header then %s and %s, oldest first", rows[0], len(rows), a.ID, b.ID)
	}

	r = e.call("GET", "/api/incidents/export?format=json", nil, as(screen))
	var recs []incident.Record
	if err := json.Unmarshal(r.body, &recs); err != nil || r.code != http.StatusOK {
		t.Fatalf("JSON export: %d %v", r.code, err)
	}
	if len(recs) != 4 || recs[0].ID != a.ID || recs[3].ID != d.ID || !strings.HasSuffix(r.header.Get("Content-Disposition"), `.json"`) {
		t.Errorf("JSON export: %d records, %s", len(recs), r.header.Get("Content-Disposition"))
	}
	if len(recs) > 0 && recs[0].EvidenceHead == nil {
		t.Errorf("JSON export: the records do not carry the evidence chain's head")
	}
	if _, err := incident.VerifyJSON(r.body); err != nil {
		t.Errorf("JSON export does not verify: %v", err)
	}
	if r := e.call("GET", "/api/incidents/export?format=xml", nil, as(screen)); r.code != http.StatusBadRequest {
		t.Errorf("format=xml: %s, want 400", r)
	}
}

// The overview is the demo city's sub-centers and rooms, live tiles,
// sparks, the active incidents and the probes, a silent one said so; the
// room page, the schedule and "probe this room now" work on the same.
func TestOverviewRoomScheduleProbe(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	now := time.Now()
	probes := []bus.ProbeStatus{
		{ID: "yz-p1", Location: "yz", State: bus.ProbeRunning, LastSeen: now, HeartbeatMS: 5000, Rooms: []string{"yz-hall-1"}},
		{ID: "jd-p1", Location: "jd", State: bus.ProbeRunning, LastSeen: now.Add(-10 * time.Minute), HeartbeatMS: 5000},
		{ID: "gy-p1", Location: "gy", State: bus.ProbeStopped, LastSeen: now.Add(-time.Hour), HeartbeatMS: 5000},
	}
	for _, p := range probes {
		if err := e.bus.PutProbeStatus(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	opening := bus.ScheduledSession{ID: "S-1", Room: "yz-hall-1", Title: "某工程施工招标开标", OpensAt: now.Add(-10 * time.Minute), DurationMS: (2 * time.Hour).Milliseconds()}
	if err := e.bus.PutSchedule(ctx, "yz-p1", []bus.ScheduledSession{opening}, time.Minute); err != nil {
		t.Fatal(err)
	}
	e.publish(
		sampleAt("yz-hall-1", "yz", sample.TransportWS, "ws-1", now, nil),
		sampleAt("yz-hall-1", "yz", sample.TransportWebRTC, "rtc-1", now, nil),
	)
	inc := e.openIncident("yz-hall-2", vocab.SeverityDegraded, now)
	screen := e.login("screen")

	var o Overview
	eventually(t, wait, "yz-hall-1 ok and yz-hall-2's incident on the overview", func() bool {
		r := e.call("GET", "/api/overview", nil, as(screen))
		if r.code != http.StatusOK {
			t.Fatalf("overview: %s", r)
		}
		o = Overview{}
		r.decode(t, &o)
		return tileOf(o, "yz-hall-1").State == StateOK && len(o.Incidents) == 1
	})
	if o.City.ID != "yangzhou" || o.City.Name != e.city.City.Name {
		t.Errorf("city %+v", o.City)
	}
	var subs []string
	for i, sc := range o.SubCenters {
		subs = append(subs, sc.ID)
		var rooms, want []string
		for _, tile := range sc.Rooms {
			rooms = append(rooms, tile.ID)
			if tile.SubCenter != sc.ID || tile.Name == "" || tile.Kind == "" {
				t.Errorf("tile %+v in %s", tile, sc.ID)
			}
		}
		for _, r := range e.city.Rooms {
			if r.SubCenter == e.city.SubCenters[i].ID {
				want = append(want, r.ID)
			}
		}
		if !slices.Equal(rooms, want) {
			t.Errorf("%s rooms %v, want %v", sc.ID, rooms, want)
		}
	}
	if want := []string{"yz", "jd", "yzg", "gy", "by"}; !slices.Equal(subs, want) {
		t.Errorf("sub-centers %v, want %v", subs, want)
	}
	h1 := tileOf(o, "yz-hall-1")
	if h1.Session == nil || h1.Session.ID != "S-1" || h1.RTTMS != 40 || len(h1.Views) != 2 {
		t.Errorf("yz-hall-1: %+v", h1)
	}
	if h2 := tileOf(o, "yz-hall-2"); h2.State != StateDegraded || !slices.Equal(h2.Incidents, []string{inc.ID}) {
		t.Errorf("yz-hall-2 with an active incident: %s %v", h2.State, h2.Incidents)
	}
	if other := tileOf(o, "by-hall-1"); other.State != StateIdle {
		t.Errorf("by-hall-1 with nothing probed: %s", other.State)
	}
	if o.Incidents[0].ID != inc.ID {
		t.Errorf("incidents %+v", o.Incidents)
	}
	if sp := o.Sparks["yz-hall-1"]; len(sp.T) == 0 || sp.RTT[len(sp.RTT)-1] != 40 {
		t.Errorf("yz-hall-1 sparks %+v", sp)
	}
	states := map[string]string{}
	for _, p := range o.Probes {
		states[p.ID] = p.State
	}
	if want := map[string]string{"yz-p1": "running", "jd-p1": "silent", "gy-p1": "stopped"}; !mapsEqual(states, want) {
		t.Errorf("probes %v, want %v", states, want)
	}

	r := e.call("GET", "/api/rooms/yz-hall-1", nil, as(screen))
	var room struct {
		Room    Tile `json:"room"`
		Servers []struct {
			ID, Name, Role, State string
		} `json:"servers"`
		Sessions   []ScheduleSession  `json:"sessions"`
		Views      map[string][]Point `json:"views"`
		Thresholds map[string]float64 `json:"thresholds"`
	}
	r.decode(t, &room)
	if r.code != http.StatusOK || room.Room.ID != "yz-hall-1" || len(room.Servers) != 4 || len(room.Views["yz/ws"]) == 0 ||
		len(room.Sessions) != 1 || room.Thresholds["rtt_ms"] != 300 {
		t.Errorf("room page: %s", r)
	}
	if r := e.call("GET", "/api/rooms/no-such-room", nil, as(screen)); r.code != http.StatusNotFound {
		t.Errorf("an unknown room: %s", r)
	}

	r = e.call("GET", "/api/schedule", nil, as(screen))
	var sched struct {
		Sessions []ScheduleSession `json:"sessions"`
	}
	r.decode(t, &sched)
	if len(sched.Sessions) != 1 || sched.Sessions[0].State != "live" || !slices.Equal(sched.Sessions[0].Probes, []string{"yz-p1"}) ||
		sched.Sessions[0].RoomName == "" || sched.Sessions[0].SubCenter != "yz" {
		t.Errorf("schedule: %s", r)
	}

	zhang := e.login("zhang")
	r = e.call("POST", "/api/rooms/yz-hall-1/probe", map[string]int{"minutes": 15}, as(zhang))
	if r.code != http.StatusAccepted {
		t.Fatalf("probe now: %s", r)
	}
	cmds, _, err := e.bus.CommandsSince(ctx, now.Add(-time.Minute))
	if err != nil || len(cmds) != 1 || cmds[0].Room != "yz-hall-1" || cmds[0].For != 15*time.Minute || cmds[0].By != "张工 (zhang)" {
		t.Errorf("commands %+v, %v", cmds, err)
	}
	for _, bad := range []struct {
		path string
		body any
		code int
	}{
		{"/api/rooms/yz-hall-1/probe", map[string]int{"minutes": 500}, http.StatusBadRequest},
		{"/api/rooms/yz-hall-1/probe", "{", http.StatusBadRequest},
		{"/api/rooms/no-such-room/probe", nil, http.StatusNotFound},
	} {
		if r := e.call("POST", bad.path, bad.body, as(zhang)); r.code != bad.code {
			t.Errorf("POST %s %v: %s, want %d", bad.path, bad.body, r, bad.code)
		}
	}

	tok := e.token("screen", "prometheus")
	r = e.call("GET", "/metrics", nil, bearer(tok))
	if r.code != http.StatusOK || !strings.Contains(string(r.body), "bidwatch_console_viewers ") || !strings.Contains(string(r.body), "bidwatch_console_logins_total") {
		t.Errorf("metrics: %d", r.code)
	}
}

func tileOf(o Overview, id string) Tile {
	for _, sc := range o.SubCenters {
		for _, t := range sc.Rooms {
			if t.ID == id {
				return t
			}
		}
	}
	return Tile{}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// No secret leaves the console: through a whole flow (sign-ins, wrong
// passwords, actions, links, tokens, users changed and disabled, the live
// feed), no response and no log line carries a password, a session token
// (but in the Set-Cookie that gives it), an API token, a CSRF token (but
// to its own session, at login and /api/me), a password hash or the
// acknowledge links' secret.
func TestNoSecretLeaks(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	newPW, wrongPW := "a-brand-new-password-77", "wrong-password-31337"
	secrets := map[string]string{"password": password, "new password": newPW, "wrong password": wrongPW, "ack secret": ackSecret, "bcrypt hash": "$2a$"}

	zhang, li, screen, admin := e.login("zhang"), e.login("li"), e.login("screen"), e.login("admin")
	zhang2 := e.login("zhang")
	sessions := []session{zhang, li, screen, admin, zhang2}
	v := e.viewer(screen, dialOpts{})
	v.next(tickWait, "a tick", ofKind("tick"))

	// Wrong logins, including a password typed as the name.
	e.call("POST", "/api/login", map[string]string{"name": "zhang", "password": wrongPW})
	e.call("POST", "/api/login", map[string]string{"name": "nobody", "password": password})
	e.call("POST", "/api/login", map[string]string{"name": password, "password": password})
	// API tokens, one revoked.
	zt, lt := e.token("zhang", "cli"), e.token("li", "cli")
	gone := e.token("screen", "old")
	if err := e.auth.RevokeToken(ctx, "screen", "old"); err != nil {
		t.Fatal(err)
	}
	secrets["zhang's token"], secrets["li's token"], secrets["revoked token"] = zt, lt, gone
	e.call("GET", "/api/me", nil, bearer(gone))

	// Actions by session, token and link.
	inc := e.openIncident("yz-hall-1", vocab.SeverityCritical, time.Now())
	other := e.openIncident("jd-hall-1", vocab.SeverityDegraded, time.Now())
	e.call("POST", "/api/incidents/"+inc.ID+"/ack", map[string]string{"text": "ok"}, as(zhang))
	e.call("POST", "/api/incidents/"+inc.ID+"/note", map[string]string{"text": "looking"}, bearer(zt))
	e.call("POST", "/api/incidents/"+inc.ID+"/resolve", map[string]string{"text": "fixed"}, as(zhang2))
	e.call("POST", "/api/incidents/"+inc.ID+"/signoff", nil, bearer(lt))
	e.call("POST", "/api/incidents/"+inc.ID+"/note", map[string]string{"text": "late"}, as(li))
	q := linkQuery(t, e.ack.Link(other.ID, linkPerson, time.Now()))
	e.call("GET", "/api/ack?"+q.Encode(), nil, as(zhang))
	e.call("POST", "/api/ack", ackBody(q), as(zhang))
	e.call("POST", "/api/ack", ackBody(tamper(q, "s")), as(zhang))
	e.call("POST", "/api/rooms/yz-hall-1/probe", nil, as(zhang))
	e.call("POST", "/api/incidents/"+other.ID+"/note", map[string]string{"text": "x"}, cookieOnly(zhang)) // no CSRF
	e.call("POST", "/api/incidents/"+other.ID+"/note", map[string]string{"text": "x"}, cookieOnly(zhang), withHeader(auth.CSRFHeader, li.csrf))

	// Reading everything there is.
	for _, s := range sessions {
		e.call("GET", "/api/me", nil, as(s))
	}
	for _, p := range []string{"/api/overview", "/api/rooms/yz-hall-1", "/api/incidents", "/api/incidents/" + inc.ID, "/api/incidents/" + other.ID,
		"/api/incidents/export", "/api/incidents/export?format=json", "/api/schedule", "/metrics", "/"} {
		e.call("GET", p, nil, as(admin))
	}

	// Users changed: a new one, a password changed, one disabled.
	if _, err := e.auth.AddUser(ctx, "zhao", "赵工", auth.RoleOperator, password); err != nil {
		t.Fatal(err)
	}
	zhao := e.login("zhao")
	if err := e.auth.SetPassword(ctx, "zhao", newPW); err != nil {
		t.Fatal(err)
	}
	e.call("GET", "/api/me", nil, as(zhao)) // ended by the password change
	if err := e.auth.Disable(ctx, "li"); err != nil {
		t.Fatal(err)
	}
	e.call("GET", "/api/me", nil, as(li))
	e.call("GET", "/api/me", nil, bearer(lt))
	e.call("POST", "/api/logout", nil, as(zhang2))
	v.next(wait, "the incident events", ofKind("incident"))
	v.close()
	sessions = append(sessions, zhao)

	for i, s := range sessions {
		secrets[fmt.Sprintf("session token %d of %s", i, s.user)] = s.token
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "signed in") || !strings.Contains(logs, "incident action") {
		t.Fatalf("the console's log was not captured: %.500s", logs)
	}
	for name, sec := range secrets {
		if strings.Contains(logs, sec) {
			t.Errorf("the log has the %s", name)
		}
	}
	for _, s := range sessions {
		if strings.Contains(logs, s.csrf) {
			t.Errorf("the log has %s's CSRF token", s.user)
		}
	}

	xs := e.exchanges()
	if len(xs) < 40 {
		t.Fatalf("only %d responses recorded", len(xs))
	}
	for _, x := range xs {
		var setCookie string
		for k, vs := range x.header {
			for _, hv := range vs {
				if k == "Set-Cookie" {
					setCookie += hv
					continue
				}
				for name, sec := range secrets {
					if strings.Contains(hv, sec) {
						t.Errorf("%s: header %s has the %s", x.what, k, name)
					}
				}
			}
		}
		for name, sec := range secrets {
			if strings.Contains(string(x.body), sec) {
				t.Errorf("%s: the body has the %s", x.what, name)
			}
			if strings.HasPrefix(name, "session token") && strings.Contains(setCookie, sec) && x.what != "POST /api/login" {
				t.Errorf("%s: Set-Cookie has the %s", x.what, name)
			}
			if !strings.HasPrefix(name, "session token") && strings.Contains(setCookie, sec) {
				t.Errorf("%s: Set-Cookie has the %s", x.what, name)
			}
		}
		for _, s := range sessions {
			if !strings.Contains(string(x.body), s.csrf) {
				continue
			}
			own := (x.what == "POST /api/login" && strings.Contains(setCookie, s.token)) || (x.what == "GET /api/me" && x.cookie == s.token)
			if !own {
				t.Errorf("%s (as %q): the body has %s's CSRF token", x.what, x.cookie, s.user)
			}
		}
	}
}
