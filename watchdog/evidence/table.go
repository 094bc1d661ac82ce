package evidence

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// TableOptions shape WriteTable.
type TableOptions struct {
	// Per is the row length: time.Second (every Sample) or a minute
	// (summed); default a minute.
	Per time.Duration
	// Loc is the time zone times are printed in.
	Loc *time.Location
	// At is the disputed moment: its row is marked.
	At time.Time
	// Names are the locations' (sub-centers') names by id.
	Names map[string]string
}

// row is what one participant measured in one row's span.
type row struct {
	start                 time.Time
	participant           string
	n                     int
	windowMS, connectedMS float64
	rttN                  int
	rttMed, rttMax        float64
	lagMax                float64
	freezes               int
	freezeMS, lossSum     float64
	dropouts, reconnects  int
	outageMS              float64
	lastErr               string
	sealed, unsealed      int
	sealMin, sealMax      int64
}

// WriteTable prints, per location and transport, what each participant
// measured, a row per second or per minute: 在线 (the share of the span it
// was connected), RTT median and max, lag, stutter, loss, dropouts, the last
// error, and the seal that covers the row's Samples (未封存: not yet).
func WriteTable(w io.Writer, samples []Stored, o TableOptions) error {
	if o.Per <= 0 {
		o.Per = time.Minute
	}
	if o.Loc == nil {
		o.Loc = time.UTC
	}
	type section struct{ loc, tr string }
	rows := map[section]map[string]*row{}
	for _, st := range samples {
		var s sample.Sample
		if json.Unmarshal(st.Raw, &s) != nil {
			continue
		}
		sec := section{s.Location, string(s.Transport)}
		start := s.WindowStart.Truncate(o.Per)
		key := start.Format(time.RFC3339Nano) + " " + s.Participant
		if rows[sec] == nil {
			rows[sec] = map[string]*row{}
		}
		r := rows[sec][key]
		if r == nil {
			r = &row{start: start, participant: s.Participant}
			rows[sec][key] = r
		}
		r.add(&s, st.Seal)
	}
	secs := slices.SortedFunc(func(yield func(section) bool) {
		for s := range rows {
			if !yield(s) {
				return
			}
		}
	}, func(a, b section) int { return cmp.Or(cmp.Compare(a.loc, b.loc), cmp.Compare(a.tr, b.tr)) })
	if len(secs) == 0 {
		_, err := fmt.Fprintln(w, "（这段时间没有原始样本）")
		return err
	}
	for _, sec := range secs {
		name := sec.loc
		if n := o.Names[sec.loc]; n != "" {
			name = n + " (" + sec.loc + ")"
		}
		if _, err := fmt.Fprintf(w, "\n== 探测位置 %s · %s ==\n", name, sec.tr); err != nil {
			return err
		}
		var tw grid
		tw.add("时间", "模拟参会方", "样本", "在线", "RTT 中位/最大 ms", "延时 ms", "卡顿", "丢包 %", "断线", "错误", "封存")
		rs := make([]*row, 0, len(rows[sec]))
		for _, r := range rows[sec] {
			rs = append(rs, r)
		}
		slices.SortFunc(rs, func(a, b *row) int {
			return cmp.Or(a.start.Compare(b.start), cmp.Compare(a.participant, b.participant))
		})
		for _, r := range rs {
			mark := ""
			if !o.At.IsZero() && !o.At.Before(r.start) && o.At.Before(r.start.Add(o.Per)) {
				mark = " ◀"
			}
			tw.add(r.start.In(o.Loc).Format("01-02 15:04:05")+mark, r.participant, fmt.Sprint(r.n), r.online(), r.rtt(), ms(r.lagMax),
				r.stutter(), pct(r.lossSum/float64(r.n)), r.drops(), cut(r.lastErr, 40), r.seal())
		}
		if err := tw.write(w); err != nil {
			return err
		}
	}
	return nil
}

func (r *row) add(s *sample.Sample, seal int64) {
	r.n++
	r.windowMS += s.WindowMS
	r.connectedMS += s.ConnectedMS
	if s.RTTCount > 0 {
		// The median of a minute is approximated by the mean of the
		// windows' medians; the max is exact.
		r.rttMed = (r.rttMed*float64(r.rttN) + s.RTTMedianMS) / float64(r.rttN+1)
		r.rttN++
		r.rttMax = max(r.rttMax, s.RTTMaxMS)
	}
	r.lagMax = max(r.lagMax, s.LagMaxMS)
	r.freezes += s.FreezeCount
	r.freezeMS += s.FreezeMS
	r.lossSum += s.LossPct
	r.dropouts += s.Dropouts
	r.reconnects += s.Reconnects
	r.outageMS += s.OutageMS
	if s.Error != "" {
		r.lastErr = s.Error
	}
	if seal == 0 {
		r.unsealed++
		return
	}
	if r.sealed == 0 || seal < r.sealMin {
		r.sealMin = seal
	}
	r.sealMax = max(r.sealMax, seal)
	r.sealed++
}

