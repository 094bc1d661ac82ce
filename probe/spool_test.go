package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
)

func entry(t testing.TB, participant string, seq uint64) bus.Entry {
	t.Helper()
	e, err := bus.NewEntry(sample.Sample{Probe: "p", Transport: "ws", Participant: participant, Seq: seq,
		WindowStart: time.Unix(int64(seq), 0).UTC(), WindowMS: 1000, Connected: true})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// drain peeks and acks everything, n at a time, and returns the seqs of
// participant "a" in the order they came.
func drain(t *testing.T, s *Spool, n int) []uint64 {
	t.Helper()
	var out []uint64
	for range 100000 {
		batch := s.Peek(n)
		if len(batch) == 0 {
			return out
		}
		for _, e := range batch {
			out = append(out, e.Seq)
		}
		s.Ack(len(batch))
	}
	t.Fatal("spool does not drain")
	return nil
}

func appendSeqs(t *testing.T, s *Spool, from, to uint64) {
	t.Helper()
	for seq := from; seq <= to; seq++ {
		s.Append(entry(t, "a", seq))
	}
}

func checkSeqs(t *testing.T, got []uint64, from, to uint64) {
	t.Helper()
	if uint64(len(got)) != to-from+1 {
		t.Fatalf("got %d entries, want %d (%v…)", len(got), to-from+1, got[:min(len(got), 10)])
	}
	for i, s := range got {
		if s != from+uint64(i) {
			t.Fatalf("entry %d has seq %d, want %d", i, s, from+uint64(i))
		}
	}
}

func openSpool(t *testing.T, opts SpoolOptions) *Spool {
	t.Helper()
	s, err := OpenSpool(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSpoolOrderThroughMemoryAndDisk(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, SpoolOptions{Dir: dir, SegmentBytes: 4096, MemEntries: 50})
	defer s.Close()

	appendSeqs(t, s, 1, 10)
	if files(t, dir) != 1 {
		t.Errorf("%d segment files after appending: every record is written ahead", files(t, dir))
	}
	if got := s.Peek(3); len(got) != 3 || got[0].Seq != 1 {
		t.Fatalf("Peek = %v", got)
	}
	if got := s.Peek(3); got[0].Seq != 1 {
		t.Fatal("Peek without Ack moved on")
	}
	// Redis fails with 1..3 in flight; more than memory holds comes in:
	// the oldest are read back from disk.
	appendSeqs(t, s, 11, 200)
	if files(t, dir) < 2 {
		t.Errorf("expected rotation into several segments, got %d files", files(t, dir))
	}
	if d := s.Depth(); d != 200 {
		t.Errorf("Depth = %d, want 200", d)
	}
	s.Ack(3) // the in-flight batch went through after all
	got := drain(t, s, 7)
	checkSeqs(t, got, 4, 200)
	if files(t, dir) != 0 {
		t.Errorf("%d segment files left after draining", files(t, dir))
	}
	appendSeqs(t, s, 201, 205)
	checkSeqs(t, drain(t, s, 100), 201, 205)
	appendSeqs(t, s, 206, 400)
	checkSeqs(t, drain(t, s, 64), 206, 400)
	if s.Dropped() != 0 || s.Corrupt() != 0 {
		t.Errorf("Dropped = %d, Corrupt = %d", s.Dropped(), s.Corrupt())
	}
}

func files(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "seg-*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "seg-*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSpoolSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, SpoolOptions{Dir: dir, SegmentBytes: 2048})
	appendSeqs(t, s, 1, 150)
	got := s.Peek(30)
	s.Ack(20) // 21..30 read but not acknowledged
	if got[0].Seq != 1 {
		t.Fatal(got[0].Seq)
	}
	appendSeqs(t, s, 151, 160)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openSpool(t, SpoolOptions{Dir: dir, SegmentBytes: 2048})
	defer s2.Close()
	if d := s2.Depth(); d != 140 {
		t.Errorf("Depth after restart = %d, want 140", d)
	}
	if r := s2.Replay(); r.Records != 140 || r.Torn {
		t.Errorf("Replay = %+v, want 140 records, no torn tail", r)
	}
	checkSeqs(t, drain(t, s2, 25), 21, 160)
	if s2.Replayed() != 140 {
		t.Errorf("Replayed = %d, want 140", s2.Replayed())
	}
}

// TestSpoolKilledLosesNothing: no Close (a SIGKILL): every record appended
// is replayed by the next run, whatever the fsync policy.
func TestSpoolKilledLosesNothing(t *testing.T) {
	for _, p := range FsyncPolicies {
		t.Run(string(p), func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, SpoolOptions{Dir: dir, Fsync: p, SegmentBytes: 4096})
			appendSeqs(t, s, 1, 100)
			s.Ack(len(s.Peek(10))) // 1..10 published
			kill(s)
			s2 := openSpool(t, SpoolOptions{Dir: dir, Fsync: p})
			defer s2.Close()
			// Without a position the published ones come again: the
			// idempotent publish skips them.
			got := drain(t, s2, 33)
			if len(got) < 90 || got[len(got)-1] != 100 {
				t.Fatalf("replayed %d records ending %v, want at least 11..100", len(got), got[len(got)-1:])
			}
			checkSeqs(t, got, 101-uint64(len(got)), 100)
		})
	}
}

