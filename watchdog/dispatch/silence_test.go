package dispatch

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

func TestSilenceCheck(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	ok := Silence{Match: map[string]string{"sub_center": "jd", "room": "jd-hall-1"}, Start: t0, End: t0.Add(2 * time.Hour), By: "张工", Reason: "网关升级"}
	with := func(f func(s *Silence)) Silence {
		s := ok
		s.Match = map[string]string{"sub_center": "jd", "room": "jd-hall-1"}
		f(&s)
		return s
	}
	tests := []struct {
		name    string
		s       Silence
		wantErr string // "" when valid
	}{
		{"valid", ok, ""},
		{"every key known", with(func(s *Silence) {
			s.Match = map[string]string{"sub_center": "jd", "room": "r", "server": "s", "cause": "server", "key": "server:s", "class": "minor"}
		}), ""},
		{"no matcher would silence everything", with(func(s *Silence) { s.Match = nil }), "match nothing would silence everything"},
		{"unknown key", with(func(s *Silence) { s.Match["site"] = "jd" }), `unknown key "site"`},
		{"a key with no value", with(func(s *Silence) { s.Match["room"] = "" }), "room has no value"},
		{"ends before it starts", with(func(s *Silence) { s.End = s.Start.Add(-time.Minute) }), "ends before it starts"},
		{"ends as it starts", with(func(s *Silence) { s.End = s.Start }), "ends before it starts"},
		{"nobody says who", with(func(s *Silence) { s.By = "  " }), "who silences is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Check()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Check = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !errors.Is(err, ErrBadSilence) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Check = %v, want ErrBadSilence saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestSilenceMatches(t *testing.T) {
	b := &incident.Brief{ID: "INC-000007", Key: "server:jd-media-1", Cause: vocab.CauseServer, Subject: "jd-media-1", Class: vocab.ClassPartial,
		SubCenters: []string{"gy", "jd"}, Rooms: []string{"gy-hall-1", "jd-hall-1"}, Servers: []string{"jd-media-1"}}
	tests := []struct {
		match map[string]string
		want  bool
	}{
		{map[string]string{"sub_center": "jd"}, true},
		{map[string]string{"sub_center": "gy"}, true},
		{map[string]string{"sub_center": "by"}, false},
		{map[string]string{"room": "jd-hall-1"}, true},
		{map[string]string{"room": "jd-hall"}, false},
		{map[string]string{"server": "jd-media-1"}, true},
		{map[string]string{"server": "jd-web-1"}, false},
		{map[string]string{"cause": "server"}, true},
		{map[string]string{"cause": "room"}, false},
		{map[string]string{"key": "server:jd-media-1"}, true},
		{map[string]string{"key": "room:jd-hall-1"}, false},
		{map[string]string{"class": "partial"}, true},
		{map[string]string{"class": "minor"}, false},
		{map[string]string{"sub_center": "jd", "room": "jd-hall-1", "cause": "server"}, true},
		{map[string]string{"sub_center": "jd", "room": "by-hall-1"}, false}, // every key must match
	}
	for _, tt := range tests {
		s := Silence{Match: tt.match}
		t.Run(s.String(), func(t *testing.T) {
			if got := s.Matches(b); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMutingPicksAnActiveMatch: the active silence covering an incident, none when it has
// ended, not begun, or does not match.
func TestMutingPicksAnActiveMatch(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	b := &incident.Brief{SubCenters: []string{"jd"}, Rooms: []string{"jd-hall-1"}}
	jd := map[string]string{"sub_center": "jd"}
	tests := []struct {
		name   string
		ss     []Silence
		wantID string
	}{
		{"none", nil, ""},
		{"active and matching", []Silence{{ID: "a", Match: jd, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)}}, "a"},
		{"starts at now: active", []Silence{{ID: "a", Match: jd, Start: t0, End: t0.Add(time.Hour)}}, "a"},
		{"ends at now: over", []Silence{{ID: "a", Match: jd, Start: t0.Add(-time.Hour), End: t0}}, ""},
		{"not begun", []Silence{{ID: "a", Match: jd, Start: t0.Add(time.Minute), End: t0.Add(time.Hour)}}, ""},
		{"another place", []Silence{{ID: "a", Match: map[string]string{"sub_center": "gy"}, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)}}, ""},
		{"the ended one skipped, the active one found", []Silence{
			{ID: "old", Match: jd, Start: t0.Add(-2 * time.Hour), End: t0.Add(-time.Hour)},
			{ID: "now", Match: jd, Start: t0.Add(-time.Minute), End: t0.Add(time.Hour)},
		}, "now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := Muting(tt.ss, b, t0)
			if ok != (tt.wantID != "") || s.ID != tt.wantID {
				t.Errorf("Muting = %q, %v; want %q", s.ID, ok, tt.wantID)
			}
		})
	}
}
