package incident

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/evidence"
)

// Record is an incident as exported: the fault record's fields, flat, with
// the handling time worked out.
type Record struct {
	Incident
	HandlingTime   string `json:"handling_time"`
	HandlingTimeMS int64  `json:"handling_time_ms"`
	// Seal is the evidence chain's entry sealing this version of the
	// record (absent while it is not sealed yet), EvidenceHead the chain's
	// head when the export was made (evidence_seal.go).
	Seal         *evidence.Entry `json:"seal,omitempty"`
	EvidenceHead *evidence.Head  `json:"evidence_head,omitempty"`
}

// RecordOf returns the exported form of an incident as of now.
func RecordOf(inc Incident, now time.Time) Record {
	d := inc.HandlingTime(now)
	return Record{Incident: inc, HandlingTime: d.Round(time.Second).String(), HandlingTimeMS: d.Milliseconds()}
}

// csvHeader names the CSV columns (docs/incidents.md gives their Chinese
// names: handling_time is 处置时长, and so on).
var csvHeader = []string{
	"id", "state", "class", "severity", "cause", "subject", "suspected_cause",
	"sub_centers", "rooms", "servers", "locations",
	"phenomenon", "rtt_p95_ms", "rtt_max_ms", "stutter_pct", "freeze_ms", "participants_down", "dropouts", "outage_ms", "health_failures", "readings", "errors",
	"detected_at", "opened_at", "acknowledged_at", "mitigated_at", "resolved_at", "handling_time", "handling_time_ms",
	"deadline", "breached", "reopens", "merged_into", "merged_from", "paging", "muted_by", "result", "signed_off_at", "signed_off_by", "timeline",
}

// WriteCSV writes incidents as CSV, one row each, with a header row. The
// timeline is one cell: entries separated by newlines, each "time actor
// kind: text".
func WriteCSV(w io.Writer, incs []Incident, now time.Time) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, inc := range incs {
		r := RecordOf(inc, now)
		ph := inc.Phenomenon
		var tl []string
		for _, e := range inc.Timeline {
			from := ""
			if e.From != "" {
				from = " (" + e.From + ")"
			}
			tl = append(tl, fmt.Sprintf("%s %s %s%s: %s", ts(e.At), e.Actor, e.Kind, from, e.Text))
		}
		row := []string{
			inc.ID, string(inc.State), string(inc.Class), string(inc.Severity), string(inc.Cause), inc.Subject, inc.CauseText,
			list(inc.Place.SubCenters), list(inc.Place.Rooms), list(inc.Place.Servers), list(inc.Place.Locations),
			ph.Summary, num(ph.RTTP95MS), num(ph.RTTMaxMS), num(ph.StutterPct), num(ph.FreezeMS),
			strconv.Itoa(ph.ParticipantsDown), strconv.Itoa(ph.Dropouts), num(ph.OutageMS), strconv.Itoa(ph.HealthFailures),
			readingsLine(ph.Readings), strings.Join(ph.Errors, "; "),
			ts(inc.DetectedAt), ts(inc.OpenedAt), ts(inc.AcknowledgedAt), ts(inc.MitigatedAt), ts(inc.ResolvedAt),
			r.HandlingTime, strconv.FormatInt(r.HandlingTimeMS, 10),
			ts(inc.Deadline), strconv.FormatBool(inc.Breached), strconv.Itoa(inc.Reopens), inc.MergedInto, list(inc.MergedFrom), strconv.FormatBool(inc.Paging), inc.MutedBy,
			inc.Result, ts(inc.SignedOffAt), inc.SignedOffBy, strings.Join(tl, "\n"),
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// WriteJSON writes incidents as one indented JSON array of Records.
func WriteJSON(w io.Writer, incs []Incident, now time.Time) error {
	recs := make([]Record, len(incs))
	for i, inc := range incs {
		recs[i] = RecordOf(inc, now)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(recs); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

func num(x float64) string {
	if x == 0 {
		return ""
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

func list(ss []string) string { return strings.Join(ss, " ") }
