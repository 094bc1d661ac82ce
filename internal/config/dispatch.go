package config

import (
	"fmt"
	"maps"
	"net"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// Dispatch configures dispatch alerts (派单告警): which channels exist, who
// is on duty where and when (值班表), how messages are grouped, limited,
// retried and escalated, and the acknowledge links they carry.
// docs/dispatch.md explains each key.
type Dispatch struct {
	// TimeZone is the zone the roster's times are in (IANA name).
	TimeZone string `yaml:"time_zone"`
	// ConsoleURL is the link to an incident in messages, "{id}" replaced
	// by its id; "" puts no link.
	ConsoleURL string `yaml:"console_url"`
	// CenterClass: incidents of this SLA class and above are also sent to
	// the trading center's roster.
	CenterClass vocab.Class `yaml:"center_class"`
	// GroupWait: changes to a receiver's incidents that come this close
	// together go out as one message.
	GroupWait time.Duration `yaml:"group_wait"`
	// Remind repeats an open, unacknowledged incident to its receivers this
	// often; 0 never.
	Remind time.Duration `yaml:"remind"`
	// ReceiverRate limits the messages one receiver (a roster level of a
	// sub-center) gets; past it, one summary message instead of many.
	ReceiverRate string        `yaml:"receiver_rate"`
	Escalate     Escalate      `yaml:"escalate"`
	Retry        DispatchRetry `yaml:"retry"`
	Ack          AckLinks      `yaml:"ack"`
	Channels     []Channel     `yaml:"channels"`
	People       []Person      `yaml:"people"`
	Roster       []Roster      `yaml:"roster"`
}

// Escalate says when an incident goes to the next level of its roster:
// when it is not acknowledged within Unacknowledged, and again at each of
// DeadlinePcts percent of its SLA deadline and at its breach.
type Escalate struct {
	Unacknowledged time.Duration `yaml:"unacknowledged"`
	DeadlinePcts   []int         `yaml:"deadline_pcts"`
	Breach         bool          `yaml:"breach"`
}

// DispatchRetry is how a delivery that failed is tried again: after
// Initial, doubling (with jitter) up to Max, until GiveUpAfter has passed
// since the first try.
type DispatchRetry struct {
	Initial     time.Duration `yaml:"initial"`
	Max         time.Duration `yaml:"max"`
	GiveUpAfter time.Duration `yaml:"give_up_after"`
}

// AckLinks configures the acknowledge links messages carry: signed with
// Secret (HMAC-SHA256 over the incident, the person and the expiry),
// valid for ValidFor, served at BaseURL (`bidwatch serve-ack` listens on
// Listen).
type AckLinks struct {
	Secret   Secret        `yaml:"secret"`
	BaseURL  string        `yaml:"base_url"`
	Listen   string        `yaml:"listen"`
	ValidFor time.Duration `yaml:"valid_for"`
}

// Channel is one place messages go: a group robot, a webhook, a mailbox.
// Which fields it takes depends on Type; see [KnownChannelKinds].
type Channel struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
	// URL is where webhook and robot messages are posted.
	URL string `yaml:"url"`
	// Secret signs robot messages (DingTalk, Feishu) or webhook bodies.
	Secret Secret `yaml:"secret"`
	// Token is a webhook's bearer token.
	Token Secret `yaml:"token"`
	// Rate limits the messages the channel takes, like "20/min"; default
	// per type (what the provider allows).
	Rate string `yaml:"rate"`
	// SMTP is an e-mail channel's server, host:port; Username and
	// Password its login; From the sender; To fixed recipients (on-duty
	// people's addresses are added); StartTLS upgrades the connection
	// (default true; false only on loopback).
	SMTP     string   `yaml:"smtp"`
	Username string   `yaml:"username"`
	Password Secret   `yaml:"password"`
	From     string   `yaml:"from"`
	To       []string `yaml:"to"`
	StartTLS bool     `yaml:"starttls"`
}

// Person is someone on the roster, with how to reach them: their mobile
// (mentioned in group robots), e-mail, and their own channels.
type Person struct {
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name"`
	Mobile   string   `yaml:"mobile"`
	Email    string   `yaml:"email"`
	Channels []string `yaml:"channels"`
}

// Roster is one sub-center's (or the center's) duty roster: levels of
// escalation, the first told first.
type Roster struct {
	SubCenter string  `yaml:"sub_center"`
	Levels    []Level `yaml:"levels"`
}

// Level is one level of a roster: its group channels, and who is on duty
// when.
type Level struct {
	Name     string   `yaml:"name"`
	Channels []string `yaml:"channels"`
	Shifts   []Shift  `yaml:"shifts"`
}

