package report

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// Version names the report's JSON format.
const Version = "bidwatch-report/1"

// Lister lists the incidents opened in a period (incident.Store has it).
type Lister interface {
	List(ctx context.Context, f incident.Filter) ([]incident.Incident, error)
}

// Sources is what a report is built from.
type Sources struct {
	// Config gives the topology (rooms, sub-centers, servers) and the
	// city's name; required.
	Config *config.Config
	// Rollups are the roll-ups of Samples and health readings; required.
	Rollups rollup.Reader
	// Incidents are the fault records; nil reports none.
	Incidents Lister
	// EvidenceHead, when set, returns the evidence chain's head for the
	// report's evidence block (the cmd wiring fills it from
	// watchdog/evidence). An error is shown in the block, not returned.
	EvidenceHead func(ctx context.Context) (Evidence, error)
	// IsDrill, when set, tells an emergency drill's incidents (应急演练)
	// from real ones: they are listed apart and kept out of the figures.
	IsDrill func(inc *incident.Incident) bool
}

// Request is what to report on.
type Request struct {
	Period Period
	// Scope is "city" (or ""), "sub-center:<id>" or "room:<id>".
	Scope string
	// Now is the report's clock: a period that begins after it is in the
	// future (nothing to report); one that holds it is reported up to it.
	Now time.Time
	// Outcome holds the thresholds a session's outcome is judged by; zero
	// fields take the defaults.
	Outcome Outcome
	// NoCompare leaves the previous period out.
	NoCompare bool
}

// Outcome holds the thresholds that judge a session (开标场次) as bidders
// saw it: disrupted when the participants were down for more than
// DisruptedDown of the observed time; else degraded when down or degraded
// for more than DegradedShare of it; else ok.
type Outcome struct {
	DisruptedDown float64 `json:"disrupted_down"`
	DegradedShare float64 `json:"degraded_share"`
}

// The default outcome thresholds.
const (
	DefaultDisruptedDown = 0.01
	DefaultDegradedShare = 0.05
)

func (o Outcome) withDefaults() Outcome {
	if o.DisruptedDown <= 0 {
		o.DisruptedDown = DefaultDisruptedDown
	}
	if o.DegradedShare <= 0 {
		o.DegradedShare = DefaultDegradedShare
	}
	return o
}

// Num is a figure that may be missing (NaN: nothing measured); JSON writes a
// missing one as null.
type Num float64

// MarshalJSON writes the number, or null when it is NaN or infinite.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number or null (NaN).
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*n = Num(f)
	return err
}

// Valid reports whether the figure was measured.
func (n Num) Valid() bool { return !math.IsNaN(float64(n)) && !math.IsInf(float64(n), 0) }

// Report is a period report's figures.
type Report struct {
	Version string `json:"version"`
	// Title is the report's title: "2026年12月 运维月报 — 扬州市（全市）".
	Title     string    `json:"title"`
	City      string    `json:"city"`
	Scope     Scope     `json:"scope"`
	Period    Period    `json:"period"`
	PeriodID  string    `json:"period_id"`
	TimeZone  string    `json:"timezone"`
	Generated time.Time `json:"generated"`
	// Until is where the figures end: the period's end, or Now while the
	// period is under way.
	Until time.Time `json:"until"`
	// Empty is set when there is nothing to report (a future period, or no
	// data and no incidents); Notice says why, in Chinese. Notice also says
	// when a period is still under way.
	Empty  bool   `json:"empty"`
	Notice string `json:"notice,omitempty"`
	// Outcome are the thresholds sessions were judged by.
	Outcome Outcome `json:"outcome_thresholds"`

	Summary Headline `json:"summary"`
	// Previous is the previous period's headline and Changes the change
	// of each figure (nil with NoCompare).
	Previous *Previous `json:"previous,omitempty"`

	Sessions    Sessions    `json:"sessions"`
	SubCenters  []Area      `json:"sub_centers"`
	Rooms       []Area      `json:"rooms"`
	Series      []Point     `json:"series"`
	SeriesStep  string      `json:"series_step"` // "hour" or "day"
	Incidents   Incidents   `json:"incidents"`
	Remediation Remediation `json:"remediation"`
	Patrol      []Patrol    `json:"patrol"`
	Health      []Server    `json:"health"`
	Worst       []Area      `json:"worst_rooms"`
	Recurring   []Recurring `json:"recurring"`
	RepeatRooms []RoomCount `json:"repeat_rooms"`
	Evidence    *Evidence   `json:"evidence,omitempty"`
}

// Scope is what the report covers.
type Scope struct {
	// Kind is city, sub-center or room; ID the sub-center's or room's id.
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
	// Name is the scope in Chinese: 全市, the sub-center's or room's name.
	Name string `json:"name"`
}

