package health

import "time"

// Reading is the outcome of one health check of one server: whether it
// passed, how long it took, and the named readings it produced (cpu_pct,
// db_conns_pct, tls_expiry_days, …). It is what the detectors consume and
// what is kept in Redis for the console.
type Reading struct {
	// Server is the server's id; Check names the check within the server:
	// its type and index in the server's health list ("http[0]").
	Server string `json:"server"`
	Check  string `json:"check"`
	Kind   string `json:"kind"`
	// Target is the URL or address checked.
	Target string    `json:"target"`
	At     time.Time `json:"at"`
	// OK is true when the check passed.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// LatencyMS is how long the check took.
	LatencyMS float64 `json:"latency_ms"`
	// Status is the HTTP status, for http and prometheus checks.
	Status int `json:"status,omitempty"`
	// TLSExpiry is when the server's certificate expires, for https.
	TLSExpiry time.Time `json:"tls_expiry,omitzero"`
	// Values are the named readings: the metrics a prometheus check maps,
	// and tls_expiry_days for an https check.
	Values map[string]float64 `json:"values,omitempty"`
}
