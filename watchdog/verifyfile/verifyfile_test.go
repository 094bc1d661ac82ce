package verifyfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/bidwatch/bidwatch/watchdog/evidence"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// TestVerifyKinds: a file is told apart by its first bytes; what carries no
// evidence is said so; a CSV export's head line is read, or named as
// changed. (Full exports are verified in watchdog/evidence and through
// `bidwatch verify` in cmd/bidwatch's TestEvidenceAndVerify.)
func TestVerifyKinds(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	res, _, err := Verify([]byte("\ufeff"+incident.CSVHeadPrefix+"n=7 hash="+hash+"\nid,state\nINC-1,open\n"), nil)
	if err != nil || res.Head.N != 7 || res.Head.Hash.String() != hash || res.Records != 1 {
		t.Errorf("CSV export: %+v, %v", res, err)
	}
	_, _, err = Verify([]byte(incident.CSVHeadPrefix+"n=7 hash=nothex\nid\n"), nil)
	var p *evidence.Problem
	if !errors.As(err, &p) || p.What != evidence.Changed {
		t.Errorf("a CSV export with a bad head: %v, want it named changed", err)
	}
	for _, data := range []string{"", "hello", "{}", `{"format":"something-else"}`, "[1,2"} {
		if _, _, err := Verify([]byte(data), nil); err == nil {
			t.Errorf("%q verified", data)
		}
	}
	if _, _, err := Verify([]byte(`{"evidence":{"error":"redis unreachable"}}`), nil); !errors.As(err, &p) || p.What != evidence.Removed {
		t.Errorf("a report made without its head: %v, want it said", err)
	}
}