// Figures are what bidders saw over some time and place.
type Figures struct {
	Samples    int64 `json:"samples"`
	ObservedMS int64 `json:"observed_ms"`
	DownMS     int64 `json:"down_ms"`
	DegradedMS int64 `json:"degraded_ms"`
	// Availability is 1 − down/observed; GoodShare 1 − (down+degraded)/observed.
	Availability Num `json:"availability"`
	GoodShare    Num `json:"good_share"`
	// RTT percentiles of the windows' median round trips (ms), from merged
	// histograms (within one 10 % bucket), and their mean.
	RTTP50  Num `json:"rtt_p50_ms"`
	RTTP95  Num `json:"rtt_p95_ms"`
	RTTP99  Num `json:"rtt_p99_ms"`
	RTTMean Num `json:"rtt_mean_ms"`
	// StutterMin is the stutter (freeze) time in minutes; Freezes the
	// episodes.
	StutterMin Num   `json:"stutter_min"`
	Freezes    int64 `json:"freezes"`
	Dropouts   int64 `json:"dropouts"`
	Reconnects int64 `json:"reconnects"`
}

// figures turns merged Stats into Figures.
func figures(st *rollup.Stats) Figures {
	return Figures{
		Samples: st.Samples, ObservedMS: st.ObservedMS, DownMS: st.DownMS, DegradedMS: st.DegradedMS,
		Availability: Num(st.Availability()), GoodShare: Num(st.GoodShare()),
		RTTP50: Num(st.RTT.Quantile(0.50)), RTTP95: Num(st.RTT.Quantile(0.95)), RTTP99: Num(st.RTT.Quantile(0.99)),
		RTTMean:    Num(st.RTTMeanMS()),
		StutterMin: Num(float64(st.FreezeMS) / 60000),
		Freezes:    st.Freezes, Dropouts: st.Dropouts, Reconnects: st.Reconnects,
	}
}

// Area is the figures of one room or sub-center.
type Area struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// SubCenter is a room's hosting sub-center (its name); Rooms a
	// sub-center's rooms with data.
	SubCenter string `json:"sub_center,omitempty"`
	Rooms     int    `json:"rooms,omitempty"`
	Figures
	Sessions  int `json:"sessions"`
	Incidents int `json:"incidents"`
}

// Point is one hour's or day's figures of the whole scope, for the charts.
type Point struct {
	At time.Time `json:"at"`
	Figures
}

// Headline is a period's main figures, the ones compared with the
// previous period.
type Headline struct {
	Figures
	Sessions   int `json:"sessions"`
	Disrupted  int `json:"sessions_disrupted"`
	Incidents  int `json:"incidents"`
	Breaches   int `json:"breaches"`
	Compliance Num `json:"sla_compliance"`
	MTTAS      Num `json:"mtta_s"`
	MTTRS      Num `json:"mttr_s"`
	// RemedySuccess is the share of automatic remediation attempts the
	// probes verified.
	RemedySuccess Num `json:"remedy_success"`
	// PatrolCoverage is the share of room-hours a patrol checked.
	PatrolCoverage Num `json:"patrol_coverage"`
}

// Previous is the previous period's headline and how each figure changed.
type Previous struct {
	Period  Period   `json:"period"`
	Name    string   `json:"name"`
	Summary Headline `json:"summary"`
	Changes []Change `json:"changes"`
}

// Change is one headline figure now and in the previous period.
type Change struct {
	Figure string `json:"figure"`
	// Name is the figure in Chinese.
	Name string `json:"name"`
	Unit string `json:"unit"`
	Now  Num    `json:"now"`
	Prev Num    `json:"prev"`
	// Delta is Now − Prev (NaN when either is missing); Better says
	// whether the change is for the better (false when Delta is 0 or NaN).
	Delta  Num  `json:"delta"`
	Better bool `json:"better"`
	Worse  bool `json:"worse"`
}

// Evidence is the evidence chain's head when the report was made, so the
// report can be checked against the chain (bidwatch verify reads
// "evidence"."head" as it reads an export's head).
type Evidence struct {
	Head EvidenceHead `json:"head"`
	// Error says why the head could not be read.
	Error string `json:"error,omitempty"`
}

// EvidenceHead is the chain's last entry, its number and hash (hex), as
// watchdog/evidence.Head writes it: when a signing key is set
// (reports.signing_key), signed with it at At.
type EvidenceHead struct {
	N         int64     `json:"n"`
	Hash      string    `json:"hash"`
	At        time.Time `json:"at,omitzero"`
	KeyID     string    `json:"key_id,omitempty"`
	PublicKey []byte    `json:"public_key,omitempty"`
	Signature []byte    `json:"signature,omitempty"`
}
