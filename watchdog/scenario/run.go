package scenario

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Outcome is what running a scenario showed.
type Outcome struct {
	Scenario *Scenario
	Pass     bool
	// Rows pair each expectation with the incident it matched, and the
	// incidents no expectation matched (Expect nil).
	Rows []Row
	// Incidents are every incident the run made, oldest first.
	Incidents []incident.Incident
	// Trace lists what the watchdog and the people did, with when.
	Trace []string
	// Elapsed is the wall time the run took.
	Elapsed time.Duration
}

// Row is one expectation and the incident it matched.
type Row struct {
	Expect *Expect
	Got    *incident.Incident
	Checks []Check
}

// Check is one field compared.
type Check struct {
	Field, Want, Got string
	OK               bool
}

// Options tune a run.
type Options struct {
	// Debug adds every change of the problems seen to the trace.
	Debug bool
}

// Run simulates the scenario and compares the incidents with what it
// expects.
func Run(ctx context.Context, s *Scenario, opts Options) (*Outcome, error) {
	began := time.Now()
	x := newSim(s)
	x.debug = opts.Debug
	if err := x.run(ctx); err != nil {
		return nil, err
	}
	all, err := x.store.List(ctx, incident.Filter{})
	if err != nil {
		return nil, err
	}
	o := &Outcome{Scenario: s, Incidents: all, Trace: x.trace, Pass: true}
	used := map[string]bool{}
	for i := range s.Expect {
		e := &s.Expect[i]
		var best *incident.Incident
		var bestChecks []Check
		for j := range all {
			inc := &all[j]
			if used[inc.ID] || string(inc.Cause) != e.Cause || inc.Subject != e.Subject {
				continue
			}
			cs := compare(s, e, inc, all)
			if best == nil || failures(cs) < failures(bestChecks) {
				best, bestChecks = inc, cs
			}
		}
		row := Row{Expect: e, Got: best, Checks: bestChecks}
		if best == nil {
			row.Checks = []Check{{Field: "incident", Want: e.Cause + " " + e.Subject, Got: "none", OK: false}}
		} else {
			used[best.ID] = true
		}
		if failures(row.Checks) > 0 {
			o.Pass = false
		}
		o.Rows = append(o.Rows, row)
	}
	for j := range all {
		if used[all[j].ID] {
			continue
		}
		o.Rows = append(o.Rows, Row{Got: &all[j], Checks: []Check{{Field: "incident", Want: "none", Got: "unexpected", OK: s.Others}}})
		if !s.Others {
			o.Pass = false
		}
	}
	o.Elapsed = time.Since(began)
	return o, nil
}

func failures(cs []Check) int {
	n := 0
	for _, c := range cs {
		if !c.OK {
			n++
		}
	}
	return n
}

