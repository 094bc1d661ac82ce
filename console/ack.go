package console

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/watchdog/dispatch"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// The acknowledge links dispatch puts in alerts point at the console's
// /ack page. The page needs a login like every other; once signed in, the
// duty officer sees the incident and confirms, and the acknowledgement is
// recorded as the signed-in user, naming whom the link was sent to.

// link is a checked acknowledge link.
type link struct {
	id, person, name string
	exp              time.Time
}

// checkLink verifies a link's fields; it answers the refusal itself.
func (s *Server) checkLink(w http.ResponseWriter, q url.Values) (link, bool) {
	if s.opts.Ack == nil {
		writeError(w, http.StatusNotFound, "acknowledge links are not configured (dispatch.ack)")
		return link{}, false
	}
	id, person, exp, err := s.opts.Ack.Check(q, s.now())
	switch {
	case errors.Is(err, dispatch.ErrLinkExpired):
		writeError(w, http.StatusBadRequest, "the link has expired (链接已过期)")
		return link{}, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "the link is not valid (链接无效)")
		return link{}, false
	}
	l := link{id: id, person: person, name: person, exp: exp}
	if p, found := s.city.Dispatch.Person(person); found {
		l.name = p.Name
	}
	return l, true
}

func (s *Server) ackLink(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	q := r.URL.Query()
	l, ok := s.checkLink(w, q)
	if !ok {
		return
	}
	inc, err := s.store.Get(r.Context(), l.id)
	if err != nil {
		writeActError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"incident": inc.Brief(), "person": l.person, "person_name": l.name, "expires": l.exp,
		"can_ack": auth.Allowed(p.User.Role, auth.ActionAck) && inc.State == incident.StateOpen,
	})
}

func (s *Server) ackWithLink(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var req struct {
		I string `json:"i"`
		P string `json:"p"`
		E string `json:"e"`
		S string `json:"s"`
	}
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q := url.Values{"i": {req.I}, "p": {req.P}, "e": {req.E}, "s": {req.S}}
	l, ok := s.checkLink(w, q)
	if !ok {
		return
	}
	a := incident.Action{Kind: incident.ActAcknowledge, Actor: p.User.Actor(), At: s.now(),
		Text: "acknowledged from the alert link sent to " + l.name + " (从派单链接确认接单)"}
	inc, err := dispatch.AckWithLink(r.Context(), s.bus.Client(), s.bus.Prefix(), s.store, req.S, l.exp, l.id, a)
	switch {
	case errors.Is(err, dispatch.ErrLinkUsed):
		writeError(w, http.StatusConflict, "the link was used already (链接已使用过)")
		return
	case err != nil:
		writeActError(w, err)
		return
	}
	s.logger.Info("acknowledged from a link", "incident", l.id, "user", p.User.Name)
	writeJSON(w, http.StatusOK, s.detail(inc, p))
}