// Shift is who is on duty on some days between two times of day, in the
// roster's zone: Days "mon-fri", "sat,sun" or "all"; From and To "08:30",
// "17:30" (To "24:00" is midnight; To before From runs over midnight).
type Shift struct {
	Days   string   `yaml:"days"`
	From   string   `yaml:"from"`
	To     string   `yaml:"to"`
	People []string `yaml:"people"`
}

// ChannelKind describes one kind of channel to the configuration.
type ChannelKind struct {
	// Summary says in one line what the channel is.
	Summary string
	// Rate is the default rate limit.
	Rate string
	// Validate reports problems with the fields the kind takes and with the
	// ones it does not; paths are relative to the channel ("url").
	Validate func(c *Channel) []*FieldError
}

// KnownChannelKinds lists the channel types a configuration may use. The
// dispatcher implements each (watchdog/dispatch/channel, a file each);
// adding one is an entry here and a file there.
var KnownChannelKinds = map[string]ChannelKind{
	"webhook": {Summary: "POST the message as JSON (bidwatch webhook v1) to url, with token as a bearer and secret as an HMAC-SHA256 signature header", Rate: "60/min", Validate: httpChannel("webhook", false, false)},
	"wecom":   {Summary: "WeCom (企业微信) group robot: markdown to its webhook url (and a text message mentioning the people on duty)", Rate: "10/min", Validate: httpChannel("wecom", false, false)},
	"dingtalk": {Summary: "DingTalk (钉钉) group robot: markdown to its webhook url, signed with secret (HMAC-SHA256)", Rate: "20/min",
		Validate: httpChannel("dingtalk", true, false)},
	"feishu": {Summary: "Feishu/Lark (飞书) group robot: an interactive card to its webhook url, signed with secret", Rate: "100/min",
		Validate: httpChannel("feishu", true, false)},
	"email": {Summary: "e-mail over SMTP (STARTTLS), plain text and HTML, to `to` and the on-duty people", Rate: "30/min", Validate: validateEmailChannel},
}

