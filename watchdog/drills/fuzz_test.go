package drills

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// FuzzScore decodes a run record as the store reads one and scores it
// against a few incidents: whatever the record holds, scoring and every
// renderer return without a panic.
func FuzzScore(f *testing.F) {
	good, _ := json.Marshal(testRun())
	f.Add(good)
	f.Add([]byte(`{"id":"x","drills":[{"index":5,"faults":[{"kind":"path"}],"started_at":"2026-12-03T09:00:00Z"}]}`))
	f.Add([]byte(`{"drills":[{"expect":[{"cause":"server","relapse":true}],"started_at":"2026-12-03T09:00:00Z","stopped_at":"2020-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"state":"interrupted","started_at":"0001-01-01T00:00:00Z","drills":null}`))
	incs := []incident.Incident{
		mk("INC-1", "server:jd-media-1", 50*s, 40*s, map[string]time.Duration{"alert": 55 * s, "acknowledged": 5 * m, "resolved": 10 * m}),
		mk("INC-2", "room:yz-hall-1", 2*m, 100*s, map[string]time.Duration{"reopened": 3 * m}),
		mk("INC-3", "network:gy", -time.Hour, -time.Hour, nil),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Run
		if err := json.Unmarshal(data, &r); err != nil {
			return // the store says so: "bad record"
		}
		sc := Score(r, incs, targets, DefaultGrace, at(time.Hour))
		if sc.Score < 0 || sc.Score > 100 {
			t.Fatalf("score %d", sc.Score)
		}
		var b bytes.Buffer
		if err := sc.WriteHTML(&b, nil); err != nil {
			t.Fatal(err)
		}
		if err := sc.WriteCSV(&b); err != nil {
			t.Fatal(err)
		}
		if err := sc.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		_ = IsDrill(&incs[0], []Run{r})
	})
}
