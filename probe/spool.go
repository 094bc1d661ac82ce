package probe

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
)

// Spool defaults.
const (
	DefaultSpoolMaxBytes = 256 << 20
	defaultSegmentBytes  = 8 << 20
	defaultMemEntries    = 16384
)

// SpoolOptions configure OpenSpool.
type SpoolOptions struct {
	// Dir holds the segment files. Empty keeps the spool in memory only
	// (bounded by MemEntries): nothing survives a restart.
	Dir string
	// MaxBytes bounds the segment files together; beyond it the oldest
	// segment is dropped and its Samples counted. Default DefaultSpoolMaxBytes.
	MaxBytes int64
	// SegmentBytes is the size at which a segment is closed (and fsynced) and
	// a new one started; default min(8 MiB, MaxBytes/4).
	SegmentBytes int64
	// MemEntries is how many entries wait in memory while Redis is healthy
	// before they go to disk anyway; default 16384.
	MemEntries int
	Logger     *slog.Logger
}

// Spool is the ordered queue between the participants and Redis. While Redis
// takes what is published, entries pass through memory; once it fails
// (Spill) — or memory fills — entries go to segment files of JSON lines in
// Dir, and stay on disk, in order, until they are published (Ack). A segment
// is fsynced when it is closed. When the files together pass MaxBytes the
// oldest segment is deleted and its unpublished entries are counted as
// dropped: a gap is reported, never hidden. On open the segments left by an
// earlier run are replayed first.
//
// Invariant: entries are handed out by Peek in the order they were appended:
// head (peeked, not yet acknowledged), then disk, then memory; disk and
// memory are never both non-empty.
//
// One goroutine (the sender) calls Peek, Ack, Spill and Healthy; any number
// call Append.
type Spool struct {
	dir        string
	maxBytes   int64
	segBytes   int64
	memEntries int
	logger     *slog.Logger

	mu       sync.Mutex
	head     []spoolEntry
	mem      []bus.Entry
	segs     []*segment // oldest first; the last one is being written when w != nil
	wf       *os.File
	w        *bufio.Writer
	rd       *segmentReader
	nextSeg  uint64
	durable  bool // Redis is failing: append straight to disk
	unread   int64
	disk     int64 // bytes in segs
	lastWarn time.Time

	dropped atomic.Int64
	notify  chan struct{}
}

type spoolEntry struct {
	bus.Entry
	seg *segment // nil for an entry taken from memory
}

type segment struct {
	num   uint64
	path  string
	size  int64
	count int64 // lines in the file
	read  int64 // lines read into head (or skipped)
	acked int64 // lines acknowledged (or skipped)
	old   bool  // left by an earlier run
}

// OpenSpool opens (creating) the spool in opts.Dir and takes up the segments
// an earlier run left there.
func OpenSpool(opts SpoolOptions) (*Spool, error) {
	s := &Spool{
		dir:        opts.Dir,
		maxBytes:   opts.MaxBytes,
		segBytes:   opts.SegmentBytes,
		memEntries: opts.MemEntries,
		logger:     opts.Logger,
		notify:     make(chan struct{}, 1),
		nextSeg:    1,
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultSpoolMaxBytes
	}
	if s.segBytes <= 0 {
		s.segBytes = min(defaultSegmentBytes, s.maxBytes/4)
	}
	s.segBytes = max(s.segBytes, 1)
	if s.memEntries <= 0 {
		s.memEntries = defaultMemEntries
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.logger = s.logger.With("component", "spool")
	if s.dir == "" {
		return s, nil
	}
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	if s.unread > 0 {
		s.logger.Info("spool holds samples from an earlier run; replaying them first",
			"dir", s.dir, "samples", s.unread, "bytes", s.disk)
		s.signal()
	}
	return s, nil
}

// load finds the segments left in the directory and the acknowledged
// position an orderly Close wrote.
func (s *Spool) load() error {
	names, err := filepath.Glob(filepath.Join(s.dir, "seg-*.jsonl"))
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		num, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(name), "seg-"), ".jsonl"), 10, 64)
		if err != nil {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		count := int64(bytes.Count(data, []byte{'\n'}))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			count++ // a line cut short by a crash; read as a bad entry
		}
		if count == 0 {
			_ = os.Remove(name)
			continue
		}
		s.segs = append(s.segs, &segment{num: num, path: name, size: int64(len(data)), count: count, old: true})
		s.disk += int64(len(data))
		s.unread += count
		s.nextSeg = max(s.nextSeg, num+1)
	}
	// The acknowledged position in the oldest segment, if Close wrote one.
	pos := filepath.Join(s.dir, "position")
	if data, err := os.ReadFile(pos); err == nil && len(s.segs) > 0 {
		var p struct {
			Segment uint64 `json:"segment"`
			Acked   int64  `json:"acked"`
		}
		if json.Unmarshal(data, &p) == nil && p.Segment == s.segs[0].num && p.Acked > 0 && p.Acked <= s.segs[0].count {
			rd, err := openSegmentReader(s.segs[0], p.Acked)
			if err != nil {
				return err
			}
			s.rd = rd
			s.segs[0].read, s.segs[0].acked = p.Acked, p.Acked
			s.unread -= p.Acked
		}
	}
	_ = os.Remove(pos)
	return nil
}

