package probe

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func knownRooms(ids ...string) func(string) bool {
	return func(id string) bool {
		for _, k := range ids {
			if k == id {
				return true
			}
		}
		return false
	}
}

var rooms = knownRooms("hall-1", "hall-2", "coord-1")

func TestLoadScheduleFile(t *testing.T) {
	got, err := LoadScheduleFile(filepath.Join("testdata", "schedules", "good.yaml"), rooms)
	if err != nil {
		t.Fatal(err)
	}
	cst := time.FixedZone("CST", 8*3600)
	want := []Session{
		{ID: "2026-0412-04", Room: "coord-1", Title: "Evaluation, school building", OpensAt: time.Date(2026, 11, 2, 8, 0, 0, 0, cst), ExpectedDuration: time.Hour, Cancelled: true},
		{ID: "2026-0412-03", Room: "hall-1", Title: "Road works, lot 3", OpensAt: time.Date(2026, 11, 2, 9, 30, 0, 0, cst), ExpectedDuration: 90 * time.Minute},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d sessions, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Room != w.Room || g.Title != w.Title || !g.OpensAt.Equal(w.OpensAt) ||
			g.ExpectedDuration != w.ExpectedDuration || g.Cancelled != w.Cancelled {
			t.Errorf("session %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestLoadScheduleFileInvalid(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"invalid-opens-at.yaml", []string{`sessions[3].opens_at: "2026-11-02 09:30" is not an RFC 3339 time (like 2026-11-02T09:30:00+08:00)`}},
		{"invalid-many.yaml", []string{
			`sessions[0].room: unknown room "hall-9"`,
			`sessions[1].id: duplicate id "a" (first at sessions[0])`,
			`sessions[1].expected_duration: "90" is not a duration (like 90m or 1h30m)`,
			`sessions[2].id: missing`,
			`sessions[2].room: missing`,
			`sessions[2].opens_at: missing`,
			`sessions[2].expected_duration: "-5m" must be positive`,
		}},
		{"invalid-unknown-key.yaml", []string{"line 4: field opens not found"}},
		{"invalid-syntax.yaml", []string{"yaml: line 1: did not find expected"}},
		{"invalid-type.yaml", []string{"line 2: cannot unmarshal !!map into []probe.sessionDoc"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "schedules", tt.file)
			_, err := LoadScheduleFile(path, rooms)
			if !errors.Is(err, ErrBadSchedule) {
				t.Fatalf("err = %v, want ErrBadSchedule", err)
			}
			if !strings.HasPrefix(err.Error(), "schedule "+path+": ") {
				t.Errorf("error does not name the file: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseScheduleJSON(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"good", `{"sessions":[{"id":"a","room":"hall-1","opens_at":"2026-11-02T09:30:00+08:00","expected_duration":"1h","extra":true}],"generated":"x"}`, ""},
		{"empty", `{"sessions":[]}`, ""},
		{"syntax", "{\n\"sessions\": [}", "line 2: invalid character '}'"},
		{"type", `{"sessions":[{"id":7}]}`, `sessions.id: json: cannot unmarshal number into Go struct field`},
		{"bad entry", `{"sessions":[{"id":"a","room":"hall-1","opens_at":"2026-11-02T09:30:00+08:00","expected_duration":"1h"},{"id":"b","room":"hall-1","opens_at":"tomorrow","expected_duration":"1h"}]}`,
			`sessions[1].opens_at: "tomorrow" is not an RFC 3339 time`},
		{"trailing", `{"sessions":[]} []`, "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScheduleJSON([]byte(tt.body), rooms)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadSchedule) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrBadSchedule containing %q", err, tt.want)
			}
		})
	}
}

// feedServer serves a schedule feed whose body the test changes, with an
// ETag, answering 304 to a matching If-None-Match.
type feedServer struct {
	mu       sync.Mutex
	body     string
	status   int
	requests int
	notMod   int
}

func (f *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.status != 0 && f.status != http.StatusOK {
		http.Error(w, "trading system unavailable", f.status)
		return
	}
	etag := `"` + time.Duration(len(f.body)).String() + `"`
	if r.Header.Get("If-None-Match") == etag {
		f.notMod++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(f.body))
}

func (f *feedServer) set(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

func TestFeedKeepsLastGood(t *testing.T) {
	fs := &feedServer{}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	store := newScheduleStore()
	var errs int
	feed := &feedSource{url: srv.URL + "/schedule", interval: time.Second, client: srv.Client(), knownRoom: rooms,
		store: store, logger: slog.New(slog.DiscardHandler), onError: func() { errs++ }}
	store.register(feed.source())
	ctx := context.Background()
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

	good := `{"sessions":[{"id":"a","room":"hall-1","opens_at":"2026-11-02T09:30:00+08:00","expected_duration":"1h"}]}`
	fs.set(http.StatusOK, good)
	if err := feed.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := store.sessions(now); len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("after good feed: %+v", got)
	}
	// Unchanged: 304, nothing re-parsed.
	if err := feed.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if fs.notMod != 1 {
		t.Errorf("If-None-Match not sent or 304 not taken: %d not-modified answers", fs.notMod)
	}
	for _, bad := range []struct {
		status int
		body   string
		want   string
	}{
		{http.StatusOK, `{"sessions":[{"id":"a","room":"hall-1","opens_at":"2026-11-02T09:30:00+08:00","expected_duration":"1h"},{"id":"b","room":"hall-7","opens_at":"2026-11-02T10:30:00+08:00","expected_duration":"1h"}]}`,
			`sessions[1].room: unknown room "hall-7"`},
		{http.StatusOK, `<html>maintenance</html>`, "invalid character '<'"},
		{http.StatusServiceUnavailable, "", "503 Service Unavailable"},
	} {
		fs.set(bad.status, bad.body)
		err := feed.poll(ctx)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("bad feed: err = %v, want it to contain %q", err, bad.want)
		}
		if got := store.sessions(now); len(got) != 1 || got[0].ID != "a" {
			t.Fatalf("last good schedule not kept: %+v", got)
		}
	}
}

func TestFileSourceKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "schedule.yaml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("sessions:\n  - {id: a, room: hall-1, opens_at: \"2026-11-02T09:30:00+08:00\", expected_duration: 1h}\n")
	store := newScheduleStore()
	f := &fileSource{path: path, interval: time.Second, knownRoom: rooms, store: store, logger: slog.New(slog.DiscardHandler), onError: func() {}}
	if err := f.load(); err != nil {
		t.Fatal(err)
	}
	write("sessions:\n  - {id: a, room: hall-1, opens_at: \"2026-11-02T09:30:00+08:00\", expected_duration: 1h}\n  - {id: b, room: hall-1, opens_at: \"soon\", expected_duration: 1h}\n")
	err := f.load()
	if err == nil || !strings.Contains(err.Error(), `sessions[1].opens_at: "soon"`) {
		t.Fatalf("bad edit: err = %v", err)
	}
	if got := store.sessions(time.Time{}); len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("last good schedule not kept: %+v", got)
	}
}

func TestStoreMerge(t *testing.T) {
	st := newScheduleStore()
	st.register("file")
	st.register("feed")
	now := t0
	st.set("feed", []Session{{ID: "x", Room: "hall-2"}})
	st.set("file", []Session{{ID: "x", Room: "hall-1"}, {ID: "y", Room: "hall-1"}})
	st.addAdHoc(Session{ID: "adhoc:1", Room: "hall-1", OpensAt: now, ExpectedDuration: time.Minute, AdHoc: true})
	st.addAdHoc(Session{ID: "adhoc:0", Room: "hall-1", OpensAt: now.Add(-time.Hour), ExpectedDuration: time.Minute, AdHoc: true})
	got := st.sessions(now)
	if len(got) != 3 || got[0].ID != "x" || got[0].Room != "hall-2" || got[1].ID != "y" || got[2].ID != "adhoc:1" {
		t.Errorf("merged: %+v", got)
	}
}
