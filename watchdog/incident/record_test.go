package incident

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

func TestOpen(t *testing.T) {
	now := t0.Add(time.Minute)
	network := func(loc string, fs ...detect.Finding) correlate.Problem {
		var rooms []string
		for _, f := range fs {
			rooms = append(rooms, f.Room)
		}
		return problem(vocab.CauseNetwork, loc, rooms, fs...)
	}
	tests := []struct {
		name         string
		p            correlate.Problem
		class        vocab.Class
		rule         string
		deadline     time.Duration
		detectedAt   time.Time
		wantEntries  []string
		wantMutedBy  string
		wantNoPaging bool
	}{
		{"a room's latency: minor", roomProblem(hall1, 420), vocab.ClassMinor, "no rule matched → minor", time.Hour, t0.Add(-10 * time.Second),
			[]string{"detected", "opened"}, "", false},
		{"a dropout: partial, being critical", problem(vocab.CauseRoom, hall1, []string{hall1}, dropout(hall1, 2, t0)), vocab.ClassPartial, "severity=critical → partial", 2 * time.Hour, t0,
			[]string{"detected", "opened"}, "", false},
		{"a saturated server: partial, by its cause", serverProblem(hall1, hall2), vocab.ClassPartial, "cause=server → partial", 2 * time.Hour, t0.Add(-30 * time.Second),
			[]string{"detected", "detected", "detected", "opened"}, "", false},
		{"a server down: outage", problem(vocab.CauseServer, media1, []string{hall1}, serverDown(media1, 3, t0)), vocab.ClassOutage, "finding=server_down → outage", 4 * time.Hour, t0.Add(-5 * time.Second),
			[]string{"detected", "opened"}, "", false},
		{"critical in three rooms: outage", network("gy", dropout(hall1, 1, t0), dropout(hall2, 1, t0), dropout(hall3, 1, t0)), vocab.ClassOutage, "severity=critical, min_rooms=3 → outage", 4 * time.Hour, t0,
			[]string{"detected", "detected", "detected", "opened"}, "", false},
		{"a network path, two rooms: partial", network("gy", latency(hall1, 400, t0), latency(hall2, 400, t0)), vocab.ClassPartial, "cause=network, min_rooms=2 → partial", 2 * time.Hour, t0.Add(-10 * time.Second),
			[]string{"detected", "detected", "opened"}, "", false},
		{"a network path, one room: minor", network("gy", latency(hall1, 400, t0)), vocab.ClassMinor, "no rule matched → minor", time.Hour, t0.Add(-10 * time.Second),
			[]string{"detected", "opened"}, "", false},
		{"an uplink, two rooms: partial", problem(vocab.CauseUplink, "yz", []string{hall1, hall2}, latency(hall1, 400, t0), latency(hall2, 400, t0)), vocab.ClassPartial, "cause=uplink, min_rooms=2 → partial", 2 * time.Hour, t0.Add(-10 * time.Second),
			[]string{"detected", "detected", "opened"}, "", false},
		{"no start time: detected when opened", func() correlate.Problem {
			p := roomProblem(hall1, 420)
			p.Since = time.Time{}
			return p
		}(), vocab.ClassMinor, "no rule matched → minor", time.Hour, now, []string{"detected", "opened"}, "", false},
		{"a start time ahead: detected when opened", func() correlate.Problem {
			p := roomProblem(hall1, 420)
			p.Since = now.Add(time.Minute)
			return p
		}(), vocab.ClassMinor, "no rule matched → minor", time.Hour, now, []string{"detected", "opened"}, "", false},
		{"muted by a maintenance window", func() correlate.Problem {
			p := roomProblem(hall1, 420)
			p.Page, p.MutedBy = false, "nightly"
			return p
		}(), vocab.ClassMinor, "no rule matched → minor", time.Hour, t0.Add(-10 * time.Second), []string{"detected", "opened", "muted"}, "nightly", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			before := fmt.Sprintf("%+v", p)
			inc := Open(p, now, policy())
			if fmt.Sprintf("%+v", p) != before {
				t.Errorf("Open changed its problem")
			}
			if inc.ID != "" || inc.Key != p.Key || inc.State != StateOpen || inc.Cause != p.Cause || inc.Subject != p.Subject || inc.Severity != p.Severity {
				t.Errorf("identity: id %q key %q state %s cause %s subject %s severity %s", inc.ID, inc.Key, inc.State, inc.Cause, inc.Subject, inc.Severity)
			}
			if inc.Class != tt.class || inc.ClassRule != tt.rule || !inc.Deadline.Equal(now.Add(tt.deadline)) {
				t.Errorf("class %s (%s) deadline %s, want %s (%s) %s", inc.Class, inc.ClassRule, inc.Deadline, tt.class, tt.rule, now.Add(tt.deadline))
			}
			if !inc.OpenedAt.Equal(now) || !inc.DetectedAt.Equal(tt.detectedAt) || !inc.LastSeen.Equal(now) || !inc.ClearingSince.IsZero() || !inc.ResolvedAt.IsZero() {
				t.Errorf("times: opened %s detected %s (want %s) last seen %s clearing %s", inc.OpenedAt, inc.DetectedAt, tt.detectedAt, inc.LastSeen, inc.ClearingSince)
			}
			wantPlace := Place{SubCenters: p.SubCenters, Rooms: p.Rooms, Servers: p.Servers, Locations: p.Locations}
			if !reflect.DeepEqual(inc.Place, wantPlace) {
				t.Errorf("place %+v, want %+v", inc.Place, wantPlace)
			}
			var ids []string
			for _, f := range p.Findings {
				ids = append(ids, f.ID())
			}
			if !slices.Equal(inc.Findings, ids) || !slices.Equal(inc.Kinds, p.Kinds) || !slices.Equal(inc.Explains, p.Explains) {
				t.Errorf("findings %q kinds %q explains %q", inc.Findings, inc.Kinds, inc.Explains)
			}
			if inc.CauseText != CauseText(&p) || inc.Phenomenon.Summary != p.Summary {
				t.Errorf("cause text %q summary %q", inc.CauseText, inc.Phenomenon.Summary)
			}
			if inc.Paging == tt.wantNoPaging || inc.MutedBy != tt.wantMutedBy {
				t.Errorf("paging %v muted by %q", inc.Paging, inc.MutedBy)
			}
			if got := kinds(inc.Timeline); !slices.Equal(got, tt.wantEntries) {
				t.Errorf("timeline %q, want %q", got, tt.wantEntries)
			}
			if e := entry(t, inc, "opened"); !e.At.Equal(now) || e.Actor != Actor || !strings.Contains(e.Text, string(tt.class)+" ("+tt.rule+")") {
				t.Errorf("opened entry %+v", e)
			}
			if tt.wantNoPaging {
				if e := entry(t, inc, "muted"); !strings.Contains(e.Text, "nightly") {
					t.Errorf("muted entry %+v", e)
				}
			}
			inOrder(t, inc.Timeline)
		})
	}
}