// Append queues entries, in order. It never waits for Redis. Entries that
// cannot be kept (the disk failed) are counted as dropped.
func (s *Spool) Append(entries ...bus.Entry) {
	if len(entries) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.signal()
	if s.dir == "" {
		s.mem = append(s.mem, entries...)
		if over := len(s.mem) - s.memEntries; over > 0 {
			s.mem = s.mem[over:]
			s.drop(int64(over), "memory spool full")
		}
		return
	}
	if s.durable || len(s.segs) > 0 {
		s.writeLocked(entries)
		return
	}
	s.mem = append(s.mem, entries...)
	if len(s.mem) >= s.memEntries {
		s.spillLocked() // Redis is not keeping up: keep the backlog on disk
	}
}

// Spill moves what waits in memory to disk and sends later entries straight
// there, until Healthy. The sender calls it when a publish fails.
func (s *Spool) Spill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		return
	}
	s.durable = true
	s.spillLocked()
	if s.wf != nil {
		if err := s.w.Flush(); err == nil {
			_ = s.wf.Sync()
		}
	}
}

// Healthy ends the Spill state: new entries pass through memory again once
// the disk backlog is published.
func (s *Spool) Healthy() {
	s.mu.Lock()
	s.durable = false
	s.mu.Unlock()
}

// spillLocked writes the memory queue to disk, keeping the order. Entries
// already peeked from memory are written first and stay in head, now backed
// by their line on disk, so the sender's Ack still matches what it peeked.
// (Peek takes from memory only while no segment exists, so with segments on
// disk nothing is left in memory.)
func (s *Spool) spillLocked() {
	for i := range s.head {
		if s.head[i].seg != nil {
			continue
		}
		seg, err := s.writeOneLocked(s.head[i].Entry)
		if err != nil {
			s.logger.Error("spool: keeping an entry in memory only", "err", err)
			continue
		}
		s.head[i].seg = seg
		seg.read++ // already in head
		s.unread--
	}
	mem := s.mem
	s.mem = nil
	s.writeLocked(mem)
}

// writeLocked appends entries to disk, in order.
func (s *Spool) writeLocked(entries []bus.Entry) {
	for i, e := range entries {
		if _, err := s.writeOneLocked(e); err != nil {
			s.drop(int64(len(entries)-i), "spool write failed: "+err.Error())
			return
		}
	}
}

// writeOneLocked appends one entry to the current segment, rotating and
// trimming, and returns the segment it went to.
func (s *Spool) writeOneLocked(e bus.Entry) (*segment, error) {
	if err := s.ensureWriterLocked(); err != nil {
		return nil, err
	}
	seg := s.segs[len(s.segs)-1]
	n, err := s.w.Write(e.Data)
	if err == nil {
		err = s.w.WriteByte('\n')
		n++
	}
	if err != nil {
		s.closeWriterLocked()
		return nil, err
	}
	seg.size += int64(n)
	seg.count++
	s.disk += int64(n)
	s.unread++
	if seg.size >= s.segBytes {
		s.closeWriterLocked()
	}
	s.trimLocked()
	return seg, nil
}

