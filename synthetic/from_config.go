package synthetic

import "github.com/bidwatch/bidwatch/internal/config"

// ThresholdsFrom converts the configuration's verdict thresholds.
func ThresholdsFrom(t config.Thresholds) Thresholds {
	th := DefaultThresholds()
	th.RTTDegraded = t.RTTDegraded
	th.RTTCritical = t.RTTCritical
	th.StutterPct = t.StutterPct
	th.LagDegraded = t.LagDegraded
	th.DownConnectedPct = t.DownConnectedPct
	th.FirstFrameLate = t.FirstFrameLate
	return th
}