func TestOpenFigures(t *testing.T) {
	p := problem(vocab.CauseServer, media1, []string{hall1, hall2},
		latency(hall1, 420.04, t0), latency(hall2, 512.36, t0), dropout(hall1, 3, t0),
		saturated(media1, "cpu_pct", 97.25, t0), serverDown(media1, 4, t0))
	inc := Open(p, t0, policy())
	ph := inc.Phenomenon
	want := Phenomenon{Summary: p.Summary, RTTP95MS: 512.4, RTTMaxMS: 592.4, ParticipantsDown: 3, Dropouts: 3, HealthFailures: 4,
		Readings: map[string]float64{"yz-media-1 cpu_pct": 97.3}, Errors: []string{"read: connection reset", "dial tcp: connection refused"}}
	if !reflect.DeepEqual(ph, want) {
		t.Errorf("phenomenon\n got %+v\nwant %+v", ph, want)
	}

	var fs []detect.Finding
	for i := range 8 {
		f := dropout(fmt.Sprintf("room-%d", i), 1, t0)
		f.Figures.Error = fmt.Sprintf("error %d", i%7)
		fs = append(fs, f)
	}
	inc = Open(problem(vocab.CauseRoom, "room-0", []string{"room-0"}, fs...), t0, policy())
	if got := inc.Phenomenon.Errors; len(got) != maxErrors || got[0] != "error 0" {
		t.Errorf("errors %q, want the first %d distinct", got, maxErrors)
	}
}

// TestTimelineOrder: entries are kept in time order wherever they come
// from — a regression: Open used to list "opened" before the older
// "detected" entries.
func TestTimelineOrder(t *testing.T) {
	now := t0.Add(time.Minute)
	muted := roomProblem(hall1, 420)
	muted.Page, muted.MutedBy = false, "nightly"
	late := latency(hall2, 380, t0.Add(20*time.Second))
	tests := []struct {
		name string
		inc  func() Incident
		want []string // kind@offset from t0
	}{
		{"a finding fired before the incident opened", func() Incident {
			return Open(problem(vocab.CauseRoom, hall1, []string{hall1}, latency(hall1, 420, t0.Add(-30*time.Second))), now, policy())
		}, []string{"detected@-30s", "opened@1m0s"}},
		{"muted, with findings before and at the opening", func() Incident {
			p := muted
			p.Findings = append(slices.Clone(p.Findings), ref(latency(hall2, 380, now)))
			return Open(p, now, policy())
		}, []string{"detected@0s", "opened@1m0s", "muted@1m0s", "detected@1m0s"}},
		{"a finding fired in the future is logged when seen", func() Incident {
			return Open(problem(vocab.CauseRoom, hall1, []string{hall1}, latency(hall1, 420, now.Add(time.Hour))), now, policy())
		}, []string{"opened@1m0s", "detected@1m0s"}},
		{"a finding seen later that fired between older entries", func() Incident {
			inc := Open(problem(vocab.CauseRoom, hall1, []string{hall1}, latency(hall1, 420, t0)), now, policy())
			inc, _ = Observe(inc, problem(vocab.CauseRoom, hall1, []string{hall1, hall2}, latency(hall1, 420, t0), late), now.Add(time.Minute), policy())
			return inc
		}, []string{"detected@0s", "detected@20s", "opened@1m0s"}},
		{"an action logged in the past", func() Incident {
			inc := Open(problem(vocab.CauseRoom, hall1, []string{hall1}, latency(hall1, 420, t0)), now, policy())
			inc.Log(t0.Add(30*time.Second), "张工", "note", "the hall called before the alert")
			return inc
		}, []string{"detected@0s", "note@30s", "opened@1m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := tt.inc()
			var got []string
			for _, e := range inc.Timeline {
				got = append(got, fmt.Sprintf("%s@%s", e.Kind, e.At.Sub(t0)))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("timeline %q, want %q", got, tt.want)
			}
			inOrder(t, inc.Timeline)
		})
	}
}

