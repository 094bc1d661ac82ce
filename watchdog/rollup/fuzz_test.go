package rollup

import (
	"reflect"
	"testing"
)

// FuzzDecodeDay: any bytes decode to a day or an error, never a panic; a
// day that decodes packs again into one that decodes to the same hours.
func FuzzDecodeDay(f *testing.F) {
	f.Add([]byte{packDay, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDay(b)
		if err != nil {
			return
		}
		again, err := EncodeDay(d.Base, d.Hours)
		if err != nil {
			t.Fatalf("a decoded day does not pack: %v", err)
		}
		d2, err := DecodeDay(again)
		if err != nil || !reflect.DeepEqual(d2.Hours, d.Hours) {
			t.Fatalf("repacked day differs: %v", err)
		}
	})
}

// FuzzDecodeSession: any bytes decode to a session or an error.
func FuzzDecodeSession(f *testing.F) {
	f.Add([]byte{packSession, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSession(b)
		if err != nil {
			return
		}
		if _, err := DecodeSession(EncodeSession(&s)); err != nil {
			t.Fatalf("a decoded session does not round-trip: %v", err)
		}
	})
}

// FuzzDecodeHealthDay: any bytes decode to health rows or an error, and
// the rows lie within a day of their base.
func FuzzDecodeHealthDay(f *testing.F) {
	f.Add([]byte{packHealth, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := DecodeHealthDay(b)
		if err != nil {
			return
		}
		for _, r := range rows[min(1, len(rows)):] {
			if d := r.Start.Sub(rows[0].Start); d < -maxPackHours*3600e9 || d > maxPackHours*3600e9 {
				t.Fatalf("row %+v is more than a day from the first", r)
			}
		}
	})
}
