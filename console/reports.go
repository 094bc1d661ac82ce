package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/watchdog/report"
	"github.com/bidwatch/bidwatch/watchdog/reportdeliver"
	"github.com/bidwatch/bidwatch/watchdog/reportsrc"
)

// reportCSP lets a report page show its own inline styles and SVG charts,
// and nothing else: a report has no scripts.
const reportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// reportTimeout bounds building one report (a city's year is well under it).
const reportTimeout = 60 * time.Second

// reportScope is a scope the Reports page offers.
type reportScope struct {
	ID   string `json:"id"` // city, sub-center:<id>, room:<id>
	Name string `json:"name"`
}

// getReportOptions is GET /api/reports/options: the period kinds, the
// scopes (the city, each sub-center, each room) and the time zone the
// periods follow.
func (s *Server) getReportOptions(w http.ResponseWriter, _ *http.Request, _ auth.Principal) {
	scopes := []reportScope{{ID: "city", Name: "全市 · " + s.city.City.Name}}
	for _, sc := range s.city.SubCenters {
		scopes = append(scopes, reportScope{ID: "sub-center:" + sc.ID, Name: sc.Name})
	}
	for _, r := range s.city.Rooms {
		scopes = append(scopes, reportScope{ID: "room:" + r.ID, Name: r.Name})
	}
	loc := s.city.Reports.Location()
	writeJSON(w, http.StatusOK, map[string]any{
		"kinds":    report.Kinds,
		"scopes":   scopes,
		"timezone": s.city.Reports.TimeZone,
		"today":    s.now().In(loc).Format(time.DateOnly),
		"formats":  []string{"html", "csv", "json"},
	})
}

// reportRequest reads a report's period and scope from a query:
// period=KIND&at=DATE, or from=DATE&to=DATE (both days included); at
// defaults to today, so a kind alone is the current period so far.
func (s *Server) reportRequest(r *http.Request) (report.Request, error) {
	q := r.URL.Query()
	loc := s.city.Reports.Location()
	now := s.now()
	req := report.Request{Scope: q.Get("scope"), Now: now}
	from, to := q.Get("from"), q.Get("to")
	switch {
	case from != "" || to != "":
		if from == "" || to == "" {
			return req, errors.New("a range needs both from and to (YYYY-MM-DD)")
		}
		p, err := report.ParseRange(from, to, loc)
		if err != nil {
			return req, err
		}
		req.Period = p
	default:
		kind := q.Get("period")
		if kind == "" {
			return req, fmt.Errorf("period: required, one of %v (or from and to)", report.Kinds)
		}
		at := now
		if v := q.Get("at"); v != "" {
			t, err := report.ParseDate(v, loc)
			if err != nil {
				return req, fmt.Errorf("at: %w", err)
			}
			at = t
		}
		p, err := report.ParsePeriod(kind, at, loc)
		if err != nil {
			return req, err
		}
		req.Period = p
	}
	return req, nil
}

// buildReport is GET /api/reports/build: the report for a period and scope
// as html (shown in the browser, printable to A4), csv or json (downloaded).
// An empty or future period is a report that says so, not an error; an
// unknown scope is a 400 naming it.
func (s *Server) buildReport(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	req, err := s.reportRequest(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "html"
	}
	if format != "html" && format != "csv" && format != "json" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("format: want html, csv or json, got %q", format))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	src, err := reportsrc.New(ctx, reportsrc.Options{Redis: s.bus.Client(), Prefix: s.bus.Prefix(), Config: s.city, Incidents: s.store, Now: s.now}, req.Period)
	if err != nil {
		s.logger.Warn("report sources", "err", err)
		writeError(w, http.StatusServiceUnavailable, "cannot read what the report needs: "+err.Error())
		return
	}
	start := time.Now()
	rep, err := report.Build(ctx, src, req)
	switch {
	case errors.Is(err, report.ErrUnknownScope):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		s.logger.Warn("build a report", "period", req.Period.ID(), "scope", req.Scope, "err", err)
		writeError(w, http.StatusServiceUnavailable, "the report could not be built: "+err.Error())
		return
	}
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	name := "bidwatch-report-" + rep.PeriodID
	if rep.Scope.ID != "" {
		name += "-" + rep.Scope.ID
	}
	switch format {
	case "html":
		err = rep.WriteHTML(&buf)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", reportCSP)
		w.Header().Set("Content-Disposition", `inline; filename="`+name+`.html"`)
	case "csv":
		buf.WriteString("\ufeff") // Excel reads the Chinese right only with a BOM
		err = rep.WriteCSV(&buf)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	case "json":
		err = rep.WriteJSON(&buf)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
	}
	if err != nil {
		s.logger.Warn("write a report", "format", format, "err", err)
		writeError(w, http.StatusInternalServerError, "the report could not be written")
		return
	}
	s.logger.Info("report built", "period", rep.PeriodID, "scope", rep.Scope.Kind+":"+rep.Scope.ID, "format", format, "took", time.Since(start).Round(time.Millisecond))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// storedReport is a report the scheduled delivery made and kept.
type storedReport struct {
	ID  string    `json:"id"`
	End time.Time `json:"end"`
	URL string    `json:"url"`
}

// listStoredReports is GET /api/reports/files: the reports the scheduled
// delivery made (reports.deliver), newest period first, at most 200.
func (s *Server) listStoredReports(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	zs, err := s.bus.Client().ZRevRangeWithScores(r.Context(), s.bus.Key(reportdeliver.KeyFiles), 0, 199).Result()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "cannot read the delivered reports (Redis unreachable)")
		return
	}
	out := make([]storedReport, 0, len(zs))
	for _, z := range zs {
		id, _ := z.Member.(string)
		out = append(out, storedReport{ID: id, End: time.UnixMilli(int64(z.Score)).In(s.city.Reports.Location()), URL: "/reports/" + id})
	}
	writeJSON(w, http.StatusOK, out)
}

// storedReportPage is GET /reports/{id}: a delivered report's HTML, where
// the link in a WeCom, DingTalk or Feishu message points. A duty officer
// who is not signed in goes to the login page and comes back.
func (s *Server) storedReportPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.auth.Authenticate(r)
	switch {
	case err != nil && !auth.Unauthenticated(err):
		http.Error(w, "cannot check the session now (Redis unreachable)", http.StatusServiceUnavailable)
		return
	case err != nil:
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		return
	case !auth.Allowed(p.User.Role, auth.ActionView):
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	id := r.PathValue("id")
	data, err := s.bus.Client().Get(r.Context(), s.bus.Key(reportdeliver.KeyFile+id)).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		http.Error(w, "no such report (it may be older than reports.rollup_retention): "+id, http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, "cannot read the report now (Redis unreachable)", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", reportCSP)
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(data)
}
