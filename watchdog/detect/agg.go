package detect

import (
	"slices"
	"time"
)

// SeriesKey names a series: what one probe sees of one room over one
// transport (all its participants of that transport together).
type SeriesKey struct {
	Room      string `json:"room"`
	Probe     string `json:"probe"`
	Transport string `json:"transport,omitempty"`
}

// Agg sums the Samples of one series in one window (normally 1 s): all its
// participants' measures, reduced to what the detectors need. Aggs of the
// same series and window, made by different watchdog replicas from the
// Samples each read, merge into one.
type Agg struct {
	Room  string `json:"room"`
	Probe string `json:"probe"`
	// Transport is the participants' transport: ws or webrtc.
	Transport string `json:"transport,omitempty"`
	Location  string `json:"location,omitempty"`
	Session   string `json:"session,omitempty"`
	// Window is the start of the samples' window; End the latest end of
	// one of them.
	Window time.Time `json:"window"`
	End    time.Time `json:"end"`
	// Samples counts the Samples summed, one per participant.
	Samples     int     `json:"n"`
	WindowMS    float64 `json:"window_ms,omitempty"`
	ConnectedMS float64 `json:"connected_ms,omitempty"`
	FreezeMS    float64 `json:"freeze_ms,omitempty"`
	FreezeCount int     `json:"freezes,omitempty"`
	Dropouts    int     `json:"dropouts,omitempty"`
	Reconnects  int     `json:"reconnects,omitempty"`
	// Down counts participants that were down in the window: lost their
	// connection, or were connected for less than the dropout rule's share.
	Down     int     `json:"down,omitempty"`
	OutageMS float64 `json:"outage_ms,omitempty"`
	// RTT holds each Sample's median round-trip time, in milliseconds.
	RTT        []float64 `json:"rtt,omitempty"`
	RTTMaxMS   float64   `json:"rtt_max_ms,omitempty"`
	LagMaxMS   float64   `json:"lag_max_ms,omitempty"`
	LossMaxPct float64   `json:"loss_max_pct,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// Key returns the series the Agg belongs to.
func (a *Agg) Key() SeriesKey { return SeriesKey{Room: a.Room, Probe: a.Probe, Transport: a.Transport} }

// Merge adds b, an Agg of the same series and window, into a.
func (a *Agg) Merge(b *Agg) {
	if a.Location == "" {
		a.Location = b.Location
	}
	if a.Session == "" {
		a.Session = b.Session
	}
	if b.End.After(a.End) {
		a.End = b.End
	}
	a.Samples += b.Samples
	a.WindowMS += b.WindowMS
	a.ConnectedMS += b.ConnectedMS
	a.FreezeMS += b.FreezeMS
	a.FreezeCount += b.FreezeCount
	a.Dropouts += b.Dropouts
	a.Reconnects += b.Reconnects
	a.Down += b.Down
	a.OutageMS += b.OutageMS
	a.RTT = append(a.RTT, b.RTT...)
	a.RTTMaxMS = max(a.RTTMaxMS, b.RTTMaxMS)
	a.LagMaxMS = max(a.LagMaxMS, b.LagMaxMS)
	a.LossMaxPct = max(a.LossMaxPct, b.LossMaxPct)
	if b.Error != "" {
		a.Error = b.Error
	}
}

// Percentile returns the p-th percentile (0–100) of xs, interpolating
// between closest ranks (as a spreadsheet's PERCENTILE does): one outlier
// among ten values does not make the 95th percentile. It sorts xs in place;
// it returns 0 for no values.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	rank := p / 100 * float64(len(xs)-1)
	lo := int(rank)
	if lo >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	frac := rank - float64(lo)
	return xs[lo] + frac*(xs[lo+1]-xs[lo])
}
