package reportdeliver

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/report"
)

// Job is one report to send: the period of a kind that ended, for one
// delivery entry.
type Job struct {
	// Delivery is the entry's index in reports.deliver.
	Delivery int
	Period   report.Period
	Scope    string
	Channels []string
}

// Slot names the entry and period kind a job is for: "0/month". Due keeps
// the last period sent per slot.
func (j Job) Slot() string { return Slot(j.Delivery, j.Period.Kind) }

// Slot names an entry's period kind.
func Slot(delivery int, kind string) string { return fmt.Sprintf("%d/%s", delivery, kind) }

// Marker is the job's once-only mark, under "report:sent:":
// "<kind>:<period>:<scope>:<channels>" ("month:2026-11:city:jd-mail,jd-wecom").
func (j Job) Marker() string {
	return j.Period.Kind + ":" + j.Period.ID() + ":" + j.Scope + ":" + strings.Join(j.sortedChannels(), ",")
}

// FileID names the report's HTML in Redis and at the console's
// /reports/<id>: "month.2026-11.city", "day.2026-12-02.sub-center-jd".
func (j Job) FileID() string {
	return j.Period.Kind + "." + j.Period.ID() + "." + strings.ReplaceAll(j.Scope, ":", "-")
}

// MessageID is the job's dispatch message id: stable across retries and
// leaders, different for entries that send the same report to other
// channels.
func (j Job) MessageID() string {
	sum := sha256.Sum256([]byte(strings.Join(j.sortedChannels(), ",")))
	return "report." + j.FileID() + "." + hex.EncodeToString(sum[:4])
}

func (j Job) sortedChannels() []string {
	cs := slices.Clone(j.Channels)
	slices.Sort(cs)
	return cs
}

// Due returns the reports due at now: for each delivery and each of its
// period kinds, the latest period of that kind in loc's calendar that
// ended at least the delivery's After before now — unless last (slot →
// period id, see Slot) says it was sent. Only the latest period counts: a
// leader down for a week sends last week's report, not seven daily ones.
func Due(now time.Time, deliveries []config.ReportDelivery, loc *time.Location, last map[string]string) []Job {
	var out []Job
	for i, d := range deliveries {
		for _, kind := range d.Periods {
			cur, err := report.ParsePeriod(kind, now.Add(-d.After), loc)
			if err != nil {
				continue // validation refused it already
			}
			p := cur.Prev()
			if last[Slot(i, kind)] == p.ID() {
				continue
			}
			scope := d.Scope
			if scope == "" {
				scope = report.ScopeCity
			}
			out = append(out, Job{Delivery: i, Period: p, Scope: scope, Channels: slices.Clone(d.Channels)})
		}
	}
	return out
}
