package console

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/evidence"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// The incidents API: the list and its filters, export, the detail, and the
// actions on an incident.

// filterOf reads the incident filters of a query.
func (s *Server) filterOf(r *http.Request) (incident.Filter, func(*incident.Incident) bool, error) {
	q := r.URL.Query()
	var f incident.Filter
	loc := s.city.Dispatch.Location()
	var err error
	if f.From, err = parseWhen(q.Get("from"), loc, false); err != nil {
		return f, nil, fmt.Errorf("from: %w", err)
	}
	if f.To, err = parseWhen(q.Get("to"), loc, true); err != nil {
		return f, nil, fmt.Errorf("to: %w", err)
	}
	for _, st := range splitList(q.Get("state")) {
		if !slices.Contains(incident.States, incident.State(st)) {
			return f, nil, fmt.Errorf("state: unknown %q", st)
		}
		f.States = append(f.States, incident.State(st))
	}
	classes := splitList(q.Get("class"))
	for _, c := range classes {
		if !slices.Contains(vocab.Classes, vocab.Class(c)) {
			return f, nil, fmt.Errorf("class: unknown %q", c)
		}
	}
	subs := splitList(q.Get("sub_center"))
	if n := q.Get("limit"); n != "" {
		if f.Limit, err = strconv.Atoi(n); err != nil || f.Limit < 0 {
			return f, nil, fmt.Errorf("limit: want a number")
		}
	}
	keep := func(inc *incident.Incident) bool {
		if len(classes) > 0 && !slices.Contains(classes, string(inc.Class)) {
			return false
		}
		if len(subs) > 0 && !slices.ContainsFunc(inc.Place.SubCenters, func(sc string) bool { return slices.Contains(subs, sc) }) {
			return false
		}
		return true
	}
	return f, keep, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseWhen reads a date (2026-12-01, in the city's zone; as an upper
// bound, the end of that day) or an RFC 3339 time.
func parseWhen(v string, loc *time.Location, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("want a date like 2026-12-01 or an RFC 3339 time, got %q", v)
	}
	return t, nil
}

// incidentsOf lists the incidents of a request's filters, newest first.
func (s *Server) incidentsOf(r *http.Request) ([]incident.Incident, int, error) {
	f, keep, err := s.filterOf(r)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	limit := f.Limit
	f.Limit = 0
	list, err := s.store.List(r.Context(), f)
	if err != nil {
		return nil, http.StatusServiceUnavailable, errors.New("cannot read incidents: Redis unreachable")
	}
	var out []incident.Incident
	for i := len(list) - 1; i >= 0; i-- {
		if keep(&list[i]) {
			out = append(out, list[i])
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, 0, nil
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	list, code, err := s.incidentsOf(r)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	now := s.now()
	type row struct {
		incident.Brief
		Acknowledged time.Time `json:"acknowledged_at,omitzero"`
		SignedOffBy  string    `json:"signed_off_by,omitempty"`
		HandlingS    float64   `json:"handling_s"`
	}
	rows := make([]row, 0, len(list))
	for i := range list {
		inc := &list[i]
		rows = append(rows, row{Brief: inc.Brief(), Acknowledged: inc.AcknowledgedAt, SignedOffBy: inc.SignedOffBy, HandlingS: inc.HandlingTime(now).Seconds()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": rows})
}

func (s *Server) exportIncidents(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	list, code, err := s.incidentsOf(r)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	slices.Reverse(list) // oldest first, as records are filed
	now := s.now()
	name := "bidwatch-incidents-" + now.In(s.city.Dispatch.Location()).Format("20060102-150405")
	// Each record carries its evidence seal and the chain's head
	// (docs/evidence.md), so `bidwatch verify` can check the file.
	sealed, err := incident.ReadSeals(r.Context(), evidence.NewChain(s.bus.Client(), s.bus.Prefix()), list)
	if err != nil {
		s.logger.Warn("read the evidence seals", "err", err)
		writeError(w, http.StatusServiceUnavailable, "cannot read the evidence chain (Redis unreachable)")
		return
	}
	var buf bytes.Buffer
	switch f := r.URL.Query().Get("format"); f {
	case "", "csv":
		buf.WriteString("\ufeff") // Excel reads the Chinese right only with a BOM
		err = incident.WriteSealedCSV(&buf, list, now, sealed)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		name += ".csv"
	case "json":
		err = incident.WriteSealedJSON(&buf, list, now, sealed)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		name += ".json"
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("format: want csv or json, got %q", f))
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "export failed")
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = w.Write(buf.Bytes())
}

// incidentAction is what an action path does and who may.
type incidentAction struct {
	kind  incident.ActionKind
	right auth.Action
}

// incidentActions are the actions on an incident, by path.
var incidentActions = map[string]incidentAction{
	"ack":      {incident.ActAcknowledge, auth.ActionAck},
	"note":     {incident.ActNote, auth.ActionNote},
	"mitigate": {incident.ActMitigate, auth.ActionMitigate},
	"resolve":  {incident.ActResolve, auth.ActionResolve},
	"class":    {incident.ActReclassify, auth.ActionClass},
	"signoff":  {incident.ActSignOff, auth.ActionSignOff},
}

// actionNames in the order the page shows them.
var actionNames = []string{"ack", "note", "mitigate", "resolve", "class", "signoff"}

// detail is an incident as the detail page gets it.
func (s *Server) detail(inc incident.Incident, p auth.Principal) map[string]any {
	now := s.now()
	var allowed []string
	for _, name := range actionNames {
		a := incidentActions[name]
		if !auth.Allowed(p.User.Role, a.right) {
			continue
		}
		// What the state machine would accept, tried on a copy.
		try := incident.Action{Kind: a.kind, Actor: "-", At: now, Text: "-", Class: vocab.ClassMinor}
		if a.kind == incident.ActReclassify {
			try.Class = otherClass(inc.Class)
		}
		if _, err := incident.Apply(inc, try, s.store.Policy()); err == nil {
			allowed = append(allowed, name)
		}
	}
	remaining := 0.0
	if inc.State.Active() && !inc.Deadline.IsZero() {
		remaining = inc.Deadline.Sub(now).Seconds()
	}
	return map[string]any{"incident": inc, "record": incident.RecordOf(inc, now), "allowed": allowed, "remaining_s": remaining}
}

func otherClass(c vocab.Class) vocab.Class {
	for _, o := range vocab.Classes {
		if o != c {
			return o
		}
	}
	return c
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	inc, err := s.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeActError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.detail(inc, p))
}

func (s *Server) actOn(name string) handlerFunc {
	a := incidentActions[name]
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) {
		var req struct {
			Text  string `json:"text"`
			Class string `json:"class"`
		}
		if err := readJSON(r, &req); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		act := incident.Action{Kind: a.kind, Actor: p.User.Actor(), At: s.now(), Text: strings.TrimSpace(req.Text), Class: vocab.Class(req.Class)}
		inc, err := s.store.Act(r.Context(), r.PathValue("id"), act)
		if err != nil {
			writeActError(w, err)
			return
		}
		s.logger.Info("incident action", "incident", inc.ID, "action", name, "user", p.User.Name)
		writeJSON(w, http.StatusOK, s.detail(inc, p))
	}
}

// writeActError maps the store's refusals to statuses.
func writeActError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, incident.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such incident (没有这个故障)")
	case errors.Is(err, incident.ErrFrozen):
		writeError(w, http.StatusConflict, "signed off: the record is frozen (已签字认可，记录不可更改)")
	case errors.Is(err, incident.ErrMerged):
		writeError(w, http.StatusConflict, "merged into another incident: act on that one (已合并)")
	case errors.Is(err, incident.ErrTransition), errors.Is(err, incident.ErrNoChange):
		writeError(w, http.StatusConflict, "not allowed in the incident's state (当前状态不允许)")
	case errors.Is(err, incident.ErrConflict):
		writeError(w, http.StatusConflict, "the incident changed meanwhile: reload and try again")
	case errors.Is(err, incident.ErrBadAction):
		writeError(w, http.StatusBadRequest, cleanBad(err))
	default:
		writeError(w, http.StatusServiceUnavailable, "Redis unreachable")
	}
}

// cleanBad is a bad action's message without the incident id prefix.
func cleanBad(err error) string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, ": "); ok {
		if _, rest2, ok := strings.Cut(rest, ": "); ok {
			return rest2
		}
		return rest
	}
	return msg
}