func TestObserve(t *testing.T) {
	now := t0.Add(time.Minute)
	base := roomProblem(hall1, 420)
	with := func(f func(p *correlate.Problem)) correlate.Problem {
		p := base
		p.Kinds, p.Rooms, p.Explains = slices.Clone(p.Kinds), slices.Clone(p.Rooms), slices.Clone(p.Explains)
		p.Findings = nil
		for _, f := range base.Findings {
			p.Findings = append(p.Findings, ref(*f))
		}
		f(&p)
		return p
	}
	tests := []struct {
		name  string
		inc   func(t *testing.T) Incident
		p     correlate.Problem
		now   time.Time
		want  Outcome
		check func(t *testing.T, before, got Incident)
	}{
		{"the same problem at the same time", nil, base, t0, Unchanged, func(t *testing.T, before, got Incident) {
			unchanged(t, "an unchanged observation", before, got)
		}},
		{"the same problem later: only when it was seen", nil, base, now, Figures, func(t *testing.T, before, got Incident) {
			if !got.LastSeen.Equal(now) || len(got.Timeline) != len(before.Timeline) {
				t.Errorf("last seen %s, timeline %q", got.LastSeen, kinds(got.Timeline))
			}
		}},
		{"worse figures", nil, with(func(p *correlate.Problem) { p.Findings[0].Figures.RTTP95MS = 600.04 }), now, Figures, func(t *testing.T, before, got Incident) {
			if got.Phenomenon.RTTP95MS != 600 || got.Phenomenon.RTTMaxMS != 500 || len(got.Timeline) != len(before.Timeline) {
				t.Errorf("phenomenon %+v", got.Phenomenon)
			}
		}},
		{"better figures keep the worst", nil, with(func(p *correlate.Problem) { p.Findings[0].Figures = detect.Figures{RTTP95MS: 310, RTTMaxMS: 320} }), now, Figures, func(t *testing.T, before, got Incident) {
			if got.Phenomenon.RTTP95MS != 420 || got.Phenomenon.RTTMaxMS != 500 {
				t.Errorf("phenomenon %+v", got.Phenomenon)
			}
		}},
		{"a new summary", nil, with(func(p *correlate.Problem) { p.Summary = "room yz-hall-1: latency, worse" }), t0, Figures, func(t *testing.T, before, got Incident) {
			if got.Phenomenon.Summary != "room yz-hall-1: latency, worse" {
				t.Errorf("summary %q", got.Phenomenon.Summary)
			}
		}},
		{"fewer rooms explained", nil, with(func(p *correlate.Problem) { p.Explains = nil }), t0, Figures, func(t *testing.T, before, got Incident) {
			if len(got.Explains) != 0 || !slices.Equal(got.Place.Rooms, []string{hall1}) {
				t.Errorf("explains %q rooms %q", got.Explains, got.Place.Rooms)
			}
		}},
		{"a new finding", nil, with(func(p *correlate.Problem) {
			p.Findings = append(p.Findings, ref(dropout(hall1, 4, t0.Add(50*time.Second))))
			p.Kinds, p.Severity = []vocab.Kind{vocab.KindDropout, vocab.KindLatency}, vocab.SeverityCritical
		}), now, Updated, func(t *testing.T, before, got Incident) {
			if len(got.Findings) != 2 || !slices.Equal(got.Kinds, []vocab.Kind{vocab.KindDropout, vocab.KindLatency}) || got.Phenomenon.ParticipantsDown != 4 {
				t.Errorf("findings %q kinds %q phenomenon %+v", got.Findings, got.Kinds, got.Phenomenon)
			}
			if e := entry(t, got, "detected"); !e.At.Equal(t0.Add(50 * time.Second)) {
				t.Errorf("detected entry at %s", e.At)
			}
			if got.Severity != vocab.SeverityCritical || got.Class != vocab.ClassPartial || !got.Deadline.Equal(t0.Add(2*time.Hour)) {
				t.Errorf("severity %s class %s deadline %s", got.Severity, got.Class, got.Deadline)
			}
			if e := entry(t, got, "reclassified"); !strings.HasPrefix(e.Text, "minor → partial (severity=critical → partial)") {
				t.Errorf("reclassified entry %q", e.Text)
			}
		}},
		{"a new room", nil, with(func(p *correlate.Problem) {
			p.Rooms, p.Explains = []string{hall2, hall1}, []string{hall1, hall2}
			p.Findings = append(p.Findings, ref(latency(hall2, 380, t0)))
		}), now, Updated, func(t *testing.T, before, got Incident) {
			if !slices.Equal(got.Place.Rooms, []string{hall1, hall2}) || !slices.Equal(got.Explains, []string{hall1, hall2}) {
				t.Errorf("rooms %q explains %q", got.Place.Rooms, got.Explains)
			}
		}},
		{"worse severity", nil, with(func(p *correlate.Problem) { p.Severity = vocab.SeverityCritical }), now, Updated, func(t *testing.T, before, got Incident) {
			if got.Severity != vocab.SeverityCritical || got.Class != vocab.ClassPartial {
				t.Errorf("severity %s class %s", got.Severity, got.Class)
			}
			if e := entry(t, got, "updated"); e.Text != "severity degraded → critical" {
				t.Errorf("updated entry %q", e.Text)
			}
		}},
		{"a milder severity is not recorded", func(t *testing.T) Incident {
			return opened("INC-000001", problem(vocab.CauseRoom, hall1, []string{hall1}, dropout(hall1, 2, t0)), t0)
		}, func() correlate.Problem {
			p := problem(vocab.CauseRoom, hall1, []string{hall1}, dropout(hall1, 2, t0))
			p.Severity = vocab.SeverityDegraded
			return p
		}(), now, Figures, func(t *testing.T, before, got Incident) {
			if got.Severity != vocab.SeverityCritical {
				t.Errorf("severity %s", got.Severity)
			}
		}},
		{"the symptoms end", nil, with(func(p *correlate.Problem) { p.ClearSince = t0.Add(50 * time.Second) }), now, Updated, func(t *testing.T, before, got Incident) {
			if !got.ClearingSince.Equal(t0.Add(50 * time.Second)) {
				t.Errorf("clearing since %s", got.ClearingSince)
			}
			if e := entry(t, got, "updated"); !strings.Contains(e.Text, "symptoms ended at 2026-11-02T09:30:50Z") || !e.At.Equal(now) {
				t.Errorf("updated entry %+v", e)
			}
		}},
		{"a maintenance window mutes it", nil, with(func(p *correlate.Problem) { p.Page, p.MutedBy = false, "nightly" }), now, Updated, func(t *testing.T, before, got Incident) {
			if got.Paging || got.MutedBy != "nightly" {
				t.Errorf("paging %v muted by %q", got.Paging, got.MutedBy)
			}
			if e := entry(t, got, "muted"); e.Text != "not paged: maintenance window nightly" {
				t.Errorf("muted entry %q", e.Text)
			}
		}},
		{"the class goes up on its own", nil, with(func(p *correlate.Problem) {
			p.Findings = append(p.Findings, ref(serverDown(media1, 2, now)))
			p.Kinds = []vocab.Kind{vocab.KindLatency, vocab.KindServerDown}
		}), now, Updated, func(t *testing.T, before, got Incident) {
			if got.Class != vocab.ClassOutage || got.ClassRule != "finding=server_down → outage" || !got.Deadline.Equal(t0.Add(4*time.Hour)) {
				t.Errorf("class %s (%s) deadline %s", got.Class, got.ClassRule, got.Deadline)
			}
		}},
		{"the class never goes down on its own", func(t *testing.T) Incident {
			return must(t, opened("INC-000001", base, t0), Action{Kind: ActReclassify, Actor: "张工", At: t0.Add(time.Second), Class: vocab.ClassMajor})
		}, with(func(p *correlate.Problem) {
			p.Findings = append(p.Findings, ref(dropout(hall1, 4, now)))
			p.Kinds, p.Severity = []vocab.Kind{vocab.KindDropout, vocab.KindLatency}, vocab.SeverityCritical
		}), now, Updated, func(t *testing.T, before, got Incident) {
			if got.Class != vocab.ClassMajor || got.ClassRule != "set by 张工" || !got.Deadline.Equal(t0.Add(24*time.Hour)) || count(got.Timeline, "reclassified") != 1 {
				t.Errorf("class %s (%s) deadline %s timeline %q", got.Class, got.ClassRule, got.Deadline, kinds(got.Timeline))
			}
		}},
		{"new evidence changes the cause text", nil, with(func(p *correlate.Problem) { p.Evidence = []string{"slow from yz and gy alike"} }), t0, Updated, func(t *testing.T, before, got Incident) {
			if got.CauseText != "room/application yz-hall-1: slow from yz and gy alike" {
				t.Errorf("cause text %q", got.CauseText)
			}
		}},
		{"seen again after it was out of sight", func(t *testing.T) Incident {
			inc, err := MarkUnobserved(opened("INC-000001", base, t0), t0.Add(30*time.Second), "out of sight")
			if err != nil {
				t.Fatal(err)
			}
			return inc
		}, base, now, Updated, func(t *testing.T, before, got Incident) {
			if got.Unobserved {
				t.Error("still unobserved")
			}
			if e := entry(t, got, "updated"); e.Text != "seen again" {
				t.Errorf("updated entry %q", e.Text)
			}
		}},
		{"a resolved incident is not observed", func(t *testing.T) Incident {
			return must(t, opened("INC-000001", base, t0), Action{Kind: ActResolve, Actor: "张工", At: t0.Add(time.Second)})
		}, with(func(p *correlate.Problem) { p.Findings = append(p.Findings, ref(dropout(hall1, 4, now))) }), now, Unchanged, func(t *testing.T, before, got Incident) {
			unchanged(t, "observing a resolved incident", before, got)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := opened("INC-000001", base, t0)
			if tt.inc != nil {
				inc = tt.inc(t)
			}
			before := inc.clone()
			got, o := Observe(inc, tt.p, tt.now, policy())
			unchanged(t, "Observe", before, inc)
			if o != tt.want {
				t.Fatalf("outcome %s, want %s (timeline %q)", o, tt.want, kinds(got.Timeline))
			}
			if got.ID != inc.ID || got.Key != inc.Key || !got.OpenedAt.Equal(inc.OpenedAt) {
				t.Errorf("identity changed: %s %s %s", got.ID, got.Key, got.OpenedAt)
			}
			tt.check(t, before, got)
			inOrder(t, got.Timeline)
		})
	}
}