// compare checks one incident against one expectation.
func compare(s *Scenario, e *Expect, inc *incident.Incident, all []incident.Incident) []Check {
	var cs []Check
	add := func(field, want, got string, ok bool) { cs = append(cs, Check{field, want, got, ok}) }
	list := func(field string, want, got []string) {
		if want != nil {
			add(field, strings.Join(want, ","), strings.Join(got, ","), slices.Equal(sorted(want), got))
		}
	}
	list("rooms", e.Rooms, inc.Place.Rooms)
	list("sub_centers", e.SubCenters, inc.Place.SubCenters)
	list("servers", e.Servers, inc.Place.Servers)
	if e.Class != "" {
		add("class", e.Class, string(inc.Class), e.Class == string(inc.Class))
	}
	add("state", e.State, string(inc.State), e.State == string(inc.State))
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return fmtOffset(t.Sub(s.start))
	}
	window := func(field string, w Window, t time.Time) {
		if w == nil {
			return
		}
		ok := !t.IsZero() && t.Sub(s.start) >= w[0] && t.Sub(s.start) <= w[1]
		add(field, fmtOffset(w[0])+"–"+fmtOffset(w[1]), at(t), ok)
	}
	window("opened", e.Opened, inc.OpenedAt)
	window("resolved", e.Resolved, inc.ResolvedAt)
	if e.Decided != nil {
		var decided time.Time
		for _, en := range inc.Timeline {
			if en.Kind == "resolved" && en.Actor == incident.Actor && en.From == "" {
				decided = en.At
			}
		}
		window("decided", e.Decided, decided)
	}
	if e.Reopens != nil {
		add("reopens", fmt.Sprint(*e.Reopens), fmt.Sprint(inc.Reopens), *e.Reopens == inc.Reopens)
	}
	if e.MergedInto != "" {
		got := "-"
		if i := slices.IndexFunc(all, func(o incident.Incident) bool { return o.ID == inc.MergedInto }); i >= 0 {
			got = all[i].Key + " (" + all[i].ID + ")"
		}
		add("merged_into", e.MergedInto, got, strings.HasPrefix(got, e.MergedInto+" "))
	}
	if e.Merged != nil {
		add("merged", fmt.Sprint(*e.Merged), fmt.Sprint(len(inc.MergedFrom)), *e.Merged == len(inc.MergedFrom))
	}
	if e.Breached != nil {
		add("breached", fmt.Sprint(*e.Breached), fmt.Sprint(inc.Breached), *e.Breached == inc.Breached)
	}
	if e.Paging != nil {
		add("paging", fmt.Sprint(*e.Paging), fmt.Sprint(inc.Paging), *e.Paging == inc.Paging)
	}
	if e.MutedBy != "" {
		add("muted_by", e.MutedBy, inc.MutedBy, e.MutedBy == inc.MutedBy)
	}
	return cs
}

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

// Report writes the outcome: a PASS line, or a FAIL line and the expected
// and actual incidents side by side; with verbose, every row and the trace.
func (o *Outcome) Report(w io.Writer, verbose bool) {
	s := o.Scenario
	verdict := "PASS"
	if !o.Pass {
		verdict = "FAIL"
	}
	n := countIncidents(o.Incidents)
	noun := "incidents"
	if n == 1 {
		noun = "incident"
	}
	fmt.Fprintf(w, "%s  %s — %s (%d %s; %s simulated in %s)\n", verdict, s.Path, s.Name, n, noun, s.Duration, o.Elapsed.Round(time.Millisecond))
	if o.Pass && !verbose {
		return
	}
	const width = 44
	pad := func(t string) string {
		if n := utf8.RuneCountInString(t); n < width {
			return t + strings.Repeat(" ", width-n)
		}
		return t
	}
	fmt.Fprintf(w, "    %s  %s\n", pad("expected"), "actual")
	for _, r := range o.Rows {
		left, right := "(none)", "(none)"
		if r.Expect != nil {
			left = r.Expect.Cause + " " + r.Expect.Subject
		}
		if r.Got != nil {
			right = fmt.Sprintf("%s %s %s", r.Got.ID, r.Got.Cause, r.Got.Subject)
		}
		mark := " "
		if failures(r.Checks) > 0 {
			mark = "✗"
		}
		fmt.Fprintf(w, "  %s %s  %s\n", mark, pad(left), right)
		for _, c := range r.Checks {
			if c.Field == "incident" {
				continue
			}
			if c.OK && !verbose {
				continue
			}
			m := " "
			if !c.OK {
				m = "✗"
			}
			fmt.Fprintf(w, "  %s   %s  %s\n", m, pad(c.Field+" "+c.Want), c.Field+" "+c.Got)
		}
	}
	if verbose || !o.Pass {
		fmt.Fprintln(w, "    what happened:")
		for _, t := range o.Trace {
			fmt.Fprintln(w, "      "+t)
		}
	}
}

func countIncidents(incs []incident.Incident) int {
	n := 0
	for i := range incs {
		if incs[i].Counted() {
			n++
		}
	}
	return n
}

// SortOutcomes orders outcomes failures first, then by path.
func SortOutcomes(os []*Outcome) {
	slices.SortStableFunc(os, func(a, b *Outcome) int {
		if a.Pass != b.Pass {
			if !a.Pass {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Scenario.Path, b.Scenario.Path)
	})
}
