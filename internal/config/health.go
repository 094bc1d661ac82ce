package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"time"
)

// HealthCheck is one way of telling whether a server is healthy. Which fields
// it takes depends on its Type; see [KnownHealthKinds].
type HealthCheck struct {
	// Type is the kind of check: a key of KnownHealthKinds.
	Type string `yaml:"type"`
	// URL is fetched by http and prometheus checks (http:// or https://).
	URL string `yaml:"url"`
	// Address is dialled by tcp checks (host:port).
	Address string `yaml:"address"`
	// Interval is the time between checks; Timeout bounds one check and is
	// less than Interval.
	Interval time.Duration `yaml:"interval"`
	Timeout  time.Duration `yaml:"timeout"`
	// ExpectStatus is the HTTP status an http check wants (default 200).
	ExpectStatus int `yaml:"expect_status"`
	// BodyMatch, when set, is a regular expression the body of an http
	// check's response must match.
	BodyMatch string `yaml:"body_match"`
	// Metrics maps a reading's name (cpu_pct) to the Prometheus series a
	// prometheus check reads it from (hall_cpu_usage_percent).
	Metrics map[string]string `yaml:"metrics"`
}

// The kinds of health check.
const (
	HealthHTTP       = "http"
	HealthTCP        = "tcp"
	HealthPrometheus = "prometheus"
)

// HealthKind describes one kind of health check to the configuration: what it
// does and which of HealthCheck's fields it takes.
type HealthKind struct {
	// Summary says in one line what the check does.
	Summary string
	// Validate reports problems with the fields the kind takes and with the
	// ones it does not; paths are relative to the check ("url"). Interval and
	// timeout are validated for every kind.
	Validate func(h *HealthCheck) []*FieldError
}

// KnownHealthKinds lists the health-check types a configuration may use. The
// watchdog's collectors implement each of them; adding one is an entry here
// (its fields) and a collector there.
var KnownHealthKinds = map[string]HealthKind{
	HealthHTTP: {
		Summary:  "GET url; healthy when the status is expect_status and the body matches body_match",
		Validate: validateHTTPCheck,
	},
	HealthTCP: {
		Summary:  "connect to address; healthy when the connection opens within timeout",
		Validate: validateTCPCheck,
	},
	HealthPrometheus: {
		Summary:  "scrape url (Prometheus text format); read each series named in metrics",
		Validate: validatePrometheusCheck,
	},
}

func (h *HealthCheck) validate(errs *problems, path string) {
	kind, ok := KnownHealthKinds[h.Type]
	switch {
	case h.Type == "":
		errs.add(path+".type", "required (want %s)", oneOf(slices.Sorted(maps.Keys(KnownHealthKinds))...))
	case !ok:
		errs.add(path+".type", "unknown type %s (want %s)", quote(h.Type), oneOf(slices.Sorted(maps.Keys(KnownHealthKinds))...))
	default:
		errs.under(path, kind.Validate(h))
	}
	positive(errs, path+".interval", h.Interval)
	if h.Timeout <= 0 {
		errs.add(path+".timeout", "must be positive, got %s", h.Timeout)
	} else if h.Interval > 0 && h.Timeout >= h.Interval {
		errs.add(path+".timeout", "must be less than interval (%s), got %s", h.Interval, h.Timeout)
	}
}

func validateHTTPCheck(h *HealthCheck) []*FieldError {
	var out []*FieldError
	out = appendURL(out, "url", h.URL, "http", "https")
	if h.ExpectStatus < 100 || h.ExpectStatus > 599 {
		out = append(out, fieldErr("expect_status", "want an HTTP status (100-599), got %d", h.ExpectStatus))
	}
	if h.BodyMatch != "" {
		if _, err := regexp.Compile(h.BodyMatch); err != nil {
			out = append(out, fieldErr("body_match", "invalid regexp %s: %s", quote(h.BodyMatch), regexpProblem(err)))
		}
	}
	out = unused(out, h, "address", "metrics")
	return out
}

func validateTCPCheck(h *HealthCheck) []*FieldError {
	var out []*FieldError
	if h.Address == "" {
		out = append(out, fieldErr("address", "required (host:port)"))
	} else if msg := addressProblem(h.Address); msg != "" {
		out = append(out, fieldErr("address", "%s", msg))
	}
	return unused(out, h, "url", "expect_status", "body_match", "metrics")
}

var (
	readingName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	seriesName  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
)

func validatePrometheusCheck(h *HealthCheck) []*FieldError {
	var out []*FieldError
	out = appendURL(out, "url", h.URL, "http", "https")
	for _, reading := range slices.Sorted(maps.Keys(h.Metrics)) {
		path := joinPath("metrics", reading)
		switch series := h.Metrics[reading]; {
		case !readingName.MatchString(reading):
			out = append(out, fieldErr(path, "invalid reading name %s (want lowercase letters, digits and _)", quote(reading)))
		case series == "":
			out = append(out, fieldErr(path, "required: the series to read"))
		case !seriesName.MatchString(series):
			out = append(out, fieldErr(path, "invalid series name %s", quote(series)))
		}
	}
	return unused(out, h, "address", "expect_status", "body_match")
}

// unused reports the fields that are set but the check's kind does not take.
func unused(out []*FieldError, h *HealthCheck, fields ...string) []*FieldError {
	set := map[string]bool{
		"url":           h.URL != "",
		"address":       h.Address != "",
		"expect_status": h.ExpectStatus != 0,
		"body_match":    h.BodyMatch != "",
		"metrics":       len(h.Metrics) > 0,
	}
	for _, f := range fields {
		if set[f] {
			out = append(out, fieldErr(f, "not used by %s checks", h.Type))
		}
	}
	return out
}

// appendURL reports a URL that is missing or not one of the schemes.
func appendURL(out []*FieldError, path, raw string, schemes ...string) []*FieldError {
	if raw == "" {
		return append(out, fieldErr(path, "required"))
	}
	if msg := urlProblem(raw, schemes...); msg != "" {
		out = append(out, fieldErr(path, "%s", msg))
	}
	return out
}

// addressProblem says what is wrong with a host:port address, or "".
func addressProblem(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return fmt.Sprintf("invalid address %s (want host:port)", quote(addr))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("invalid port in %s (want 1-65535)", quote(addr))
	}
	return ""
}

// regexpProblem shortens a regexp error to what is wrong: the error itself
// repeats the pattern, which the message already quotes.
func regexpProblem(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return se.Code.String()
	}
	return err.Error()
}

func fieldErr(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}