// TestObserveToggles: the symptoms end and come back, a maintenance window
// starts and ends; each change is one timeline entry.
func TestObserveToggles(t *testing.T) {
	p := roomProblem(hall1, 420)
	inc := opened("INC-000001", p, t0)
	type step struct {
		clear   time.Duration // 0: symptoms hold
		page    bool
		want    Outcome
		entry   string
		paging  bool
		clearAt time.Duration
	}
	steps := []step{
		{clear: 50 * time.Second, page: true, want: Updated, entry: "symptoms ended at 2026-11-02T09:30:50Z; resolved if they stay away", paging: true, clearAt: 50 * time.Second},
		{clear: 50 * time.Second, page: true, want: Figures, paging: true, clearAt: 50 * time.Second},
		{clear: 55 * time.Second, page: true, want: Updated, paging: true, clearAt: 55 * time.Second},
		{page: true, want: Updated, entry: "symptoms are back", paging: true},
		{page: false, want: Updated, entry: "not paged: maintenance window nightly"},
		{page: false, want: Figures},
		{page: true, want: Updated, entry: "maintenance window over: paging", paging: true},
	}
	for i, s := range steps {
		now := t0.Add(time.Duration(i+1) * time.Minute)
		q := p
		q.Page = s.page
		if !s.page {
			q.MutedBy = "nightly"
		}
		if s.clear != 0 {
			q.ClearSince = t0.Add(s.clear)
		}
		n := len(inc.Timeline)
		var o Outcome
		inc, o = Observe(inc, q, now, policy())
		if o != s.want {
			t.Fatalf("step %d: outcome %s, want %s", i, o, s.want)
		}
		var added []string
		for _, e := range inc.Timeline[n:] {
			added = append(added, e.Text)
		}
		if (s.entry == "") != (len(added) == 0) || (s.entry != "" && (len(added) != 1 || added[0] != s.entry)) {
			t.Errorf("step %d: entries %q, want %q", i, added, s.entry)
		}
		wantClear := time.Time{}
		if s.clearAt != 0 {
			wantClear = t0.Add(s.clearAt)
		}
		if inc.Paging != s.paging || !inc.ClearingSince.Equal(wantClear) {
			t.Errorf("step %d: paging %v clearing %s, want %v %s", i, inc.Paging, inc.ClearingSince, s.paging, wantClear)
		}
	}
}

