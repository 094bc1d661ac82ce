package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// Reports configures what the watchdog keeps for reports and evidence, and
// how period reports are made and delivered (docs/reports.md): the time
// zone periods follow, how long raw Samples and roll-ups are kept, the key
// that signs sealed periods, the scheduled deliveries, and the targets a
// drill (应急演练) is scored against.
type Reports struct {
	// TimeZone is the IANA zone periods follow: a day, week (from Monday),
	// month, quarter, half-year and year begin at midnight there.
	TimeZone string `yaml:"timezone"`
	// RawRetention is how long raw Samples are kept for evidence (the
	// minutes around a disputed moment); RollupRetention how long the
	// hourly, daily and per-session roll-ups the reports read are kept.
	RawRetention    time.Duration `yaml:"raw_retention"`
	RollupRetention time.Duration `yaml:"rollup_retention"`
	// SigningKey is the Ed25519 private key that signs sealed periods and
	// reports: a file holding the key (a 32-byte seed or 64-byte key, in
	// hex or base64, or PEM-less raw bytes), or "" for none. Reports and
	// exports carry the evidence chain's head either way; a signature lets
	// anyone holding the public key check it without access to Redis.
	SigningKey string `yaml:"signing_key"`
	// Deliver lists the scheduled deliveries of period reports. Chat
	// messages link to the console's copy at console.public_url (no link
	// when it is unset); e-mail carries the report as an attachment.
	Deliver []ReportDelivery `yaml:"deliver"`
	// Drill holds the targets a drill's response is scored against.
	Drill DrillTargets `yaml:"drill"`
}

// ReportDelivery sends the report of each ended period of the given kinds to
// the named dispatch channels: as an attachment by e-mail, as a summary with
// a link to the console's copy on a chat robot.
type ReportDelivery struct {
	// Periods are the period kinds delivered: day, week, month, quarter,
	// half, year.
	Periods []string `yaml:"periods"`
	// Channels are dispatch channel names (dispatch.channels[].name).
	Channels []string `yaml:"channels"`
	// Scope is "city" (the default), "sub-center:<id>" or "room:<id>".
	Scope string `yaml:"scope"`
	// After is how long after a period's end its report is made, so late
	// Samples (an agent's spool replayed) are in it.
	After time.Duration `yaml:"after"`
}

// DrillTargets are how soon, after a drill injects a fault, the response
// should reach each step. Mitigation is also held to the incident's SLA
// class deadline.
type DrillTargets struct {
	Detect      time.Duration `yaml:"detect"`
	Alert       time.Duration `yaml:"alert"`
	Acknowledge time.Duration `yaml:"acknowledge"`
	Mitigate    time.Duration `yaml:"mitigate"`
}

// Report defaults and limits.
const (
	DefaultReportsTimeZone  = "Asia/Shanghai"
	DefaultRawRetention     = 48 * time.Hour
	DefaultRollupRetention  = 400 * 24 * time.Hour
	DefaultDeliverAfter     = 30 * time.Minute
	DefaultDrillDetect      = time.Minute
	DefaultDrillAlert       = 2 * time.Minute
	DefaultDrillAcknowledge = 10 * time.Minute
	DefaultDrillMitigate    = 30 * time.Minute

	minRawRetention    = time.Hour
	minRollupRetention = 24 * time.Hour
)

// PeriodKinds are the calendar period kinds, shortest first.
var PeriodKinds = []string{"day", "week", "month", "quarter", "half", "year"}

// DefaultReports returns the report settings used for every key not written.
func DefaultReports() Reports {
	return Reports{
		TimeZone:        DefaultReportsTimeZone,
		RawRetention:    DefaultRawRetention,
		RollupRetention: DefaultRollupRetention,
		Drill: DrillTargets{
			Detect: DefaultDrillDetect, Alert: DefaultDrillAlert,
			Acknowledge: DefaultDrillAcknowledge, Mitigate: DefaultDrillMitigate,
		},
	}
}

// Location returns the time zone periods follow.
func (r *Reports) Location() *time.Location {
	loc, err := time.LoadLocation(r.TimeZone)
	if err != nil {
		return time.UTC // validate refused it; never reached after Load
	}
	return loc
}

// LoadSigningKey reads the signing key file; nil, nil when none is set.
func (r *Reports) LoadSigningKey() (ed25519.PrivateKey, error) {
	if r.SigningKey == "" {
		return nil, nil
	}
	data, err := os.ReadFile(r.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("reports.signing_key: %w", err)
	}
	key, err := ParseSigningKey(data)
	if err != nil {
		return nil, fmt.Errorf("reports.signing_key: %s: %w", r.SigningKey, err)
	}
	return key, nil
}

