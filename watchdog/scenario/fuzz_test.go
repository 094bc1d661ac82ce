package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bidwatch/bidwatch/internal/config"
)

// FuzzParse feeds the scenario parser arbitrary text: it returns a scenario
// or an error that names what is wrong (a config.FieldError), never panics.
// The seed corpus is testdata/fuzz/FuzzParse and every scenario shipped.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../testdata/scenarios/*.yaml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	city := config.DemoCity()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, t.TempDir(), "fuzz", city)
		if err != nil {
			var fe *config.FieldError
			if !errors.As(err, &fe) && !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("error that names nothing: %v", err)
			}
			return
		}
		if s.Duration <= 0 || s.Tick <= 0 || s.Participants < 1 {
			t.Fatalf("accepted a scenario it cannot run: %+v", s.File)
		}
	})
}