// kill leaves s as a killed process would: no Close. (Only the everysec
// syncer goroutine is stopped, for the leak check.)
func kill(s *Spool) {
	if s.stop != nil {
		close(s.stop)
		<-s.stopped
		s.stop = nil
	}
}

func TestSpoolCrashLeavesCutLine(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, SpoolOptions{Dir: dir})
	appendSeqs(t, s, 1, 5)
	kill(s)
	// Simulate a crash in the middle of writing the sixth record.
	name := segFiles(t, dir)
	f, err := os.OpenFile(name[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`1234abcd {"probe":"p","transport":"ws","partic`)
	f.Close()

	s2 := openSpool(t, SpoolOptions{Dir: dir})
	defer s2.Close()
	if r := s2.Replay(); !r.Torn || r.Records != 5 {
		t.Errorf("Replay = %+v, want a torn tail and 5 records", r)
	}
	checkSeqs(t, drain(t, s2, 100), 1, 5)
	if s2.Dropped() != 0 || s2.Corrupt() != 0 {
		t.Errorf("Dropped = %d, Corrupt = %d: a torn tail is reported as torn, not as a lost sample", s2.Dropped(), s2.Corrupt())
	}
}

// TestSpoolCorruptRecords: damaged lines in the middle of a segment are
// skipped and counted as corrupt; every intact record comes out, and a
// damaged seq never reaches the publisher.
func TestSpoolCorruptRecords(t *testing.T) {
	tests := []struct {
		name   string
		damage func(line []byte) []byte
	}{
		{"truncated", func(l []byte) []byte { return l[:len(l)/2] }},
		{"garbage", func([]byte) []byte { return []byte("\x00\x17 not a record at all") }},
		{"flipped seq", func(l []byte) []byte {
			return bytes.Replace(l, []byte(`"seq":20,`), []byte(`"seq":90,`), 1)
		}},
		{"empty", func([]byte) []byte { return nil }},
		{"valid JSON, no checksum", func(l []byte) []byte { return l[9:] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, SpoolOptions{Dir: dir})
			appendSeqs(t, s, 1, 40)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			name := segFiles(t, dir)[0]
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
			lines[19] = tt.damage(lines[19]) // seq 20
			if err := os.WriteFile(name, append(bytes.Join(lines, []byte("\n")), '\n'), 0o640); err != nil {
				t.Fatal(err)
			}

			s2 := openSpool(t, SpoolOptions{Dir: dir})
			defer s2.Close()
			got := drain(t, s2, 7)
			want := []uint64{}
			for seq := uint64(1); seq <= 40; seq++ {
				if seq != 20 {
					want = append(want, seq)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("got %v\nwant %v", got, want)
			}
			if s2.Corrupt() != 1 || s2.Dropped() != 0 {
				t.Errorf("Corrupt = %d, Dropped = %d; want 1 corrupt, none dropped", s2.Corrupt(), s2.Dropped())
			}
		})
	}
}

func TestSpoolLegacySegment(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	for seq := uint64(1); seq <= 5; seq++ {
		buf.Write(entry(t, "a", seq).Data)
		buf.WriteByte('\n')
	}
	buf.WriteString("{\"not\":\"a sample\"}\n")
	if err := os.WriteFile(filepath.Join(dir, "seg-0000000000000007.jsonl"), buf.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	s := openSpool(t, SpoolOptions{Dir: dir})
	defer s.Close()
	appendSeqs(t, s, 6, 8) // after the old segment
	checkSeqs(t, drain(t, s, 4), 1, 8)
	if s.Corrupt() != 1 {
		t.Errorf("Corrupt = %d, want 1", s.Corrupt())
	}
}

func TestSpoolFullDropsOldestAndCounts(t *testing.T) {
	dir := t.TempDir()
	one := int64(len(entry(t, "a", 1000).Data) + recordOverhead)
	s := openSpool(t, SpoolOptions{Dir: dir, MaxBytes: 100 * one, SegmentBytes: 10 * one, MemEntries: 20})
	defer s.Close()
	appendSeqs(t, s, 1000, 1499) // 500 entries into room for ~100
	if s.Dropped() == 0 {
		t.Fatal("nothing dropped")
	}
	if b := s.DiskBytes(); b > 100*one {
		t.Errorf("spool holds %d bytes, more than MaxBytes %d", b, 100*one)
	}
	got := drain(t, s, 50)
	if int64(len(got))+s.Dropped() != 500 {
		t.Errorf("kept %d + dropped %d != 500 appended", len(got), s.Dropped())
	}
	// The newest are kept, in order, with no hole among them.
	checkSeqs(t, got, 1500-uint64(len(got)), 1499)
}

func TestSpoolMemoryOnly(t *testing.T) {
	s := openSpool(t, SpoolOptions{MemEntries: 10})
	defer s.Close()
	appendSeqs(t, s, 1, 25)
	if s.Dropped() != 15 {
		t.Errorf("Dropped = %d, want 15", s.Dropped())
	}
	checkSeqs(t, drain(t, s, 4), 16, 25)
}

func TestSpoolBadFsyncPolicy(t *testing.T) {
	if _, err := OpenSpool(SpoolOptions{Dir: t.TempDir(), Fsync: "sometimes"}); err == nil || !strings.Contains(err.Error(), `"sometimes"`) {
		t.Errorf("err = %v, want one naming the policy", err)
	}
}

// BenchmarkSpoolAppend is the cost of writing one Sample ahead, by fsync
// policy (one Append per Sample, as runners do).
func BenchmarkSpoolAppend(b *testing.B) {
	for _, p := range FsyncPolicies {
		b.Run(string(p), func(b *testing.B) {
			s, err := OpenSpool(SpoolOptions{Dir: b.TempDir(), Fsync: p})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			e := entry(b, "a", 1)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s.Append(e)
				if i%256 == 255 {
					s.Ack(len(s.Peek(256)))
				}
			}
		})
	}
}