func (r *row) online() string {
	if r.windowMS <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*min(r.connectedMS/r.windowMS, 1))
}

func (r *row) rtt() string {
	if r.rttN == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f/%.0f", r.rttMed, r.rttMax)
}

func (r *row) stutter() string {
	if r.freezes == 0 && r.freezeMS == 0 {
		return "0"
	}
	return fmt.Sprintf("%d 次 %.0f ms", r.freezes, r.freezeMS)
}

func (r *row) drops() string {
	if r.dropouts == 0 {
		return "0"
	}
	return fmt.Sprintf("%d 次 断开 %.1f s", r.dropouts, r.outageMS/1000)
}

func (r *row) seal() string {
	switch {
	case r.sealed == 0:
		return "未封存"
	case r.unsealed > 0:
		return fmt.Sprintf("部分封存 #%d（%d 条未封存）", r.sealMax, r.unsealed)
	case r.sealMin != r.sealMax:
		return fmt.Sprintf("封存 #%d–#%d", r.sealMin, r.sealMax)
	}
	return fmt.Sprintf("封存 #%d", r.sealMax)
}

func ms(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}

func pct(v float64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%.1f", v)
}

func cut(s string, n int) string {
	if s == "" {
		return "-"
	}
	s = strings.ReplaceAll(s, "\t", " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// WriteHourly prints a room's hourly roll-ups (rollup.Row of one room),
// for a moment whose raw Samples are gone (past reports.raw_retention).
func WriteHourly(w io.Writer, rows []rollup.Row, o TableOptions) error {
	if o.Loc == nil {
		o.Loc = time.UTC
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "（这段时间也没有小时汇总）")
		return err
	}
	slices.SortFunc(rows, func(a, b rollup.Row) int {
		return cmp.Or(cmp.Compare(a.Dim.Location, b.Dim.Location), cmp.Compare(a.Dim.Transport, b.Dim.Transport), a.Start.Compare(b.Start))
	})
	var tw grid
	tw.add("小时", "探测位置", "方式", "样本", "观测", "断线时长", "劣化时长", "RTT 中位/P95 ms", "卡顿", "断线")
	for _, r := range rows {
		st := r.Stats
		loc := r.Dim.Location
		if n := o.Names[loc]; n != "" {
			loc = n
		}
		rtt := "-"
		if st.RTT.Count() > 0 {
			rtt = fmt.Sprintf("%.0f/%.0f", st.RTT.Quantile(0.5), st.RTT.Quantile(0.95))
		}
		tw.add(r.Start.In(o.Loc).Format("01-02 15:00"), loc, string(r.Dim.Transport), fmt.Sprint(st.Samples),
			dur(st.ObservedMS), dur(st.DownMS), dur(st.DegradedMS), rtt, fmt.Sprintf("%d 次 %.1f s", st.Freezes, float64(st.FreezeMS)/1000), fmt.Sprint(st.Dropouts))
	}
	return tw.write(w)
}

func dur(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).Round(time.Second).String()
}

// WriteSeals lists the seals an export's records are under, and what it
// left out because it is not sealed yet.
func WriteSeals(w io.Writer, d *Doc) error {
	byN := map[int64]Entry{}
	for _, e := range d.Chain {
		byN[e.N] = e
	}
	for _, g := range d.Groups {
		e := byN[g.Seal]
		what := fmt.Sprintf("共 %d 条样本", len(g.Leaves))
		if g.Kind == KindIncident {
			what = "故障记录的一个版本"
		}
		fmt.Fprintf(w, "  %s：封存 #%d（%s），%s，摘要 %s\n", g.Name(), g.Seal, e.At.Format(time.RFC3339), what, e.Digest.Short())
	}
	for _, u := range d.Unsealed {
		fmt.Fprintf(w, "  未封存：%s\n", u)
	}
	_, err := fmt.Fprintf(w, "  证据链头：%s\n", d.Head)
	return err
}