func TestRetarget(t *testing.T) {
	now := t0.Add(time.Minute)
	network := problem(vocab.CauseNetwork, "gy", []string{hall1}, latency(hall1, 400, t0))
	uplink := problem(vocab.CauseUplink, "yz", []string{hall1, hall2}, latency(hall1, 400, t0), latency(hall2, 400, t0))
	tests := []struct {
		name      string
		from      correlate.Problem
		state     ActionKind // an action taken before, if any
		to        correlate.Problem
		verb      string
		class     vocab.Class
		deadline  time.Duration
		rooms     []string
		servers   []string
		wantState State
	}{
		{"a room's trouble put on its server: refined", roomProblem(hall1, 420), "", serverProblem(hall1, hall2), "refined", vocab.ClassPartial, 2 * time.Hour,
			[]string{hall1, hall2}, []string{media1}, StateOpen},
		{"the server turned out healthy: lowered to the room", serverProblem(hall1), "", roomProblem(hall1, 420), "lowered", vocab.ClassPartial, 2 * time.Hour,
			[]string{hall1}, []string{media1}, StateOpen},
		{"a network path's trouble is the room's own: lowered", network, "", roomProblem(hall1, 420), "lowered", vocab.ClassMinor, time.Hour,
			[]string{hall1}, nil, StateOpen},
		{"an uplink's trouble put on a server: refined", uplink, "", serverProblem(hall1, hall2), "refined", vocab.ClassPartial, 2 * time.Hour,
			[]string{hall1, hall2}, []string{media1}, StateOpen},
		{"acknowledged stays acknowledged", roomProblem(hall1, 420), ActAcknowledge, serverProblem(hall1), "refined", vocab.ClassPartial, 2 * time.Hour,
			[]string{hall1}, []string{media1}, StateAcknowledged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := opened("INC-000001", tt.from, t0)
			if tt.state != "" {
				inc = must(t, inc, Action{Kind: tt.state, Actor: "张工", At: t0.Add(time.Second)})
			}
			before := inc.clone()
			got := Retarget(inc, tt.to, now, policy())
			unchanged(t, "Retarget", before, inc)
			if got.ID != inc.ID || got.Key != tt.to.Key || got.Cause != tt.to.Cause || got.Subject != tt.to.Subject || got.CauseText != CauseText(&tt.to) || got.State != tt.wantState {
				t.Errorf("retargeted: id %s key %s cause %s %s state %s text %q", got.ID, got.Key, got.Cause, got.Subject, got.State, got.CauseText)
			}
			want := fmt.Sprintf("cause %s: %s %s → %s %s: ", tt.verb, tt.from.Cause, tt.from.Subject, tt.to.Cause, tt.to.Subject)
			if e := entry(t, got, "cause"); !strings.HasPrefix(e.Text, want) || !e.At.Equal(now) || e.Actor != Actor {
				t.Errorf("cause entry %+v, want it to start %q", e, want)
			}
			if got.Class != tt.class || !got.Deadline.Equal(t0.Add(tt.deadline)) || !got.OpenedAt.Equal(t0) {
				t.Errorf("class %s deadline %s opened %s", got.Class, got.Deadline, got.OpenedAt)
			}
			if !slices.Equal(got.Place.Rooms, tt.rooms) || !slices.Equal(got.Place.Servers, tt.servers) || !slices.Equal(got.Explains, tt.to.Explains) || !got.LastSeen.Equal(now) {
				t.Errorf("rooms %q servers %q explains %q last seen %s", got.Place.Rooms, got.Place.Servers, got.Explains, got.LastSeen)
			}
			inOrder(t, got.Timeline)
		})
	}
}