// ParseSigningKey reads an Ed25519 private key: a 32-byte seed or a 64-byte
// key, raw or in hex or base64 (surrounding space ignored).
func ParseSigningKey(data []byte) (ed25519.PrivateKey, error) {
	// Text first: a raw key that happens to be valid hex or base64 text is
	// vanishingly unlikely.
	raw := data
	s := strings.TrimSpace(string(data))
	if b, err := hex.DecodeString(s); err == nil && s != "" {
		raw = b
	} else if b, err := base64.StdEncoding.DecodeString(s); err == nil && s != "" {
		raw = b
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		key := ed25519.PrivateKey(raw)
		if !key.Public().(ed25519.PublicKey).Equal(ed25519.NewKeyFromSeed(raw[:32]).Public()) {
			return nil, fmt.Errorf("not an Ed25519 private key: its public half does not match its seed")
		}
		return key, nil
	}
	return nil, fmt.Errorf("not an Ed25519 private key: want a 32-byte seed or a 64-byte key (raw, hex or base64), got %d bytes", len(raw))
}

func (r *Reports) validate(errs *problems, c *Config) {
	const p = "reports"
	if _, err := time.LoadLocation(r.TimeZone); err != nil || r.TimeZone == "" {
		errs.add(p+".timezone", "%q is not a time zone: an IANA name like %s", r.TimeZone, DefaultReportsTimeZone)
	}
	if r.RawRetention < minRawRetention {
		errs.add(p+".raw_retention", "%s is too short: at least %s (evidence of a disputed minute needs its raw Samples)", r.RawRetention, minRawRetention)
	}
	if r.RollupRetention < minRollupRetention {
		errs.add(p+".rollup_retention", "%s is too short: at least %s", r.RollupRetention, minRollupRetention)
	}
	if r.SigningKey != "" {
		if _, err := r.LoadSigningKey(); err != nil {
			errs.add(p+".signing_key", "%v", strings.TrimPrefix(err.Error(), "reports.signing_key: "))
		}
	}
	for i := range r.Deliver {
		d := &r.Deliver[i]
		dp := fmt.Sprintf("%s.deliver[%d]", p, i)
		if len(d.Periods) == 0 {
			errs.add(dp+".periods", "required: one or more of %s", strings.Join(PeriodKinds, ", "))
		}
		for j, k := range d.Periods {
			if !slices.Contains(PeriodKinds, k) {
				errs.add(fmt.Sprintf("%s.periods[%d]", dp, j), "%q is not a period: one of %s", k, strings.Join(PeriodKinds, ", "))
			}
		}
		if len(d.Channels) == 0 {
			errs.add(dp+".channels", "required: the dispatch channels the report goes to")
		}
		for j, name := range d.Channels {
			if _, ok := c.Dispatch.Channel(name); !ok {
				errs.add(fmt.Sprintf("%s.channels[%d]", dp, j), "no dispatch channel is named %q", name)
			}
		}
		if msg := scopeProblem(d.Scope, c); msg != "" {
			errs.add(dp+".scope", "%s", msg)
		}
		if d.After < 0 {
			errs.add(dp+".after", "must not be negative")
		}
	}
	for _, t := range []struct {
		name string
		v    time.Duration
	}{{"detect", r.Drill.Detect}, {"alert", r.Drill.Alert}, {"acknowledge", r.Drill.Acknowledge}, {"mitigate", r.Drill.Mitigate}} {
		if t.v <= 0 {
			errs.add(p+".drill."+t.name, "must be a positive duration, like 1m, got %s", t.v)
		}
	}
}

// scopeProblem says what is wrong with a report scope, "" if nothing:
// "" or "city", "sub-center:<id>", "room:<id>".
func scopeProblem(scope string, c *Config) string {
	kind, id, _ := strings.Cut(scope, ":")
	switch {
	case scope == "" || scope == "city":
		return ""
	case kind == "sub-center":
		if slices.ContainsFunc(c.SubCenters, func(s SubCenter) bool { return s.ID == id }) {
			return ""
		}
		return fmt.Sprintf("no sub-center is named %q", id)
	case kind == "room":
		if slices.ContainsFunc(c.Rooms, func(r Room) bool { return r.ID == id }) {
			return ""
		}
		return fmt.Sprintf("no room is named %q", id)
	}
	return fmt.Sprintf("%q is not a scope: city, sub-center:<id> or room:<id>", scope)
}

// deliverDefaults fills each delivery's defaults.
func (r *Reports) deliverDefaults() {
	for i := range r.Deliver {
		if r.Deliver[i].Scope == "" {
			r.Deliver[i].Scope = "city"
		}
		if r.Deliver[i].After == 0 {
			r.Deliver[i].After = DefaultDeliverAfter
		}
	}
}
