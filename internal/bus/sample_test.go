package bus

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
)

func testSample(participant string, seq uint64) sample.Sample {
	return sample.Sample{
		Probe: "sc-1@host", Location: "sc-1", Session: "S-1", Room: "hall-1",
		Transport: sample.TransportWS, Participant: participant, Seq: seq,
		WindowStart: time.Date(2026, 11, 2, 9, 30, 0, 123456789, time.UTC).Add(time.Duration(seq) * time.Second),
		WindowMS:    1000, Connected: true, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: 1.25, RTTMaxMS: 2.5,
	}
}

func TestSampleRoundTrip(t *testing.T) {
	in := testSample("hall-1/ws-1/ab.1", 7)
	in.Error = "read: connection reset"
	data, err := EncodeSample(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"window_start":"2026-11-02T09:30:07.123456789Z"`)) {
		t.Errorf("window_start not RFC 3339 with nanoseconds: %s", data)
	}
	out, err := DecodeSample(map[string]any{FieldSample: string(data)})
	if err != nil {
		t.Fatal(err)
	}
	if !out.WindowStart.Equal(in.WindowStart) {
		t.Errorf("window_start %v, want %v", out.WindowStart, in.WindowStart)
	}
	out.WindowStart = in.WindowStart
	if out != in {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

func TestDecodeSampleBad(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"no field", map[string]any{"x": "{}"}, `no "sample" field`},
		{"wrong type", map[string]any{FieldSample: 3}, "is a int"},
		{"not json", map[string]any{FieldSample: "{"}, "unexpected EOF"},
		{"array", map[string]any{FieldSample: "[]"}, "cannot unmarshal array"},
		{"empty object", map[string]any{FieldSample: "{}"}, "transport: missing"},
		{"no seq", map[string]any{FieldSample: `{"transport":"ws","participant":"p","window_start":"2026-11-02T09:30:00Z"}`}, "seq: missing"},
		{"bad time", map[string]any{FieldSample: `{"transport":"ws","participant":"p","seq":1,"window_start":"yesterday"}`}, "cannot parse"},
		{"trailing", map[string]any{FieldSample: `{"transport":"ws","participant":"p","seq":1,"window_start":"2026-11-02T09:30:00Z"} {}`}, "trailing data"},
		{"negative seq", map[string]any{FieldSample: `{"transport":"ws","participant":"p","seq":-1}`}, "cannot unmarshal number -1"},
		{"huge", map[string]any{FieldSample: `{"error":"` + strings.Repeat("x", maxSampleBytes) + `"}`}, "bytes, more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeSample(tt.values)
			if !errors.Is(err, ErrBadSample) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrBadSample containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeSampleIgnoresUnknownFields(t *testing.T) {
	s, err := UnmarshalSample([]byte(`{"transport":"webrtc","participant":"p","seq":2,"window_start":"2026-11-02T09:30:00Z","future_field":{"a":1}}`))
	if err != nil || s.Seq != 2 || s.Transport != sample.TransportWebRTC {
		t.Fatalf("got %+v, %v", s, err)
	}
}

// FuzzDecodeSample: no input panics, and whatever decodes re-encodes to a
// form that decodes to the same encoding.
func FuzzDecodeSample(f *testing.F) {
	good, _ := EncodeSample(testSample("hall-1/ws-1/ab.1", 1))
	f.Add(good)
	files, _ := filepath.Glob(filepath.Join("testdata", "samples", "*.json"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := UnmarshalSample(data)
		if err != nil {
			if !errors.Is(err, ErrBadSample) {
				t.Fatalf("error not ErrBadSample: %v", err)
			}
			return
		}
		enc, err := EncodeSample(s)
		if err != nil {
			t.Fatalf("decoded sample does not encode: %v", err)
		}
		s2, err := UnmarshalSample(enc)
		if err != nil {
			t.Fatalf("re-encoded sample does not decode: %v\n%s", err, enc)
		}
		enc2, _ := EncodeSample(s2)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
	})
}

// docs/wire-format.md lists every field of a Sample.
func TestWireFormatDocumentsEverySampleField(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "wire-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeFor[sample.Sample]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		if !bytes.Contains(doc, []byte("| `"+name+"`")) && !bytes.Contains(doc, []byte("`, `"+name+"`")) {
			t.Errorf("docs/wire-format.md does not document the Sample field %q", name)
		}
	}
}