func TestReopen(t *testing.T) {
	p := roomProblem(hall1, 420)
	relapse := problem(vocab.CauseRoom, hall1, []string{hall1}, latency(hall1, 420, t0), dropout(hall1, 2, t0.Add(15*time.Minute)))
	now := t0.Add(15 * time.Minute)
	t.Run("a resolved incident", func(t *testing.T) {
		inc := opened("INC-000001", p, t0)
		inc = must(t, inc, Action{Kind: ActAcknowledge, Actor: "张工", At: t0.Add(time.Minute)})
		inc = must(t, inc, Action{Kind: ActResolve, Actor: Actor, At: t0.Add(11 * time.Minute), ResolvedAt: t0.Add(10 * time.Minute), Text: "recovered"})
		before := inc.clone()
		got, err := Reopen(inc, relapse, now, policy())
		if err != nil {
			t.Fatal(err)
		}
		unchanged(t, "Reopen", before, inc)
		if got.State != StateOpen || got.Reopens != 1 || !got.ResolvedAt.IsZero() || got.Result != "" || !got.AcknowledgedAt.IsZero() || !got.LastSeen.Equal(now) {
			t.Errorf("reopened %+v", got)
		}
		if e := entry(t, got, "reopened"); !strings.HasPrefix(e.Text, "relapse 5m0s after it was resolved: ") || e.Actor != Actor || !e.At.Equal(now) {
			t.Errorf("reopened entry %+v", e)
		}
		if len(got.Findings) != 2 || got.Class != vocab.ClassPartial || got.Phenomenon.ParticipantsDown != 2 {
			t.Errorf("findings %q class %s phenomenon %+v", got.Findings, got.Class, got.Phenomenon)
		}
		inOrder(t, got.Timeline)
	})
	for _, tt := range []struct {
		state State
		err   error
	}{{StateOpen, ErrTransition}, {StateAcknowledged, ErrTransition}, {StateSignedOff, ErrFrozen}, {StateMerged, ErrMerged}} {
		t.Run("refused when "+string(tt.state), func(t *testing.T) {
			inc := inState(t, tt.state)
			got, err := Reopen(inc, relapse, now, policy())
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			unchanged(t, "a refused reopen", inc, got)
		})
	}
}

