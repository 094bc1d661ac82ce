package ws

import (
	"errors"
	"testing"
	"time"
)

func TestParsePointer(t *testing.T) {
	tests := []struct {
		in      string
		want    Pointer
		wantErr bool
	}{
		{in: "", want: Pointer{}},
		{in: "/seq", want: Pointer{"seq"}},
		{in: "/data/0/ts", want: Pointer{"data", "0", "ts"}},
		{in: "/a~1b/c~0d", want: Pointer{"a/b", "c~d"}},
		{in: "seq", wantErr: true},
		{in: "/a~2", wantErr: true},
		{in: "/a~", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePointer(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestMessageFormatParse(t *testing.T) {
	hall := messageFormat{seq: Pointer{"seq"}, ts: Pointer{"ts"}, tsUnit: TSAuto}
	nested := messageFormat{seq: Pointer{"body", "n"}, ts: Pointer{"meta", "sent"}, tsUnit: TSMillis}
	at := time.Date(2026, 11, 28, 9, 30, 0, 123456000, time.UTC)
	tests := []struct {
		name    string
		format  messageFormat
		in      string
		want    message
		wantErr bool
	}{
		{name: "hall event, microseconds", format: hall, in: `{"type":"event","seq":42,"ts":1795858200123456}`,
			want: message{seq: 42, hasSeq: true, ts: at, hasTS: true}},
		{name: "milliseconds by magnitude", format: hall, in: `{"seq":1,"ts":1795858200123}`,
			want: message{seq: 1, hasSeq: true, ts: at.Truncate(time.Millisecond), hasTS: true}},
		{name: "seconds with a fraction", format: hall, in: `{"ts":1795858200.5}`,
			want: message{ts: time.Date(2026, 11, 28, 9, 30, 0, 500000000, time.UTC), hasTS: true}},
		{name: "nanoseconds", format: hall, in: `{"ts":1795858200123456000}`,
			want: message{ts: at, hasTS: true}},
		{name: "RFC 3339", format: hall, in: `{"ts":"2026-11-28T09:30:00.123456Z"}`,
			want: message{ts: at, hasTS: true}},
		{name: "ack without fields", format: hall, in: `{"type":"heartbeat_ack"}`},
		{name: "null fields are absent", format: hall, in: `{"seq":null,"ts":null}`},
		{name: "nested pointers, fixed unit", format: nested, in: `{"body":{"n":7},"meta":{"sent":1795858200123}}`,
			want: message{seq: 7, hasSeq: true, ts: at.Truncate(time.Millisecond), hasTS: true}},
		{name: "no pointers: nothing parsed, even garbage", format: messageFormat{}, in: "\x00\xff not json"},
		{name: "not JSON", format: hall, in: `{"seq":`, wantErr: true},
		{name: "binary garbage", format: hall, in: "\x00\x01\xfe\xff", wantErr: true},
		{name: "two values", format: hall, in: `{"seq":1}{"seq":2}`, wantErr: true},
		{name: "seq is a string", format: hall, in: `{"seq":"42"}`, wantErr: true},
		{name: "seq is negative", format: hall, in: `{"seq":-1}`, wantErr: true},
		{name: "seq is fractional", format: hall, in: `{"seq":1.5}`, wantErr: true},
		{name: "seq is huge", format: hall, in: `{"seq":1e400}`, wantErr: true},
		{name: "ts is a bool", format: hall, in: `{"ts":true}`, wantErr: true},
		{name: "ts is a bad string", format: hall, in: `{"ts":"yesterday"}`, wantErr: true},
		{name: "ts is zero", format: hall, in: `{"ts":0}`, wantErr: true},
		{name: "ts out of range", format: hall, in: `{"ts":1e300}`, wantErr: true},
		{name: "ts string where a number is configured", format: nested, in: `{"meta":{"sent":"2026-11-28T09:30:00Z"}}`, wantErr: true},
		{name: "array document", format: hall, in: `[1,2,3]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.format.parse([]byte(tc.in))
			if tc.wantErr {
				if !errors.Is(err, ErrBadMessage) {
					t.Fatalf("err = %v, want ErrBadMessage", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.seq != tc.want.seq || got.hasSeq != tc.want.hasSeq || got.hasTS != tc.want.hasTS || !got.ts.Equal(tc.want.ts) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzParseMessage feeds hostile frames to the message parser: it must never
// panic, and anything it accepts must be a sane sequence number and time.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"event","room":"room-1","seq":42,"ts":1795858200123456,"kind":"countdown","data":{"remaining_s":30}}`,
		`{"type":"joined","seq":0,"ts":"2026-11-28T09:30:00Z"}`,
		`{"seq":1e400}`, `[{"seq":1}]`, "\x00\xff", `{"ts":-1}`,
	} {
		f.Add([]byte(s))
	}
	formats := []messageFormat{
		{seq: Pointer{"seq"}, ts: Pointer{"ts"}, tsUnit: TSAuto},
		{seq: Pointer{"0", "seq"}, ts: Pointer{"data", "ts"}, tsUnit: TSNanos},
		{ts: Pointer{"ts"}, tsUnit: TSRFC3339},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range formats {
			m, err := format.parse(data)
			if err != nil {
				if !errors.Is(err, ErrBadMessage) {
					t.Fatalf("error %v is not ErrBadMessage", err)
				}
				continue
			}
			if m.hasSeq && m.seq < 0 {
				t.Fatalf("negative seq %d accepted", m.seq)
			}
			if m.hasTS && m.ts.IsZero() {
				t.Fatal("zero timestamp accepted")
			}
		}
	})
}

// BenchmarkParseMessage is the per-event cost of reading a hall event's
// sequence number and timestamp.
func BenchmarkParseMessage(b *testing.B) {
	data := []byte(`{"type":"event","room":"yz-hall-1","seq":4242,"ts":1795858200123456,"kind":"bid_reading","data":{"bidder":"扬州某建设工程有限公司","price_yuan":12345678.5,"duration_days":365}}`)
	f := messageFormat{seq: Pointer{"seq"}, ts: Pointer{"ts"}, tsUnit: TSAuto}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
