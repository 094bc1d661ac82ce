package probe

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeRecord: any line either decodes to an entry whose JSON is the
// line's (checksum intact) or fails with ErrCorrupt; it never panics, and a
// record written by appendRecord always decodes back.
func FuzzDecodeRecord(f *testing.F) {
	e := entry(f, "hall-1/ws-1/ab.3", 42)
	f.Add(bytes.TrimSuffix(appendRecord(nil, e.Data), []byte{'\n'}), false)
	f.Add(e.Data, true)
	f.Add([]byte("00000000 {}"), false)
	f.Add([]byte("zzzzzzzz {\"participant\":\"x\",\"seq\":1}"), false)
	f.Add([]byte(""), false)
	f.Fuzz(func(t *testing.T, line []byte, legacy bool) {
		got, err := decodeRecord(line, legacy)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if got.Participant == "" || got.Seq == 0 {
			t.Fatalf("decoded %+v without participant or seq", got)
		}
		if !legacy && !bytes.Equal(line[9:], got.Data) {
			t.Fatalf("data %q is not the line's JSON", got.Data)
		}
		rec := appendRecord(nil, got.Data)
		back, err := decodeRecord(rec[:len(rec)-1], false)
		if err != nil || back.Seq != got.Seq || back.Participant != got.Participant {
			t.Fatalf("re-encoded record decodes to %+v, %v", back, err)
		}
	})
}
