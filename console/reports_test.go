package console

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/reportdeliver"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// TestReports: the Reports page's API builds a period report from the
// roll-ups in Redis — the figures are the Samples' (90 of 100 seconds
// connected is 90 % availability) — as JSON, printable HTML with a CSP of
// its own, and CSV for Excel; a future period says so; an unknown scope or
// a bad period is a 400 that names it; nobody unsigned gets a report.
func TestReports(t *testing.T) {
	e := newEnv(t, envOptions{})
	screen := e.login("screen")
	loc := e.city.Reports.Location()
	now := time.Now().In(loc)
	y, m, d := now.AddDate(0, 0, -1).Date()
	at := time.Date(y, m, d, 10, 0, 0, 0, loc)
	day := at.Format(time.DateOnly)

	in := &rollup.Ingest{Prefix: e.bus.Prefix(), Thresholds: rollup.Thresholds{DegradedRTT: e.city.Watchdog.Detect.Latency.Degraded},
		RawRetention: 48 * time.Hour, RollupRetention: 400 * 24 * time.Hour}
	var entries []rollup.Entry
	for i := range 100 {
		s := sampleAt("yz-hall-1", "yz", sample.TransportWS, "ws-1", at.Add(time.Duration(i+1)*time.Second), func(s *sample.Sample) {
			s.Session, s.Seq = "s-1", uint64(i+1)
			if i >= 90 {
				s.Connected, s.ConnectedMS, s.RTTCount, s.RTTMedianMS, s.Dropouts = false, 0, 0, 0, 1
			}
		})
		raw, err := bus.EncodeSample(s)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, rollup.Entry{Sample: &s, Raw: string(raw)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := in.Apply(ctx, e.bus.Client(), entries); err != nil {
		t.Fatal(err)
	}

	r := e.call("GET", "/api/reports/options", nil, as(screen))
	var opts struct {
		Kinds  []string `json:"kinds"`
		Scopes []struct{ ID, Name string }
		Today  string `json:"today"`
	}
	r.decode(t, &opts)
	if strings.Join(opts.Kinds, ",") != "day,week,month,quarter,half,year" || len(opts.Scopes) != 1+len(e.city.SubCenters)+len(e.city.Rooms) || opts.Scopes[0].ID != "city" || opts.Today != now.Format(time.DateOnly) {
		t.Errorf("options: %s", r)
	}

	r = e.call("GET", "/api/reports/build?period=day&at="+day+"&scope=room:yz-hall-1&format=json", nil, as(screen))
	var rep struct {
		Title   string `json:"title"`
		Empty   bool   `json:"empty"`
		Summary struct {
			ObservedMS   int64   `json:"observed_ms"`
			DownMS       int64   `json:"down_ms"`
			Availability float64 `json:"availability"`
			Dropouts     int64   `json:"dropouts"`
		} `json:"summary"`
		Evidence *struct {
			Head struct {
				N int64 `json:"n"`
			} `json:"head"`
		} `json:"evidence"`
	}
	r.decode(t, &rep)
	if rep.Empty || rep.Summary.ObservedMS != 100_000 || rep.Summary.DownMS != 10_000 || rep.Summary.Availability != 0.9 || rep.Summary.Dropouts != 10 {
		t.Errorf("the day's report: %s", r)
	}
	if !strings.Contains(rep.Title, "日报") || rep.Evidence == nil {
		t.Errorf("title %q, evidence %v: want a day report (日报) carrying the evidence chain's head", rep.Title, rep.Evidence)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, ".json") {
		t.Errorf("JSON: Content-Disposition %q", cd)
	}

	r = e.call("GET", "/api/reports/build?period=day&at="+day+"&scope=room:yz-hall-1", nil, as(screen))
	if r.code != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || r.header.Get("Content-Security-Policy") != reportCSP {
		t.Fatalf("HTML: %d %q CSP %q", r.code, r.header.Get("Content-Type"), r.header.Get("Content-Security-Policy"))
	}
	if !bytes.Contains(r.body, []byte("<html")) || !bytes.Contains(r.body, []byte(rep.Title)) || bytes.Contains(r.body, []byte("<script")) {
		t.Errorf("HTML: not the report page, or it has a script")
	}

	r = e.call("GET", "/api/reports/build?period=month&at="+day+"&format=csv", nil, as(screen))
	if r.code != http.StatusOK || !bytes.HasPrefix(r.body, []byte("\ufeff")) || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Errorf("CSV: %d %q, starts %q", r.code, r.header.Get("Content-Type"), r.body[:min(len(r.body), 12)])
	}

	next := now.AddDate(1, 0, 0).Format("2006")
	r = e.call("GET", "/api/reports/build?period=year&at="+next+"&format=json", nil, as(screen))
	var future struct {
		Empty  bool   `json:"empty"`
		Notice string `json:"notice"`
	}
	r.decode(t, &future)
	if !future.Empty || future.Notice == "" {
		t.Errorf("next year: %s, want an empty report that says why", r)
	}

	for _, tc := range []struct{ query, says string }{
		{"period=day&scope=room:no-such-room", "no-such-room"},
		{"period=fortnight", "fortnight"},
		{"period=day&at=yesterday", "yesterday"},
		{"from=2026-11-01", "from and to"},
		{"from=2026-11-30&to=2026-11-01", "before"},
		{"", "period"},
		{"period=day&format=pdf", "pdf"},
	} {
		r := e.call("GET", "/api/reports/build?"+tc.query, nil, as(screen))
		if r.code != http.StatusBadRequest || !strings.Contains(r.errorText(t), tc.says) {
			t.Errorf("%q: %s, want a 400 naming %q", tc.query, r, tc.says)
		}
	}

	r = e.call("GET", "/api/reports/build?period=day", nil)
	if r.code != http.StatusUnauthorized {
		t.Errorf("unsigned: %s, want 401", r)
	}
}

// TestStoredReports: a report the scheduled delivery kept is listed, and
// opens at /reports/ID — the link a chat message carries — for anyone
// signed in; whoever is not is sent to sign in and back.
func TestStoredReports(t *testing.T) {
	e := newEnv(t, envOptions{})
	screen := e.login("screen")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	id := "month.2026-11.city"
	page := "<!DOCTYPE html><html><body><h1>2026年11月 运维月报</h1></body></html>"
	rdb := e.bus.Client()
	if err := rdb.Set(ctx, e.bus.Key(reportdeliver.KeyFile+id), page, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, e.city.Reports.Location())
	if err := rdb.ZAdd(ctx, e.bus.Key(reportdeliver.KeyFiles), redis.Z{Score: float64(end.UnixMilli()), Member: id}).Err(); err != nil {
		t.Fatal(err)
	}

	r := e.call("GET", "/api/reports/files", nil, as(screen))
	var files []storedReport
	r.decode(t, &files)
	if len(files) != 1 || files[0].ID != id || files[0].URL != "/reports/"+id || !files[0].End.Equal(end) {
		t.Errorf("files: %s", r)
	}
	r = e.call("GET", "/reports/"+id, nil, as(screen))
	if r.code != http.StatusOK || string(r.body) != page || r.header.Get("Content-Security-Policy") != reportCSP {
		t.Errorf("the stored report: %d %q CSP %q", r.code, r.body, r.header.Get("Content-Security-Policy"))
	}
	r = e.call("GET", "/reports/no-such-report", nil, as(screen))
	if r.code != http.StatusNotFound {
		t.Errorf("a report never made: %s, want 404", r)
	}
	noFollow := &http.Client{Timeout: wait, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(e.ts.URL + "/reports/" + id)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Freports%2F"+id {
		t.Errorf("not signed in: %d Location %q, want a redirect to sign in and back", res.StatusCode, res.Header.Get("Location"))
	}
}
