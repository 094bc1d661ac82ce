package incident

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes incidents as a table, one line each: id, state, class,
// cause, rooms, when opened and the deadline (with the time left, or
// BREACHED). Times are in loc.
func WriteTable(out io.Writer, incs []Incident, now time.Time, loc *time.Location) error {
	if len(incs) == 0 {
		_, err := fmt.Fprintln(out, "no incidents")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tCLASS\tCAUSE\tROOMS\tOPENED\tDEADLINE")
	for _, inc := range incs {
		deadline := inc.Deadline.In(loc).Format("01-02 15:04")
		switch {
		case inc.State == StateMerged:
			deadline = "merged into " + inc.MergedInto
		case inc.Breached:
			deadline += " BREACHED"
		case inc.State.Active():
			deadline += fmt.Sprintf(" (%s left)", inc.Remaining(now).Round(time.Minute))
		}
		rooms := strings.Join(inc.Place.Rooms, ",")
		if len(rooms) > 40 {
			rooms = rooms[:37] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s\t%s\t%s\n", inc.ID, inc.State, inc.Class, inc.Cause, inc.Subject, rooms,
			inc.OpenedAt.In(loc).Format("01-02 15:04:05"), deadline)
	}
	return tw.Flush()
}

// WriteRecord writes one fault record (故障记录) in the contract's order:
// time, place, phenomenon, cause, handling process, result, handling time,
// sign-off. Times are in loc.
func WriteRecord(out io.Writer, inc Incident, now time.Time, loc *time.Location) error {
	ew := &errWriter{w: out}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.In(loc).Format("2006-01-02 15:04:05")
	}
	p := func(label, format string, args ...any) {
		fmt.Fprintf(ew, "%-22s "+format+"\n", append([]any{label}, args...)...)
	}
	p("incident 故障", "%s  %s (%s)  class %s %s (%s)  severity %s", inc.ID, inc.State, inc.State.Chinese(), inc.Class, inc.Class.Chinese(), inc.ClassRule, inc.Severity)
	p("time 时间", "detected %s, opened %s", ts(inc.DetectedAt), ts(inc.OpenedAt))
	deadline := ts(inc.Deadline)
	if inc.Breached {
		deadline += "  BREACHED"
	} else if inc.State.Active() {
		deadline += fmt.Sprintf("  (%s left)", inc.Remaining(now).Round(time.Second))
	}
	p("deadline 时限", "%s", deadline)
	p("place 地点", "sub-centers %s; rooms %s; servers %s; seen from %s", joinOrDash(inc.Place.SubCenters), joinOrDash(inc.Place.Rooms), joinOrDash(inc.Place.Servers), joinOrDash(inc.Place.Locations))
	ph := inc.Phenomenon
	p("phenomenon 故障现象", "%s", ph.Summary)
	var figs []string
	add := func(cond bool, format string, args ...any) {
		if cond {
			figs = append(figs, fmt.Sprintf(format, args...))
		}
	}
	add(ph.RTTP95MS > 0, "RTT p95 %.0f ms (max %.0f ms)", ph.RTTP95MS, ph.RTTMaxMS)
	add(ph.StutterPct > 0, "stutter %.1f%% (%.1f s)", ph.StutterPct, ph.FreezeMS/1000)
	add(ph.ParticipantsDown > 0, "%d participants down, %d dropouts", ph.ParticipantsDown, ph.Dropouts)
	add(ph.HealthFailures > 0, "%d health checks failed in a row", ph.HealthFailures)
	for _, k := range slices.Sorted(maps.Keys(ph.Readings)) {
		add(true, "%s %.1f", k, ph.Readings[k])
	}
	add(len(ph.Errors) > 0, "errors: %s", strings.Join(ph.Errors, "; "))
	if len(figs) > 0 {
		p("", "%s", strings.Join(figs, "; "))
	}
	p("cause 故障原因", "%s %s: %s", inc.Cause, inc.Subject, inc.CauseText)
	if !inc.Paging {
		p("paging", "off (maintenance window %s)", inc.MutedBy)
	}
	if inc.MergedInto != "" {
		p("merged 合并", "into %s: its record continues there", inc.MergedInto)
	}
	if len(inc.MergedFrom) > 0 {
		p("merged 合并", "%s merged in", strings.Join(inc.MergedFrom, ", "))
	}
	fmt.Fprintln(ew, "handling process 处置过程:")
	for _, e := range inc.Timeline {
		from := ""
		if e.From != "" {
			from = " [" + e.From + "]"
		}
		fmt.Fprintf(ew, "  %s  %-10s %-13s %s%s\n", ts(e.At), e.Actor, e.Kind, e.Text, from)
	}
	p("result 处置结果", "%s", dashIfEmpty(inc.Result))
	handling := inc.HandlingTime(now).Round(time.Second).String()
	switch {
	case inc.State == StateMerged:
		handling = "counted in " + inc.MergedInto
	case inc.ResolvedAt.IsZero():
		handling += " so far"
	}
	p("handling time 处置时长", "%s", handling)
	if inc.State == StateSignedOff {
		p("signed off 签字认可", "%s by %s", ts(inc.SignedOffAt), inc.SignedOffBy)
	}
	return ew.err
}

// EventLine renders an event in one line for a terminal, times in loc:
//
//	09:31:02 INC-000001 opened       partial server yz-media-1  rooms yz-hall-1,yz-hall-2  deadline 11-02 11:31  — …
func EventLine(ev Event, loc *time.Location) string {
	b := ev.Incident
	line := fmt.Sprintf("%s %s %-12s %-7s %s %s", ev.At.In(loc).Format("15:04:05"), b.ID, ev.Kind, b.Class, b.Cause, b.Subject)
	if len(b.Rooms) > 0 {
		line += "  rooms " + strings.Join(b.Rooms, ",")
	}
	switch ev.Kind {
	case EventOpened, EventReopened, "reclassified":
		line += "  deadline " + b.Deadline.In(loc).Format("01-02 15:04")
		if !b.Paging {
			line += "  (not paged: maintenance " + b.MutedBy + ")"
		}
	case EventResolved:
		line += fmt.Sprintf("  after %s", b.Handling.Round(time.Second))
	case EventMerged:
		line += "  into " + b.MergedInto
	}
	if ev.Kind != EventOpened && ev.Actor != "" && ev.Actor != Actor {
		line += "  by " + ev.Actor
	}
	switch ev.Kind {
	case EventOpened:
		line += "  — " + b.Summary
	case EventNote, EventBreached, EventReopened, EventResolved, EventCause, EventMerged, EventMergedIn:
		if ev.Text != "" {
			line += "  — " + ev.Text
		}
	}
	return line
}

func joinOrDash(ss []string) string {
	if len(ss) == 0 {
		return "-"
	}
	return strings.Join(ss, ", ")
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