func TestMerge(t *testing.T) {
	now := t0.Add(5 * time.Minute)
	why := "its rooms' trouble is explained by server yz-media-1"
	parentOf := func() Incident {
		return opened("INC-000001", problem(vocab.CauseServer, media1, []string{hall1}, saturated(media1, "cpu_pct", 95, t0), latency(hall1, 450, t0)), t0)
	}
	childOf := func(t *testing.T) Incident {
		c := opened("INC-000002", problem(vocab.CauseRoom, hall2, []string{hall2}, dropout(hall2, 3, t0.Add(-2*time.Minute))), t0.Add(time.Minute))
		c = must(t, c, Action{Kind: ActAcknowledge, Actor: "张工", At: t0.Add(2 * time.Minute)})
		c.ClearingSince = t0.Add(3 * time.Minute)
		return c
	}

	t.Run("both records", func(t *testing.T) {
		parent, child := parentOf(), childOf(t)
		pb, cb := parent.clone(), child.clone()
		c, p, err := Merge(child, parent, now, why)
		if err != nil {
			t.Fatal(err)
		}
		unchanged(t, "Merge (child)", cb, child)
		unchanged(t, "Merge (parent)", pb, parent)

		if c.State != StateMerged || c.MergedInto != "INC-000001" || !c.ClearingSince.IsZero() || c.Counted() || c.HandlingTime(now) != 0 || c.Remaining(now) != 0 {
			t.Errorf("child: state %s into %q clearing %s counted %v handling %s", c.State, c.MergedInto, c.ClearingSince, c.Counted(), c.HandlingTime(now))
		}
		if e := entry(t, c, "merged"); e.Text != "merged into INC-000001 (server yz-media-1): "+why || !e.At.Equal(now) || e.From != "" {
			t.Errorf("child's merged entry %+v", e)
		}
		if len(c.Timeline) != len(child.Timeline)+1 {
			t.Errorf("child timeline %q", kinds(c.Timeline))
		}

		if p.State != StateOpen || p.Key != parent.Key || !p.Counted() || !slices.Equal(p.MergedFrom, []string{"INC-000002"}) || p.MergedInto != "" {
			t.Errorf("parent: state %s key %s counted %v merged from %q", p.State, p.Key, p.Counted(), p.MergedFrom)
		}
		if !slices.Equal(p.Place.Rooms, []string{hall1, hall2}) || !slices.Equal(p.Place.Servers, []string{media1}) || !slices.Equal(p.Place.SubCenters, []string{"yz"}) {
			t.Errorf("parent place %+v", p.Place)
		}
		if !slices.Equal(p.Kinds, []vocab.Kind{vocab.KindDropout, vocab.KindLatency, vocab.KindSaturation}) || len(p.Findings) != 3 || p.Severity != vocab.SeverityCritical {
			t.Errorf("parent kinds %q findings %q severity %s", p.Kinds, p.Findings, p.Severity)
		}
		if p.Phenomenon.ParticipantsDown != 3 || p.Phenomenon.RTTP95MS != 450 || p.Phenomenon.Readings["yz-media-1 cpu_pct"] != 95 {
			t.Errorf("parent phenomenon %+v", p.Phenomenon)
		}
		if !p.DetectedAt.Equal(t0.Add(-2 * time.Minute)) {
			t.Errorf("parent detected %s, want the child's earlier %s", p.DetectedAt, t0.Add(-2*time.Minute))
		}
		if !p.OpenedAt.Equal(t0) || !p.Deadline.Equal(parent.Deadline) {
			t.Errorf("parent opened %s deadline %s", p.OpenedAt, p.Deadline)
		}
		// The parent's timeline: its own entries, the child's marked with
		// where they came from, and the merge, all in time order.
		from := map[string]int{}
		for _, e := range p.Timeline {
			from[e.From]++
		}
		if from["INC-000002"] != len(child.Timeline) || from[""] != len(parent.Timeline)+1 || len(from) != 2 {
			t.Errorf("parent timeline by origin %v (child had %d, parent %d)", from, len(child.Timeline), len(parent.Timeline))
		}
		if e := entry(t, p, "acknowledged"); e.From != "INC-000002" || e.Actor != "张工" {
			t.Errorf("carried entry %+v", e)
		}
		if e := entry(t, p, "merged"); e.From != "" || !strings.HasPrefix(e.Text, "INC-000002 (room yz-hall-2, opened 2026-11-02T09:31:00Z) merged in: ") {
			t.Errorf("parent's merged entry %+v", e)
		}
		inOrder(t, p.Timeline)
		inOrder(t, c.Timeline)
	})

	t.Run("entries keep their origin through a second merge", func(t *testing.T) {
		a := opened("INC-000003", roomProblem(hall3, 400), t0)
		b := opened("INC-000002", roomProblem(hall2, 400), t0.Add(time.Second))
		cc := opened("INC-000001", serverProblem(hall1), t0.Add(2*time.Second))
		_, b, err := Merge(a, b, now, why)
		if err != nil {
			t.Fatal(err)
		}
		_, cc, err = Merge(b, cc, now.Add(time.Minute), why)
		if err != nil {
			t.Fatal(err)
		}
		from := map[string]int{}
		for _, e := range cc.Timeline {
			from[e.From]++
		}
		if from["INC-000003"] != len(a.Timeline) || from["INC-000002"] != len(b.Timeline)-len(a.Timeline) {
			t.Errorf("origins %v", from)
		}
		if !slices.Equal(cc.MergedFrom, []string{"INC-000002"}) || !slices.Equal(cc.Place.Rooms, []string{hall1, hall2, hall3}) {
			t.Errorf("merged from %q rooms %q", cc.MergedFrom, cc.Place.Rooms)
		}
		inOrder(t, cc.Timeline)
	})

	for _, tt := range []struct {
		name          string
		child, parent func(t *testing.T) Incident
		err           error
	}{
		{"a resolved child", func(t *testing.T) Incident {
			return must(t, childOf(t), Action{Kind: ActResolve, Actor: "张工", At: now})
		}, func(*testing.T) Incident { return parentOf() }, ErrTransition},
		{"a merged child", func(t *testing.T) Incident {
			c, _, err := Merge(childOf(t), parentOf(), now, why)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}, func(*testing.T) Incident { return parentOf() }, ErrTransition},
		{"into a signed-off incident", childOf, func(t *testing.T) Incident {
			p := must(t, parentOf(), Action{Kind: ActResolve, Actor: "张工", At: now})
			return must(t, p, Action{Kind: ActSignOff, Actor: "李主任", At: now})
		}, ErrFrozen},
		{"into a merged incident", childOf, func(t *testing.T) Incident {
			p, _, err := Merge(parentOf(), opened("INC-000009", serverProblem(hall1, hall2), t0), now, why)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}, ErrMerged},
		{"into itself", childOf, childOf, ErrBadAction},
	} {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			child, parent := tt.child(t), tt.parent(t)
			c, p, err := Merge(child, parent, now, why)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			unchanged(t, "a refused merge (child)", child, c)
			unchanged(t, "a refused merge (parent)", parent, p)
		})
	}
}