// httpChannel validates a channel posting to a URL; secret says whether
// it takes a signing secret, required whether the secret is required.
func httpChannel(kind string, secret, required bool) func(c *Channel) []*FieldError {
	return func(c *Channel) []*FieldError {
		var out []*FieldError
		add := func(path, format string, args ...any) {
			out = append(out, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
		}
		if c.URL == "" {
			add("url", "required: the URL to post to")
		} else if msg := urlProblem(c.URL, "http", "https"); msg != "" {
			add("url", "%s", msg)
		}
		if !secret && kind != "webhook" && c.Secret != "" {
			add("secret", "a %s channel takes no secret", kind)
		}
		if required && c.Secret == "" {
			add("secret", "required")
		}
		if kind != "webhook" && c.Token != "" {
			add("token", "a %s channel takes no token", kind)
		}
		if c.SMTP != "" || c.Username != "" || c.Password != "" || c.From != "" || len(c.To) > 0 {
			add("smtp", "smtp, username, password, from and to are for email channels")
		}
		return out
	}
}

func validateEmailChannel(c *Channel) []*FieldError {
	var out []*FieldError
	add := func(path, format string, args ...any) {
		out = append(out, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if c.SMTP == "" {
		add("smtp", "required: the SMTP server, host:port")
	} else if msg := addressProblem(c.SMTP); msg != "" {
		add("smtp", "%s", msg)
	}
	if c.From == "" {
		add("from", "required: the sender's address")
	} else if _, err := mail.ParseAddress(c.From); err != nil {
		add("from", "invalid address %s", quote(c.From))
	}
	for i, to := range c.To {
		if _, err := mail.ParseAddress(to); err != nil {
			add(indexPath("to", i), "invalid address %s", quote(to))
		}
	}
	if (c.Username == "") != (c.Password == "") {
		add("password", "username and password go together")
	}
	if !c.StartTLS && c.SMTP != "" {
		if host, _, err := net.SplitHostPort(c.SMTP); err == nil {
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				add("starttls", "false only for a server on loopback: credentials and messages would cross the network in clear")
			}
		}
	}
	if c.URL != "" || c.Secret != "" || c.Token != "" {
		add("url", "url, secret and token are not for email channels")
	}
	return out
}

// rateSpec is "N/unit".
var rateSpec = regexp.MustCompile(`^([1-9][0-9]{0,6})/(s|sec|second|min|minute|h|hour)$`)

// ParseRate reads a rate like "20/min" as a count per period.
func ParseRate(s string) (n int, per time.Duration, err error) {
	m := rateSpec.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, 0, fmt.Errorf("invalid rate %s (want a count per s, min or h, like 20/min)", quote(s))
	}
	n, _ = strconv.Atoi(m[1])
	switch m[2] {
	case "s", "sec", "second":
		per = time.Second
	case "min", "minute":
		per = time.Minute
	default:
		per = time.Hour
	}
	return n, per, nil
}

// DefaultDispatch is the dispatch section's defaults.
func DefaultDispatch() Dispatch {
	return Dispatch{
		TimeZone:     "Asia/Shanghai",
		CenterClass:  vocab.ClassPartial,
		GroupWait:    500 * time.Millisecond,
		Remind:       30 * time.Minute,
		ReceiverRate: "30/min",
		Escalate:     Escalate{Unacknowledged: 10 * time.Minute, DeadlinePcts: []int{50, 80}, Breach: true},
		Retry:        DispatchRetry{Initial: time.Second, Max: 5 * time.Minute, GiveUpAfter: 2 * time.Hour},
		Ack:          AckLinks{ValidFor: 4 * time.Hour, Listen: "127.0.0.1:9430"},
	}
}

// setDefaults fills a channel written in the configuration.
func (c *Channel) setDefaults() { c.StartTLS = true }

// Location returns the roster's time zone; a validated configuration always
// has one.
func (d *Dispatch) Location() *time.Location {
	loc, err := time.LoadLocation(d.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Channel returns the channel with this name.
func (d *Dispatch) Channel(name string) (*Channel, bool) {
	i := slices.IndexFunc(d.Channels, func(c Channel) bool { return c.Name == name })
	if i < 0 {
		return nil, false
	}
	return &d.Channels[i], true
}

// Person returns the person with this id.
func (d *Dispatch) Person(id string) (*Person, bool) {
	i := slices.IndexFunc(d.People, func(p Person) bool { return p.ID == id })
	if i < 0 {
		return nil, false
	}
	return &d.People[i], true
}

// RosterOf returns a sub-center's roster.
func (d *Dispatch) RosterOf(subCenter string) (*Roster, bool) {
	i := slices.IndexFunc(d.Roster, func(r Roster) bool { return r.SubCenter == subCenter })
	if i < 0 {
		return nil, false
	}
	return &d.Roster[i], true
}

func (d *Dispatch) validate(errs *problems, c *Config) {
	const p = "dispatch"
	if _, err := time.LoadLocation(d.TimeZone); err != nil || d.TimeZone == "" {
		errs.add(p+".time_zone", "unknown time zone %s (want an IANA name such as Asia/Shanghai)", quote(d.TimeZone))
	}
	if d.ConsoleURL != "" {
		checkURL(errs, p+".console_url", strings.ReplaceAll(d.ConsoleURL, "{id}", "INC-000001"), "http", "https")
	}
	checkEnum(errs, p+".center_class", "class", string(d.CenterClass), vocab.Strings(vocab.Classes))
	nonNegative(errs, p+".group_wait", d.GroupWait)
	nonNegative(errs, p+".remind", d.Remind)
	if _, _, err := ParseRate(d.ReceiverRate); err != nil {
		errs.add(p+".receiver_rate", "%v", err)
	}
	nonNegative(errs, p+".escalate.unacknowledged", d.Escalate.Unacknowledged)
	for i, pct := range d.Escalate.DeadlinePcts {
		if pct <= 0 || pct >= 100 || (i > 0 && pct <= d.Escalate.DeadlinePcts[i-1]) {
			errs.add(indexPath(p+".escalate.deadline_pcts", i), "want increasing percentages between 1 and 99, got %d", pct)
		}
	}
	positive(errs, p+".retry.initial", d.Retry.Initial)
	if d.Retry.Max < d.Retry.Initial {
		errs.add(p+".retry.max", "must be at least initial (%s), got %s", d.Retry.Initial, d.Retry.Max)
	}
	positive(errs, p+".retry.give_up_after", d.Retry.GiveUpAfter)
	if d.Ack.BaseURL != "" {
		checkURL(errs, p+".ack.base_url", d.Ack.BaseURL, "http", "https")
		if len(d.Ack.Secret.Reveal()) < 16 {
			errs.add(p+".ack.secret", "required with base_url: at least 16 characters")
		}
	}
	if d.Ack.Listen != "" {
		if msg := addressProblem(d.Ack.Listen); msg != "" {
			errs.add(p+".ack.listen", "%s", msg)
		}
	}
	positive(errs, p+".ack.valid_for", d.Ack.ValidFor)

	kinds := slices.Sorted(maps.Keys(KnownChannelKinds))
	names := map[string]int{}
	for i := range d.Channels {
		ch := &d.Channels[i]
		cp := indexPath(p+".channels", i)
		checkID(errs, cp+".name", ch.Name)
		if j, dup := names[ch.Name]; dup && ch.Name != "" {
			errs.add(cp+".name", "duplicate channel %s (first at %s)", quote(ch.Name), indexPath(p+".channels", j))
		} else {
			names[ch.Name] = i
		}
		kind, ok := KnownChannelKinds[ch.Type]
		switch {
		case ch.Type == "":
			errs.add(cp+".type", "required (want %s)", oneOf(kinds...))
			continue
		case !ok:
			errs.add(cp+".type", "unknown type %s (want %s)", quote(ch.Type), oneOf(kinds...))
			continue
		}
		for _, fe := range kind.Validate(ch) {
			errs.add(cp+"."+fe.Path, "%s", fe.Msg)
		}
		if ch.Rate != "" {
			if _, _, err := ParseRate(ch.Rate); err != nil {
				errs.add(cp+".rate", "%v", err)
			}
		}
	}
	channel := func(path, name string) {
		if _, ok := names[name]; !ok {
			errs.add(path, "unknown channel %s", quote(name))
		}
	}
	people := map[string]int{}
	for i := range d.People {
		pp := indexPath(p+".people", i)
		pr := &d.People[i]
		checkID(errs, pp+".id", pr.ID)
		if j, dup := people[pr.ID]; dup && pr.ID != "" {
			errs.add(pp+".id", "duplicate person %s (first at %s)", quote(pr.ID), indexPath(p+".people", j))
		} else {
			people[pr.ID] = i
		}
		checkName(errs, pp+".name", pr.Name)
		if pr.Email != "" {
			if _, err := mail.ParseAddress(pr.Email); err != nil {
				errs.add(pp+".email", "invalid address %s", quote(pr.Email))
			}
		}
		for j, ch := range pr.Channels {
			channel(indexPath(pp+".channels", j), ch)
		}
	}
	rosters := map[string]int{}
	for i := range d.Roster {
		r := &d.Roster[i]
		rp := indexPath(p+".roster", i)
		if _, ok := c.SubCenter(r.SubCenter); !ok {
			errs.add(rp+".sub_center", "unknown sub-center %s", quote(r.SubCenter))
		}
		if j, dup := rosters[r.SubCenter]; dup {
			errs.add(rp+".sub_center", "a second roster for %s (first at %s)", quote(r.SubCenter), indexPath(p+".roster", j))
		} else {
			rosters[r.SubCenter] = i
		}
		if len(r.Levels) == 0 {
			errs.add(rp+".levels", "required: at least one level")
		}
		for j := range r.Levels {
			l := &r.Levels[j]
			lp := indexPath(rp+".levels", j)
			checkName(errs, lp+".name", l.Name)
			for k, ch := range l.Channels {
				channel(indexPath(lp+".channels", k), ch)
			}
			for k := range l.Shifts {
				s := &l.Shifts[k]
				sp := indexPath(lp+".shifts", k)
				if _, err := ParseDays(s.Days); err != nil {
					errs.add(sp+".days", "%v", err)
				}
				if _, err := ParseClock(s.From, false); err != nil {
					errs.add(sp+".from", "%v", err)
				}
				if _, err := ParseClock(s.To, true); err != nil {
					errs.add(sp+".to", "%v", err)
				}
				if len(s.People) == 0 {
					errs.add(sp+".people", "required: who is on duty")
				}
				for m, who := range s.People {
					if _, ok := people[who]; !ok {
						errs.add(indexPath(sp+".people", m), "unknown person %s", quote(who))
					}
				}
			}
			if len(l.Channels) == 0 && len(l.Shifts) == 0 {
				errs.add(lp, "reaches nobody: set channels or shifts")
			}
		}
	}
}

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseDays reads a shift's days — "all", "mon-fri", "sat,sun", "mon,wed-fri"
// — as a set of weekdays.
func ParseDays(s string) ([7]bool, error) {
	var days [7]bool
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "all" || s == "" {
		for i := range days {
			days[i] = true
		}
		return days, nil
	}
	day := func(d string) (int, error) {
		i := slices.Index(weekdays, strings.TrimSpace(d))
		if i < 0 {
			return 0, fmt.Errorf("unknown day %s in %s (want mon … sun, ranges like mon-fri, or all)", quote(d), quote(s))
		}
		return i, nil
	}
	for _, part := range strings.Split(s, ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, err := day(from)
		if err != nil {
			return days, err
		}
		b := a
		if isRange {
			if b, err = day(to); err != nil {
				return days, err
			}
		}
		for i := a; ; i = (i + 1) % 7 {
			days[i] = true
			if i == b {
				break
			}
		}
	}
	return days, nil
}

// ParseClock reads a time of day "HH:MM" as the time since midnight;
// "24:00" is allowed when end is true.
func ParseClock(s string, end bool) (time.Duration, error) {
	if end && s == "24:00" {
		return 24 * time.Hour, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("invalid time of day %s (want HH:MM, like 08:30)", quote(s))
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}
