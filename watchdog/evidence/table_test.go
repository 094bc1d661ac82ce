package evidence

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

func TestWriteTable(t *testing.T) {
	var samples []Stored
	for seq := uint64(1); seq <= 120; seq++ {
		for _, loc := range []string{"gy", "yz"} {
			raw := rawSample(t, "S1", "hall-1", loc, sample.TransportWS, "hall-1/ws-1/"+loc, seq)
			st := Stored{Raw: raw, Ident: Ident(raw), Group: Group{KindSession, "S1"}, Seal: 7}
			if seq > 100 {
				st.Seal = 0
			}
			samples = append(samples, st)
		}
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	var buf bytes.Buffer
	if err := WriteTable(&buf, samples, TableOptions{Loc: sh, At: t0.Add(90 * time.Second), Names: map[string]string{"gy": "高邮"}}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"== 探测位置 高邮 (gy) · ws ==", "== 探测位置 yz · ws ==", "11-02 10:00:00  ", "11-02 10:01:00 ◀", "封存 #7", "部分封存 #7（20 条未封存）"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	// Columns line up on a terminal, CJK headers and all.
	var header string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "时间") {
			header = line
			continue
		}
		if i := strings.Index(line, "hall-1/"); i > 0 {
			if got, want := displayWidth(line[:i]), displayWidth(header[:strings.Index(header, "模拟参会方")]); got != want {
				t.Errorf("participant column at %d, header's at %d:\n%s", got, want, out)
				break
			}
		}
	}
	buf.Reset()
	_ = WriteTable(&buf, nil, TableOptions{})
	if !strings.Contains(buf.String(), "没有原始样本") {
		t.Errorf("empty: %q", buf.String())
	}
}

func TestWriteHourly(t *testing.T) {
	var st rollup.Stats
	st.Samples, st.ObservedMS, st.DownMS, st.Dropouts = 3600, 3_600_000, 12_000, 2
	var buf bytes.Buffer
	err := WriteHourly(&buf, []rollup.Row{{Dim: rollup.Dim{Room: "hall-1", Location: "gy", Transport: "ws"}, Start: t0, Span: time.Hour, Stats: st}}, TableOptions{Names: map[string]string{"gy": "高邮"}})
	if err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "高邮") || !strings.Contains(out, "12s") || !strings.Contains(out, "1h0m0s") {
		t.Errorf("hourly:\n%s", out)
	}
}

func TestDisplayWidth(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "高邮": 4, "封存 #7": 7, "◀": 1, "（": 2} {
		if got := displayWidth(s); got != want {
			t.Errorf("displayWidth(%q) = %d, want %d", s, got, want)
		}
	}
}