func TestMarkUnobserved(t *testing.T) {
	now := t0.Add(time.Minute)
	tests := []struct {
		name string
		inc  func(t *testing.T) Incident
		err  error
	}{
		{"an open incident", func(t *testing.T) Incident { return inState(t, StateOpen) }, nil},
		{"an acknowledged one", func(t *testing.T) Incident { return inState(t, StateAcknowledged) }, nil},
		{"noted already", func(t *testing.T) Incident {
			inc, err := MarkUnobserved(inState(t, StateOpen), t0, "out of sight")
			if err != nil {
				t.Fatal(err)
			}
			return inc
		}, ErrNoChange},
		{"resolved", func(t *testing.T) Incident { return inState(t, StateResolved) }, ErrNoChange},
		{"merged", func(t *testing.T) Incident { return inState(t, StateMerged) }, ErrNoChange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := tt.inc(t)
			before := inc.clone()
			got, err := MarkUnobserved(inc, now, "out of sight: no probe sees its rooms")
			unchanged(t, "MarkUnobserved", before, inc)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err != nil {
				unchanged(t, "a refused note", inc, got)
				return
			}
			if !got.Unobserved || got.State != inc.State {
				t.Errorf("unobserved %v state %s", got.Unobserved, got.State)
			}
			if e := entry(t, got, "note"); e.Text != "out of sight: no probe sees its rooms" || e.Actor != Actor || !e.At.Equal(now) {
				t.Errorf("note %+v", e)
			}
		})
	}
}

func TestHandlingTime(t *testing.T) {
	now := t0.Add(time.Hour)
	tests := []struct {
		name      string
		inc       Incident
		handling  time.Duration
		remaining time.Duration
		counted   bool
	}{
		{"open: so far", Incident{State: StateOpen, OpenedAt: t0, Deadline: t0.Add(2 * time.Hour)}, time.Hour, time.Hour, true},
		{"open past its deadline", Incident{State: StateAcknowledged, OpenedAt: t0, Deadline: t0.Add(30 * time.Minute)}, time.Hour, -30 * time.Minute, true},
		{"resolved", Incident{State: StateResolved, OpenedAt: t0, ResolvedAt: t0.Add(90 * time.Second), Deadline: t0.Add(time.Hour)}, 90 * time.Second, 0, true},
		{"signed off", Incident{State: StateSignedOff, OpenedAt: t0, ResolvedAt: t0.Add(time.Minute), Deadline: t0.Add(time.Hour)}, time.Minute, 0, true},
		{"merged: counted in the other", Incident{State: StateMerged, OpenedAt: t0, Deadline: t0.Add(time.Hour), MergedInto: "INC-000001"}, 0, 0, false},
		{"never negative", Incident{State: StateOpen, OpenedAt: now.Add(time.Minute), Deadline: now.Add(time.Hour)}, 0, time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.inc.HandlingTime(now); got != tt.handling {
				t.Errorf("handling %s, want %s", got, tt.handling)
			}
			if got := tt.inc.Remaining(now); got != tt.remaining {
				t.Errorf("remaining %s, want %s", got, tt.remaining)
			}
			if tt.inc.Counted() != tt.counted {
				t.Errorf("counted %v", tt.inc.Counted())
			}
		})
	}
}

func TestStates(t *testing.T) {
	want := map[State]struct {
		active  bool
		chinese string
	}{
		StateOpen: {true, "待处理"}, StateAcknowledged: {true, "已接单"}, StateMitigated: {true, "已缓解"},
		StateResolved: {false, "已排除"}, StateSignedOff: {false, "已签字认可"}, StateMerged: {false, "已合并"},
	}
	if len(States) != len(want) {
		t.Fatalf("states %q", States)
	}
	for _, s := range States {
		t.Run(string(s), func(t *testing.T) {
			if s.Active() != want[s].active || s.Chinese() != want[s].chinese {
				t.Errorf("active %v chinese %q", s.Active(), s.Chinese())
			}
		})
	}
}