func BenchmarkSpoolAppendPeekAck(b *testing.B) {
	s, err := OpenSpool(SpoolOptions{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	e := entry(b, "a", 1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Append(e)
		if i%256 == 255 {
			s.Ack(len(s.Peek(256)))
		}
	}
}

func TestIdentity(t *testing.T) {
	good := entry(t, "hall-1/ws-1/ab.3", 42)
	tests := []struct {
		name        string
		line        string
		probe, part string
		seq         uint64
		ok          bool
	}{
		{"marshalled", string(good.Data), "p", "hall-1/ws-1/ab.3", 42, true},
		{"all identity", `{"probe":"a","location":"l","session":"s","room":"r","transport":"ws","participant":"x","seq":7,"window_start":"2026-11-02T09:30:00Z"}`, "a", "x", 7, true},
		{"seq last", `{"participant":"x","seq":7}`, "", "x", 7, true},
		{"escaped", `{"probe":"a\"b","participant":"x","seq":7}`, "", "", 0, false},
		{"spaces", `{"participant": "x","seq":7}`, "", "", 0, false},
		{"order", `{"seq":7,"participant":"x"}`, "", "", 0, false},
		{"zero seq", `{"participant":"x","seq":0}`, "", "", 0, false},
		{"cut", `{"participant":"x","seq":7`, "", "", 0, false},
		{"huge seq", `{"participant":"x","seq":99999999999999999999}`, "", "", 0, false},
		{"number before seq", `{"participant":"x","window_ms":1000,"seq":7}`, "", "", 0, false},
		{"empty", ``, "", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probe, part, seq, ok := identity([]byte(tt.line))
			if ok != tt.ok || probe != tt.probe || part != tt.part || seq != tt.seq {
				t.Errorf("identity = %q %q %d %v, want %q %q %d %v", probe, part, seq, ok, tt.probe, tt.part, tt.seq, tt.ok)
			}
		})
	}
}

// FuzzIdentity: on whatever json.Marshal writes for a Sample — the only
// lines the fast path reads — identity either declines or agrees with the
// JSON decoder.
func FuzzIdentity(f *testing.F) {
	f.Add("sc-1@host", "hall-1/ws-1/ab.3", "S-1", uint64(7))
	f.Add(`a"b<>&`, "日本/ws-1", "", uint64(1))
	f.Fuzz(func(t *testing.T, probe, participant, session string, seq uint64) {
		line, err := json.Marshal(sample.Sample{Probe: probe, Session: session, Transport: "ws", Participant: participant, Seq: seq})
		if err != nil {
			return
		}
		var id struct { // what a reader of the stream will see
			Probe       string `json:"probe"`
			Participant string `json:"participant"`
			Seq         uint64 `json:"seq"`
		}
		if err := json.Unmarshal(line, &id); err != nil {
			t.Fatal(err)
		}
		p, part, n, ok := identity(line)
		if ok && (p != id.Probe || part != id.Participant || n != id.Seq) {
			t.Fatalf("identity %q %q %d from %s", p, part, n, line)
		}
		if !ok && seq != 0 && participant != "" && !bytes.ContainsRune(line, '\\') {
			t.Fatalf("identity declined a plain line: %s", line)
		}
	})
}

func TestFsyncPoliciesMatchConfig(t *testing.T) {
	var got []string
	for _, p := range FsyncPolicies {
		got = append(got, string(p))
	}
	if fmt.Sprint(got) != fmt.Sprint(config.SpoolFsyncPolicies) {
		t.Errorf("probe.FsyncPolicies %v, config.SpoolFsyncPolicies %v", got, config.SpoolFsyncPolicies)
	}
}
