package incident

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// records are three fault records as the exports see them: a server
// incident resolved after a room's incident was merged into it, the merged
// room incident, and a muted room incident open past its deadline.
func records(t *testing.T) []Incident {
	t.Helper()
	parent := opened("INC-000001", serverProblem(hall1), t0)
	child := opened("INC-000002", problem(vocab.CauseRoom, hall2, []string{hall2}, dropout(hall2, 3, t0.Add(30*time.Second))), t0.Add(time.Minute))
	child = must(t, child, Action{Kind: ActAcknowledge, Actor: "张工", At: t0.Add(2 * time.Minute)})
	child, parent, err := Merge(child, parent, t0.Add(5*time.Minute), "explained by server yz-media-1")
	if err != nil {
		t.Fatal(err)
	}
	parent = must(t, parent, Action{Kind: ActResolve, Actor: "张工", At: t0.Add(30 * time.Minute), Text: `media restarted, "hot" spare, done`})
	muted := roomProblem(hall3, 420)
	muted.Page, muted.MutedBy = false, "nightly"
	open := opened("INC-000003", muted, t0)
	open = must(t, open, Action{Kind: ActBreach, Actor: Actor, At: t0.Add(61 * time.Minute)})
	return []Incident{parent, child, open}
}

func TestWriteCSV(t *testing.T) {
	incs := records(t)
	now := t0.Add(2 * time.Hour)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, incs, now); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("csv: %v, %d rows", err, len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"id", "state", "class", "cause", "subject", "suspected_cause", "sub_centers", "rooms", "servers", "phenomenon",
		"detected_at", "opened_at", "resolved_at", "handling_time", "handling_time_ms", "deadline", "breached", "reopens",
		"merged_into", "merged_from", "paging", "muted_by", "result", "signed_off_at", "signed_off_by", "timeline"} {
		if _, ok := col[h]; !ok {
			t.Errorf("no %q column in %q", h, rows[0])
		}
	}
	if rows[0][0] != "id" || rows[0][len(rows[0])-1] != "timeline" {
		t.Errorf("header %q: id first, timeline last", rows[0])
	}
	for _, r := range rows[1:] {
		if len(r) != len(rows[0]) {
			t.Errorf("row %q has %d cells, header %d", r[0], len(r), len(rows[0]))
		}
	}
	tests := []struct {
		row  int
		want map[string]string
	}{
		{1, map[string]string{
			"id": "INC-000001", "state": "resolved", "class": "partial", "severity": "critical", "cause": "server", "subject": media1,
			"sub_centers": "yz", "rooms": "yz-hall-1 yz-hall-2", "servers": media1, "rtt_p95_ms": "450", "participants_down": "3",
			"readings": "yz-media-1 cpu_pct=97", "errors": "read: connection reset",
			"detected_at": "2026-11-02T09:29:30Z", "opened_at": "2026-11-02T09:30:00Z", "resolved_at": "2026-11-02T10:00:00Z",
			"handling_time": "30m0s", "handling_time_ms": "1800000", "deadline": "2026-11-02T11:30:00Z", "breached": "false",
			"merged_into": "", "merged_from": "INC-000002", "paging": "true", "result": `media restarted, "hot" spare, done`,
		}},
		{2, map[string]string{
			"id": "INC-000002", "state": "merged", "merged_into": "INC-000001", "merged_from": "",
			"handling_time": "0s", "handling_time_ms": "0", "resolved_at": "", "acknowledged_at": "2026-11-02T09:32:00Z",
		}},
		{3, map[string]string{
			"id": "INC-000003", "state": "open", "class": "minor", "breached": "true", "paging": "false", "muted_by": "nightly",
			"resolved_at": "", "handling_time": "2h0m0s", "handling_time_ms": "7200000", "rtt_p95_ms": "420", "participants_down": "0", "result": "",
		}},
	}
	for _, tt := range tests {
		r := rows[tt.row]
		t.Run(r[0], func(t *testing.T) {
			for k, v := range tt.want {
				if got := r[col[k]]; got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}

	// The timeline cell: one line an entry, "time actor kind (from): text",
	// in time order, with the merged record's entries marked.
	t.Run("timeline cell", func(t *testing.T) {
		lines := strings.Split(rows[1][col["timeline"]], "\n")
		if len(lines) != len(incs[0].Timeline) {
			t.Fatalf("%d lines for %d entries:\n%s", len(lines), len(incs[0].Timeline), rows[1][col["timeline"]])
		}
		line := regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (\S+) (\S+)( \(INC-\d{6}\))?: .+$`)
		var times []string
		carried := 0
		for _, l := range lines {
			m := line.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("line %q", l)
				continue
			}
			times = append(times, m[1])
			if m[4] == " (INC-000002)" {
				carried++
			}
		}
		if !slices.IsSorted(times) {
			t.Errorf("lines out of time order: %q", times)
		}
		if carried != len(incs[1].Timeline)-1 {
			t.Errorf("%d lines carried from INC-000002, want %d", carried, len(incs[1].Timeline)-1)
		}
		if !slices.Contains(lines, "2026-11-02T09:32:00Z 张工 acknowledged (INC-000002): acknowledged (确认接单)") {
			t.Errorf("the child's acknowledgement is missing:\n%s", strings.Join(lines, "\n"))
		}
		if !slices.Contains(lines, `2026-11-02T10:00:00Z 张工 resolved: media restarted, "hot" spare, done`) {
			t.Errorf("the resolution is missing:\n%s", strings.Join(lines, "\n"))
		}
	})

	t.Run("no incidents: the header alone", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteCSV(&buf, nil, now); err != nil {
			t.Fatal(err)
		}
		if rows, err := csv.NewReader(&buf).ReadAll(); err != nil || len(rows) != 1 || len(rows[0]) != len(csvHeader) {
			t.Errorf("%v %q", err, rows)
		}
	})
}

func TestWriteJSON(t *testing.T) {
	incs := records(t)
	now := t0.Add(2 * time.Hour)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, incs, now); err != nil {
		t.Fatal(err)
	}
	var raw []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil || len(raw) != 3 {
		t.Fatalf("%v, %d records:\n%s", err, len(raw), buf.String())
	}
	tests := []struct {
		i       int
		want    map[string]any
		missing []string
	}{
		{0, map[string]any{"id": "INC-000001", "state": "resolved", "handling_time": "30m0s", "handling_time_ms": float64(1800000),
			"merged_from": []any{"INC-000002"}, "resolved_at": "2026-11-02T10:00:00Z", "breached": false, "paging": true},
			[]string{"merged_into", "signed_off_at", "clearing_since"}},
		{1, map[string]any{"id": "INC-000002", "state": "merged", "merged_into": "INC-000001", "handling_time": "0s", "handling_time_ms": float64(0)},
			[]string{"merged_from", "resolved_at"}},
		{2, map[string]any{"id": "INC-000003", "state": "open", "breached": true, "breached_at": "2026-11-02T10:30:00Z", "paging": false, "muted_by": "nightly",
			"handling_time": "2h0m0s"},
			[]string{"resolved_at", "acknowledged_at", "mitigated_at", "merged_into", "merged_from"}},
	}
	for _, tt := range tests {
		rec := raw[tt.i]
		t.Run(tt.want["id"].(string), func(t *testing.T) {
			for k, v := range tt.want {
				g, _ := json.Marshal(rec[k])
				w, _ := json.Marshal(v)
				if string(g) != string(w) {
					t.Errorf("%s = %s, want %s", k, g, w)
				}
			}
			for _, k := range tt.missing {
				if _, ok := rec[k]; ok {
					t.Errorf("%s present: %v", k, rec[k])
				}
			}
		})
	}
	t.Run("timeline entries name where they came from", func(t *testing.T) {
		tl, _ := raw[0]["timeline"].([]any)
		from := 0
		for _, e := range tl {
			if e.(map[string]any)["from"] == "INC-000002" {
				from++
			}
		}
		if len(tl) != len(incs[0].Timeline) || from != len(incs[1].Timeline)-1 {
			t.Errorf("%d entries, %d from INC-000002", len(tl), from)
		}
	})
	t.Run("records read back", func(t *testing.T) {
		var recs []Record
		if err := json.Unmarshal(buf.Bytes(), &recs); err != nil {
			t.Fatal(err)
		}
		for i, r := range recs {
			sameRecord(t, r.ID, r.Incident, incs[i])
		}
	})
}
