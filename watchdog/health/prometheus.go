package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/bidwatch/bidwatch/internal/config"
)

// acceptHeader asks for the Prometheus text format, or OpenMetrics.
const acceptHeader = `text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.8,*/*;q=0.1`

// checkPrometheus scrapes the URL and reads each configured series into its
// named reading (cpu_pct ← hall_cpu_usage_percent). A series with several
// label sets gives its largest value: the busiest disk, the fullest pool.
// The check passes when the scrape does; a configured series that is
// missing is named in Error but does not fail the check.
func checkPrometheus(ctx context.Context, env *Env, c *config.HealthCheck) Reading {
	var r Reading
	start := env.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	req.Header.Set("Accept", acceptHeader)
	req.Header.Set("User-Agent", "bidwatch-watchdog")
	resp, err := env.Client.Do(req)
	if err != nil {
		r.LatencyMS, r.Error = since(env, start), err.Error()
		return r
	}
	defer resp.Body.Close()
	r.Status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		r.LatencyMS, r.Error = since(env, start), fmt.Sprintf("status %d, want 200", resp.StatusCode)
		return r
	}
	fams, err := parseMetrics(io.LimitReader(resp.Body, maxBody), expfmt.ResponseFormat(resp.Header))
	r.LatencyMS = since(env, start)
	if err != nil {
		r.Error = fmt.Sprintf("parse metrics: %v", err)
		return r
	}
	r.OK = true
	r.Values = map[string]float64{}
	var missing []string
	for _, reading := range slices.Sorted(maps.Keys(c.Metrics)) {
		series := c.Metrics[reading]
		v, ok := value(fams[series])
		if !ok {
			missing = append(missing, series)
			continue
		}
		r.Values[reading] = v
	}
	if len(missing) > 0 {
		r.Error = "missing series: " + strings.Join(missing, ", ")
	}
	return r
}

// parseMetrics decodes a scrape into metric families by name.
func parseMetrics(body io.Reader, format expfmt.Format) (map[string]*dto.MetricFamily, error) {
	dec := expfmt.NewDecoder(body, format)
	fams := map[string]*dto.MetricFamily{}
	for {
		var mf dto.MetricFamily
		err := dec.Decode(&mf)
		if errors.Is(err, io.EOF) {
			return fams, nil
		}
		if err != nil {
			return nil, err
		}
		fams[mf.GetName()] = &mf
	}
}

// value returns the largest value among a family's metrics: gauge, counter
// or untyped.
func value(mf *dto.MetricFamily) (float64, bool) {
	if mf == nil {
		return 0, false
	}
	best, ok := math.Inf(-1), false
	for _, m := range mf.GetMetric() {
		var v float64
		switch {
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		case m.Untyped != nil:
			v = m.GetUntyped().GetValue()
		default:
			continue
		}
		if !math.IsNaN(v) && v > best {
			best, ok = v, true
		}
	}
	return best, ok
}
