package report

import (
	"slices"
	"strings"

	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/remedy"
)

// Remediation counts the automatic remediation attempts (自动处置) the
// incidents' timelines record, and how they ended. The timelines are read
// rather than the attempt records, which are kept 30 days only.
type Remediation struct {
	// Attempts counts the runbooks started; Verified the ones the probes
	// saw fix the symptom, Failed the ones that did not, Interrupted the
	// ones a leader change cut short, Unfinished the ones still under way
	// when the period ended. Refused and DryRuns were not attempts.
	Attempts    int `json:"attempts"`
	Verified    int `json:"verified"`
	Failed      int `json:"failed"`
	Interrupted int `json:"interrupted"`
	Unfinished  int `json:"unfinished"`
	Refused     int `json:"refused"`
	DryRuns     int `json:"dry_runs"`
	// Success is Verified / (Verified + Failed + Interrupted).
	Success    Num       `json:"success"`
	PerRunbook []Runbook `json:"per_runbook"`
}

// Runbook is one runbook's attempts.
type Runbook struct {
	Name        string `json:"name"`
	Attempts    int    `json:"attempts"`
	Verified    int    `json:"verified"`
	Failed      int    `json:"failed"`
	Interrupted int    `json:"interrupted"`
	Unfinished  int    `json:"unfinished"`
	Refused     int    `json:"refused"`
	DryRuns     int    `json:"dry_runs"`
	Success     Num    `json:"success"`
	// Incidents are the ids of the incidents it was run on.
	Incidents []string `json:"incidents"`
}

// What a runbook's timeline entry says (watchdog/remedy writes them).
const (
	remStarted     = "started on "
	remVerified    = "verified:"
	remFailed      = "failed:"
	remRefused     = "refused:"
	remDryRun      = "dry run"
	remInterrupted = "interrupted by a leader change; not verified"
)

// remediation reads the runbook entries of the incidents' timelines.
func remediation(incs []*incident.Incident) Remediation {
	by := map[string]*Runbook{}
	var names []string
	get := func(name string) *Runbook {
		rb := by[name]
		if rb == nil {
			rb = &Runbook{Name: name, Incidents: []string{}}
			by[name] = rb
			names = append(names, name)
		}
		return rb
	}
	for _, inc := range incs {
		open := map[string]bool{} // runbooks with an attempt under way on this incident
		for _, e := range inc.Timeline {
			name, ok := strings.CutPrefix(e.Actor, remedy.Actor(""))
			if !ok || name == "" {
				continue
			}
			rb := get(name)
			text := e.Text
			switch {
			case e.Kind == remedy.KindRemedy && strings.HasPrefix(text, remStarted):
				if open[name] {
					rb.Unfinished++ // a start without an end: left unfinished
				}
				open[name] = true
				rb.Attempts++
				if !slices.Contains(rb.Incidents, inc.ID) {
					rb.Incidents = append(rb.Incidents, inc.ID)
				}
			case strings.HasPrefix(text, remVerified):
				if open[name] {
					rb.Verified++
					open[name] = false
				}
			case e.Kind == remedy.KindRemedy && strings.HasPrefix(text, remFailed):
				if open[name] {
					rb.Failed++
					open[name] = false
				}
			case e.Kind == remedy.KindRemedy && strings.HasPrefix(text, remInterrupted):
				if open[name] {
					rb.Interrupted++
					open[name] = false
				}
			case e.Kind == remedy.KindRemedy && strings.HasPrefix(text, remRefused):
				rb.Refused++
			case e.Kind == remedy.KindRemedy && strings.HasPrefix(text, remDryRun):
				rb.DryRuns++
			}
		}
		for name, o := range open {
			if o {
				by[name].Unfinished++
			}
		}
	}
	out := Remediation{PerRunbook: []Runbook{}}
	slices.Sort(names)
	for _, n := range names {
		rb := by[n]
		rb.Success = share(rb.Verified, rb.Verified+rb.Failed+rb.Interrupted)
		out.Attempts += rb.Attempts
		out.Verified += rb.Verified
		out.Failed += rb.Failed
		out.Interrupted += rb.Interrupted
		out.Unfinished += rb.Unfinished
		out.Refused += rb.Refused
		out.DryRuns += rb.DryRuns
		out.PerRunbook = append(out.PerRunbook, *rb)
	}
	out.Success = share(out.Verified, out.Verified+out.Failed+out.Interrupted)
	return out
}