func (s *Spool) ensureWriterLocked() error {
	if s.wf != nil {
		return nil
	}
	seg := &segment{num: s.nextSeg, path: filepath.Join(s.dir, fmt.Sprintf("seg-%016d.jsonl", s.nextSeg))}
	f, err := os.OpenFile(seg.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	s.nextSeg++
	s.wf, s.w = f, bufio.NewWriterSize(f, 64<<10)
	s.segs = append(s.segs, seg)
	return nil
}

// closeWriterLocked finishes the current segment: flush, fsync, close.
func (s *Spool) closeWriterLocked() {
	if s.wf == nil {
		return
	}
	if err := s.w.Flush(); err != nil {
		s.logger.Error("spool flush", "err", err)
	} else if err := s.wf.Sync(); err != nil {
		s.logger.Error("spool fsync", "err", err)
	}
	_ = s.wf.Close()
	s.wf, s.w = nil, nil
}

// trimLocked drops the oldest segments while the spool is over MaxBytes,
// counting the entries that were never read.
func (s *Spool) trimLocked() {
	for s.disk > s.maxBytes && len(s.segs) > 1 {
		old := s.segs[0]
		lost := old.count - old.read
		if s.rd != nil && s.rd.seg == old {
			s.rd.close()
			s.rd = nil
		}
		_ = os.Remove(old.path)
		s.segs = s.segs[1:]
		s.disk -= old.size
		s.unread -= lost
		old.read, old.acked = old.count, old.count
		s.drop(lost, "spool full: dropped the oldest samples")
	}
}

// drop counts n lost entries and says so, at most once a second.
func (s *Spool) drop(n int64, why string) {
	if n <= 0 {
		return
	}
	total := s.dropped.Add(n)
	if now := time.Now(); now.Sub(s.lastWarn) >= time.Second {
		s.lastWarn = now
		s.logger.Warn(why, "dropped", n, "dropped_total", total)
	}
}

// Peek returns up to max of the oldest entries without removing them; the
// same entries come back until they are acknowledged.
func (s *Spool) Peek(max int) []bus.Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.head) < max && s.fillOneLocked() {
	}
	n := min(max, len(s.head))
	out := make([]bus.Entry, n)
	for i := range n {
		out[i] = s.head[i].Entry
	}
	return out
}

// fillOneLocked moves the next entry from disk or memory into head.
func (s *Spool) fillOneLocked() bool {
	for len(s.segs) > 0 {
		seg := s.nextUnreadSegmentLocked()
		if seg == nil {
			break
		}
		if s.rd == nil || s.rd.seg != seg {
			if s.rd != nil {
				s.rd.close()
			}
			rd, err := openSegmentReader(seg, seg.read)
			if err != nil {
				s.logger.Error("spool read", "segment", seg.path, "err", err)
				s.skipSegmentLocked(seg)
				continue
			}
			s.rd = rd
		}
		if s.wf != nil && seg == s.segs[len(s.segs)-1] {
			_ = s.w.Flush()
		}
		line, err := s.rd.next()
		seg.read++
		s.unread--
		if err != nil {
			s.logger.Error("spool: bad entry skipped", "segment", seg.path, "line", seg.read, "err", err)
			seg.acked++
			s.dropped.Add(1)
			s.removeDoneLocked()
			continue
		}
		s.head = append(s.head, spoolEntry{Entry: line, seg: seg})
		return true
	}
	if len(s.mem) > 0 {
		s.head = append(s.head, spoolEntry{Entry: s.mem[0]})
		s.mem[0] = bus.Entry{}
		s.mem = s.mem[1:]
		return true
	}
	return false
}

func (s *Spool) nextUnreadSegmentLocked() *segment {
	for _, seg := range s.segs {
		if seg.read < seg.count {
			return seg
		}
	}
	return nil
}

func (s *Spool) skipSegmentLocked(seg *segment) {
	lost := seg.count - seg.read
	seg.read, seg.acked = seg.count, seg.count
	s.unread -= lost
	s.drop(lost, "spool segment unreadable: dropped")
	s.removeDoneLocked()
}

// Ack removes the n oldest entries, which have been published.
func (s *Spool) Ack(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(n, len(s.head))
	for _, e := range s.head[:n] {
		if e.seg != nil {
			e.seg.acked++
		}
	}
	clear(s.head[:n])
	s.head = s.head[n:]
	s.removeDoneLocked()
}

// removeDoneLocked deletes the oldest segments once all their entries are
// acknowledged. The segment being written goes too when it is done: the next
// entry starts a new one.
func (s *Spool) removeDoneLocked() {
	for len(s.segs) > 0 && s.segs[0].acked >= s.segs[0].count {
		old := s.segs[0]
		if s.wf != nil && len(s.segs) == 1 {
			_ = s.w.Flush()
			_ = s.wf.Close()
			s.wf, s.w = nil, nil
		}
		if s.rd != nil && s.rd.seg == old {
			s.rd.close()
			s.rd = nil
		}
		_ = os.Remove(old.path)
		s.disk -= old.size
		s.segs = s.segs[1:]
	}
}

// Ready is signalled when entries are appended.
func (s *Spool) Ready() <-chan struct{} { return s.notify }

func (s *Spool) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Depth is how many entries wait to be published.
func (s *Spool) Depth() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.head)+len(s.mem)) + s.unread
}

// DiskBytes is the size of the segment files.
func (s *Spool) DiskBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disk
}

// Dropped counts entries lost since the spool was opened: trimmed when it
// was full, or unreadable.
func (s *Spool) Dropped() int64 { return s.dropped.Load() }

