package rtc

import "testing"

// TestRTCSideBySide runs the participant tests that mostly wait — on ICE
// timeouts, a simulated network, a late keyframe — at the same time, each
// against its own hall or sender, so the package's wall time is the longest
// of them rather than their sum. Leaks are checked once, after all of them.
func TestRTCSideBySide(t *testing.T) {
	noLeaks(t)
	for _, c := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"KillICE", testRTCKillICE},
		{"CoordinationRoom", testRTCCoordinationRoom},
		{"VNetDelay", testRTCVNetDelay},
		{"VNetLoss", testRTCVNetLoss},
		{"LagFromSenderReports", testRTCLagFromSenderReports},
		{"NoKeyframeInTime", testTruthNoKeyframeInTime},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}
