package vocab

import (
	"slices"
	"testing"
)

func TestWords(t *testing.T) {
	if got := CauseServer.Key("yz-media-1"); got != "server:yz-media-1" {
		t.Errorf("key %q", got)
	}
	for _, c := range Causes {
		if c.Incident() == (c == CauseProbe) {
			t.Errorf("%s: incident %v", c, c.Incident())
		}
		if c.Chinese() == string(c) {
			t.Errorf("%s has no Chinese name", c)
		}
	}
	tests := []struct {
		a, b, worse Severity
	}{
		{SeverityDegraded, SeverityCritical, SeverityCritical},
		{SeverityCritical, SeverityDegraded, SeverityCritical},
		{"", SeverityDegraded, SeverityDegraded},
		{SeverityDegraded, "", SeverityDegraded},
	}
	for _, tt := range tests {
		if got := Worse(tt.a, tt.b); got != tt.worse {
			t.Errorf("Worse(%q, %q) = %q", tt.a, tt.b, got)
		}
	}
	for i, c := range Classes {
		if c.Rank() != i || c.Chinese() == string(c) {
			t.Errorf("%s: rank %d, %s", c, c.Rank(), c.Chinese())
		}
	}
	if Class("critical").Rank() != -1 {
		t.Error("an unknown class ranks")
	}
	if !slices.Equal(Strings(IncidentKinds), []string{"latency", "stutter", "dropout", "server_down", "saturation"}) {
		t.Errorf("incident kinds %v", IncidentKinds)
	}
	for _, k := range Kinds {
		if k.FromSamples() && k.FromHealth() {
			t.Errorf("%s from both", k)
		}
	}
	if !ViewDown.Bad() || !ViewDegraded.Bad() || ViewUnknown.Bad() || ViewOK.Bad() {
		t.Error("views")
	}
}