// Close writes everything still waiting to disk, so the next run replays it,
// and records how far the oldest segment was published.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		if n := len(s.head) + len(s.mem); n > 0 {
			s.logger.Warn("memory spool closed with samples unpublished", "lost", n)
		}
		return nil
	}
	s.spillLocked()
	s.closeWriterLocked()
	if s.rd != nil {
		s.rd.close()
		s.rd = nil
	}
	if len(s.segs) > 0 && s.segs[0].acked > 0 {
		// The head holds entries read but not acknowledged: they are
		// replayed, as the position counts only the acknowledged.
		data, _ := json.Marshal(map[string]any{"segment": s.segs[0].num, "acked": s.segs[0].acked})
		if err := os.WriteFile(filepath.Join(s.dir, "position"), data, 0o640); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	if s.unread+int64(len(s.head)) > 0 {
		s.logger.Info("spool closed with samples to replay at the next start", "samples", int64(len(s.head))+s.unread, "dir", s.dir)
	}
	return nil
}

// segmentReader reads a segment's lines as entries.
type segmentReader struct {
	seg *segment
	f   *os.File
	r   *bufio.Reader
}

func openSegmentReader(seg *segment, skip int64) (*segmentReader, error) {
	f, err := os.Open(seg.path)
	if err != nil {
		return nil, err
	}
	rd := &segmentReader{seg: seg, f: f, r: bufio.NewReaderSize(f, 64<<10)}
	for range skip {
		if _, err := rd.r.ReadBytes('\n'); err != nil {
			rd.close()
			return nil, fmt.Errorf("skip to line %d of %s: %w", skip, seg.path, err)
		}
	}
	return rd, nil
}

// next reads the next line and decodes the entry's identity from it. The
// writer is flushed before its segment is read, so every counted line is
// whole, but for one cut short by a crash.
func (rd *segmentReader) next() (bus.Entry, error) {
	line, err := rd.r.ReadBytes('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return bus.Entry{}, err
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	if !rd.seg.old {
		// Written by this run, whole: read the identity without decoding
		// the line (a replay after an outage goes at full speed).
		if probe, participant, seq, ok := identity(line); ok {
			return bus.Entry{Probe: probe, Participant: participant, Seq: seq, Data: line}, nil
		}
	}
	// Left by an earlier run (its last line may be cut short by a crash) or
	// in an unexpected shape: decode it all, which checks it.
	var id struct {
		Probe       string `json:"probe"`
		Participant string `json:"participant"`
		Seq         uint64 `json:"seq"`
	}
	if err := json.Unmarshal(line, &id); err != nil {
		return bus.Entry{}, fmt.Errorf("decode: %w", err)
	}
	if id.Participant == "" || id.Seq == 0 {
		return bus.Entry{}, errors.New("decode: no participant or seq")
	}
	return bus.Entry{Probe: id.Probe, Participant: id.Participant, Seq: id.Seq, Data: line}, nil
}

// identity reads probe, participant and seq from a Sample's JSON as
// json.Marshal writes it: no spaces, fields in struct order, so the string
// fields probe … participant come before seq. ok is false for anything else
// (an escaped string, another order), and the caller decodes the line.
func identity(line []byte) (probe, participant string, seq uint64, ok bool) {
	if len(line) < 2 || line[0] != '{' {
		return "", "", 0, false
	}
	i := 1
	str := func() (string, bool) { // a string without escapes at line[i]
		if i >= len(line) || line[i] != '"' {
			return "", false
		}
		j := i + 1
		for j < len(line) && line[j] != '"' {
			if line[j] == '\\' {
				return "", false
			}
			j++
		}
		if j >= len(line) {
			return "", false
		}
		v := string(line[i+1 : j])
		i = j + 1
		return v, true
	}
	for i < len(line) {
		key, ok := str()
		if !ok || i >= len(line) || line[i] != ':' {
			return "", "", 0, false
		}
		i++
		if key == "seq" {
			j := i
			for j < len(line) && line[j] >= '0' && line[j] <= '9' {
				j++
			}
			if j == i || j-i > 19 || j >= len(line) || (line[j] != ',' && line[j] != '}') {
				return "", "", 0, false
			}
			n, err := strconv.ParseUint(string(line[i:j]), 10, 64)
			if err != nil || n == 0 || participant == "" {
				return "", "", 0, false
			}
			return probe, participant, n, true
		}
		v, ok := str()
		if !ok || i >= len(line) || line[i] != ',' {
			return "", "", 0, false
		}
		i++
		switch key {
		case "probe":
			probe = v
		case "participant":
			participant = v
		}
	}
	return "", "", 0, false
}

func (rd *segmentReader) close() { _ = rd.f.Close() }
