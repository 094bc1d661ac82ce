package remedy

import (
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

var shanghai = time.FixedZone("CST", 8*3600)

// at is a time in Shanghai: 2026-03-02 is a Monday.
func at(day int, hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", "2026-03-0"+string(rune('0'+day))+" "+hhmm, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func TestInFreeze(t *testing.T) {
	windows := []config.FreezeWindow{
		{Name: "解密", Days: "weekdays", From: "09:00", To: "09:30", Rooms: []string{"yz-hall-1"}},
		{Name: "night", Days: "mon", From: "22:00", To: "06:00", SubCenters: []string{"jd"}},
		{Name: "evening", Days: "sat", From: "20:00", To: "24:00"},
		{Name: "empty", Days: "all", From: "12:00", To: "12:00"},
		{Name: "bad", Days: "someday", From: "00:00", To: "24:00"},
	}
	for _, tc := range []struct {
		name        string
		rooms, scs  []string
		now         time.Time
		want        string
		wantCovered bool
	}{
		{"inside, its room", []string{"yz-hall-1"}, []string{"yz"}, at(2, "09:10"), "解密", true},
		{"inside, another room", []string{"yz-hall-2"}, []string{"yz"}, at(2, "09:10"), "", false},
		{"at its end", []string{"yz-hall-1"}, nil, at(2, "09:30"), "", false},
		{"at its start", []string{"yz-hall-1"}, nil, at(2, "09:00"), "解密", true},
		{"weekend", []string{"yz-hall-1"}, nil, at(7, "09:10"), "", false},
		{"across midnight, evening of its day", nil, []string{"jd"}, at(2, "23:00"), "night", true},
		{"across midnight, morning after", nil, []string{"jd"}, at(3, "05:59"), "night", true},
		{"across midnight, morning of its day", nil, []string{"jd"}, at(2, "05:00"), "", false},
		{"across midnight, another sub-center", nil, []string{"gy"}, at(2, "23:00"), "", false},
		{"to 24:00, everywhere", []string{"x"}, nil, at(7, "23:59"), "evening", true},
		{"to 24:00, midnight after", []string{"x"}, nil, at(8, "00:00"), "", false},
		{"empty window, bad window", []string{"x"}, nil, at(4, "12:00"), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := InFreeze(windows, tc.rooms, tc.scs, tc.now.UTC(), shanghai)
			if got != tc.want || ok != tc.wantCovered {
				t.Errorf("InFreeze at %s = %q, %v; want %q, %v", tc.now, got, ok, tc.want, tc.wantCovered)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	off := false
	now := at(2, "10:00")
	rb := config.Runbook{Name: "restart-gateway", Cooldown: 10 * time.Minute}
	disabled := rb
	disabled.Enabled = &off
	allowFreeze := rb
	allowFreeze.AllowInFreeze = true
	noCooldown := rb
	noCooldown.Cooldown = 0 // the default, 10 min
	for _, tc := range []struct {
		name   string
		in     GuardInput
		want   Verdict
		reason string
		until  time.Time
	}{
		{"runs", GuardInput{Runbook: &rb, Now: now}, Run, "", time.Time{}},
		{"disabled", GuardInput{Runbook: &disabled, Now: now}, Refused, "disabled", time.Time{}},
		{"suspended", GuardInput{Runbook: &rb, Now: now, State: RunbookState{Suspended: true, Reason: "2 failed"}}, Refused, "suspended (2 failed)", time.Time{}},
		{"freeze", GuardInput{Runbook: &rb, Now: now, Freeze: "解密"}, Refused, "freeze window 解密", time.Time{}},
		{"freeze allowed", GuardInput{Runbook: &allowFreeze, Now: now, Freeze: "解密"}, Run, "", time.Time{}},
		{"cooldown", GuardInput{Runbook: &rb, Now: now, LastRun: now.Add(-5 * time.Minute), Target: "server:gw"}, Refused, "cooldown on server:gw until", now.Add(5 * time.Minute)},
		{"cooldown default", GuardInput{Runbook: &noCooldown, Now: now, LastRun: now.Add(-9 * time.Minute)}, Refused, "cooldown", now.Add(time.Minute)},
		{"cooldown over", GuardInput{Runbook: &rb, Now: now, LastRun: now.Add(-10 * time.Minute)}, Run, "", time.Time{}},
		{"cooldown, manual", GuardInput{Runbook: &rb, Now: now, LastRun: now.Add(-time.Minute), Manual: true}, Run, "", time.Time{}},
		{"dry run", GuardInput{Runbook: &rb, Now: now, DryRun: true}, DryRun, "dry run", time.Time{}},
		{"dry run, frozen", GuardInput{Runbook: &rb, Now: now, DryRun: true, Freeze: "解密"}, Refused, "freeze", time.Time{}},
		{"suspended before freeze", GuardInput{Runbook: &rb, Now: now, Freeze: "f", State: RunbookState{Suspended: true}}, Refused, "suspended", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.in)
			if d.Verdict != tc.want || !strings.Contains(d.Reason, tc.reason) || !d.Until.Equal(tc.until) {
				t.Errorf("Decide = %+v; want %s with %q until %s", d, tc.want, tc.reason, tc.until)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	if l := RateLimit(&config.Runbook{MaxPerHour: 3}); l.Rate != 3 || l.Burst != 3 || l.Period != time.Hour {
		t.Errorf("RateLimit = %+v", l)
	}
	if l := RateLimit(&config.Runbook{}); l.Rate != config.DefaultRunbookMaxPerHour {
		t.Errorf("RateLimit of a zero runbook = %+v, want the default", l)
	}
}
