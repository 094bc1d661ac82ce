package probe

import (
	"encoding/json"
	"fmt"
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

// FsyncPolicy says when the spool asks the operating system to put what it
// wrote on the disk itself, like Redis's appendfsync. Every record reaches
// the operating system as it is appended, so a killed agent loses nothing
// either way; the policy decides what a power cut may cost.
type FsyncPolicy string

// Fsync policies.
const (
	// FsyncAlways fsyncs after every append: a power cut loses nothing.
	FsyncAlways FsyncPolicy = "always"
	// FsyncEverySec fsyncs once a second (the default): a power cut loses
	// at most the last second.
	FsyncEverySec FsyncPolicy = "everysec"
	// FsyncNever leaves it to the operating system (usually within 30 s).
	FsyncNever FsyncPolicy = "never"
)

// FsyncPolicies lists the policies, for validation and help.
var FsyncPolicies = []FsyncPolicy{FsyncAlways, FsyncEverySec, FsyncNever}

// SpoolOptions configure OpenSpool.
type SpoolOptions struct {
	// Dir holds the segment files. Empty keeps the spool in memory only
	// (bounded by MemEntries): nothing survives a restart.
	Dir string
	// MaxBytes bounds the segment files together; beyond it the oldest
	// segment is dropped and its Samples counted. Default DefaultSpoolMaxBytes.
	MaxBytes int64
	// SegmentBytes is the size at which a segment is closed and a new one
	// started; default min(8 MiB, MaxBytes/4).
	SegmentBytes int64
	// MemEntries is how many of the newest records are also kept in memory,
	// so publishing them does not read the disk; default 16384.
	MemEntries int
	// Fsync is the fsync policy; default FsyncEverySec.
	Fsync  FsyncPolicy
	Logger *slog.Logger
}

// ReplayReport says what a spool found left by an earlier run.
type ReplayReport struct {
	// Segments and Records left on disk (Records counts lines, the
	// corrupt ones too); Bytes their size.
	Segments int
	Records  int64
	Bytes    int64
	// Torn is set when the last record was cut short (a power cut, or a
	// kill in the middle of a write): TornBytes were cut from the file.
	Torn      bool
	TornBytes int64
}

// Spool is the write-ahead log between the participants and Redis. Every
// record is written to the current segment file as it is appended — one
// write(2), so it is in the operating system at once and a killed process
// loses nothing — and fsynced by the Fsync policy; the newest are also kept
// in memory, so while Redis keeps up they are published without reading the
// disk. A record leaves the spool only when the sender acknowledges it
// (Ack), which the publisher does only once Redis — and the replicas it
// waits for — have it. A segment whose records are all acknowledged is
// deleted. When the files together pass MaxBytes the oldest segment is
// deleted and its unread records counted as dropped: a gap reported, never
// hidden. On open the segments left by an earlier run are replayed first.
//
// A record is a line "<crc32c of the JSON, 8 hex digits> <Sample JSON>"
// (see record.go); a line that fails the check is skipped and counted as
// corrupt, never published.
//
// Invariant: records are handed out by Peek in the order they were
// appended. head holds those peeked and not yet acknowledged; unread counts
// the rest, whose newest len(mem) are in mem (the others only on disk).
//
// One goroutine (the sender) calls Peek and Ack; any number call Append.
type Spool struct {
	dir        string
	maxBytes   int64
	segBytes   int64
	memEntries int
	fsync      FsyncPolicy
	logger     *slog.Logger

	mu       sync.Mutex
	head     []spoolEntry
	mem      []spoolEntry
	segs     []*segment // oldest first; the last one is being written when wf != nil
	wf       *os.File
	rd       *segmentReader
	nextSeg  uint64
	unread   int64
	disk     int64 // bytes in segs
	dirty    bool  // written since the last fsync
	buf      []byte
	lastWarn time.Time
	replay   ReplayReport
	oldLeft  int64 // records of the earlier run not yet acknowledged

	dropped  atomic.Int64
	corrupt  atomic.Int64
	replayed atomic.Int64
	notify   chan struct{}
	stop     chan struct{}
	stopped  chan struct{}
}

type spoolEntry struct {
	bus.Entry
	seg *segment // nil for a record kept in memory only (its write failed)
	end int64    // offset just after its line in seg
}

type segment struct {
	num      uint64
	path     string
	size     int64
	count    int64 // lines in the file
	read     int64 // lines read into head (or skipped)
	acked    int64 // lines acknowledged (or skipped)
	readOff  int64 // offset of the next unread line
	ackedOff int64 // offset just after the last acknowledged line
	old      bool  // left by an earlier run
	legacy   bool  // a .jsonl segment of an older version: no checksums
}

// OpenSpool opens (creating) the spool in opts.Dir and takes up the segments
// an earlier run left there; Replay says what it found.
func OpenSpool(opts SpoolOptions) (*Spool, error) {
	s := &Spool{
		dir:        opts.Dir,
		maxBytes:   opts.MaxBytes,
		segBytes:   opts.SegmentBytes,
		memEntries: opts.MemEntries,
		fsync:      opts.Fsync,
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
	switch s.fsync {
	case "":
		s.fsync = FsyncEverySec
	case FsyncAlways, FsyncEverySec, FsyncNever:
	default:
		return nil, fmt.Errorf("spool: unknown fsync policy %q (want always, everysec or never)", s.fsync)
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
	s.oldLeft = s.unread
	if s.replay.Records > 0 || s.replay.Torn {
		s.logger.Info("spool holds samples from an earlier run; replaying them first",
			"dir", s.dir, "samples", s.unread, "segments", s.replay.Segments, "bytes", s.disk,
			"torn_tail", s.replay.Torn, "torn_bytes", s.replay.TornBytes)
		s.signal()
	}
	if s.fsync == FsyncEverySec {
		s.stop, s.stopped = make(chan struct{}), make(chan struct{})
		go s.syncEverySecond()
	}
	return s, nil
}

// load finds the segments left in the directory, cuts a torn last record
// off, and takes up the acknowledged position an orderly Close wrote.
func (s *Spool) load() error {
	var names []string
	for _, pat := range []string{"seg-*.wal", "seg-*.jsonl"} {
		m, err := filepath.Glob(filepath.Join(s.dir, pat))
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		names = append(names, m...)
	}
	type found struct {
		num    uint64
		name   string
		legacy bool
	}
	var fs []found
	for _, name := range names {
		base := filepath.Base(name)
		ext := filepath.Ext(base)
		num, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(base, "seg-"), ext), 10, 64)
		if err != nil {
			continue
		}
		fs = append(fs, found{num: num, name: name, legacy: ext == ".jsonl"})
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].num < fs[j].num })
	for i, f := range fs {
		size, count, torn, err := scanSegment(f.name)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if torn > 0 {
			if i == len(fs)-1 {
				s.replay.Torn, s.replay.TornBytes = true, torn
			} else {
				// Only the last segment can be cut by a crash; this one
				// was cut some other way.
				s.corrupt.Add(1)
				s.logger.Error("spool: a segment ends in a cut record; skipped as corrupt", "segment", f.name, "bytes", torn)
			}
		}
		if count == 0 {
			_ = os.Remove(f.name)
			continue
		}
		s.segs = append(s.segs, &segment{num: f.num, path: f.name, size: size, count: count, old: true, legacy: f.legacy})
		s.disk += size
		s.unread += count
		s.nextSeg = max(s.nextSeg, f.num+1)
		s.replay.Segments++
		s.replay.Records += count
		s.replay.Bytes += size
	}
	// The acknowledged position in the oldest segment, if Close wrote one.
	pos := filepath.Join(s.dir, "position")
	if data, err := os.ReadFile(pos); err == nil && len(s.segs) > 0 {
		var p struct {
			Segment uint64 `json:"segment"`
			Acked   int64  `json:"acked"`
			Offset  int64  `json:"offset"`
		}
		seg := s.segs[0]
		if json.Unmarshal(data, &p) == nil && p.Segment == seg.num && p.Acked > 0 && p.Acked <= seg.count && p.Offset > 0 && p.Offset <= seg.size {
			seg.read, seg.acked = p.Acked, p.Acked
			seg.readOff, seg.ackedOff = p.Offset, p.Offset
			s.unread -= p.Acked
			s.replay.Records -= p.Acked
		}
	}
	_ = os.Remove(pos)
	return nil
}

// Replay says what the spool found left by an earlier run when it opened.
func (s *Spool) Replay() ReplayReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replay
}

// Append writes entries to the spool, in order, before anything is sent. It
// never waits for Redis. If the disk fails the entries are kept in memory
// (bounded by MemEntries; beyond it the oldest are dropped and counted).
func (s *Spool) Append(entries ...bus.Entry) {
	if len(entries) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.signal()
	if s.dir == "" {
		s.keepLocked(entries, nil, nil)
		return
	}
	seg, ends, err := s.writeLocked(entries)
	if err != nil {
		if now := time.Now(); now.Sub(s.lastWarn) >= time.Second {
			s.lastWarn = now
			s.logger.Error("spool write failed: keeping samples in memory only", "dir", s.dir, "err", err)
		}
		seg, ends = nil, nil
	}
	s.keepLocked(entries, seg, ends)
	s.trimLocked()
}

// keepLocked adds entries (written to seg, ending at ends, or in memory
// only when seg is nil) to the unread records and the memory cache.
func (s *Spool) keepLocked(entries []bus.Entry, seg *segment, ends []int64) {
	for i, e := range entries {
		se := spoolEntry{Entry: e, seg: seg}
		if seg != nil {
			se.end = ends[i]
		}
		s.mem = append(s.mem, se)
	}
	s.unread += int64(len(entries))
	if over := len(s.mem) - s.memEntries; over > 0 {
		lost := int64(0)
		for _, e := range s.mem[:over] {
			if e.seg == nil {
				lost++
			}
		}
		clear(s.mem[:over])
		s.mem = s.mem[over:]
		if lost > 0 {
			// Memory-only records are gone; those on disk are read from there.
			s.unread -= lost
			s.drop(lost, "memory spool full")
		}
	}
}

// writeLocked appends entries' records to the current segment in one write
// and fsyncs by the policy. It returns the segment and each record's end
// offset.
func (s *Spool) writeLocked(entries []bus.Entry) (*segment, []int64, error) {
	if err := s.ensureWriterLocked(); err != nil {
		return nil, nil, err
	}
	seg := s.segs[len(s.segs)-1]
	s.buf = s.buf[:0]
	ends := make([]int64, len(entries))
	for i, e := range entries {
		s.buf = appendRecord(s.buf, e.Data)
		ends[i] = seg.size + int64(len(s.buf))
	}
	n, err := s.wf.Write(s.buf)
	if err == nil && s.fsync == FsyncAlways {
		err = s.wf.Sync()
	}
	if err != nil {
		if n > 0 {
			_ = s.wf.Truncate(seg.size) // no half record left behind
		}
		s.closeWriterLocked()
		return nil, nil, err
	}
	seg.size += int64(n)
	seg.count += int64(len(entries))
	s.disk += int64(n)
	s.dirty = s.fsync == FsyncEverySec
	if seg.size >= s.segBytes {
		s.closeWriterLocked()
	}
	return seg, ends, nil
}

func (s *Spool) ensureWriterLocked() error {
	if s.wf != nil {
		return nil
	}
	seg := &segment{num: s.nextSeg, path: filepath.Join(s.dir, fmt.Sprintf("seg-%016d.wal", s.nextSeg))}
	f, err := os.OpenFile(seg.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	s.nextSeg++
	s.wf = f
	s.segs = append(s.segs, seg)
	return nil
}

// closeWriterLocked finishes the current segment: fsync (unless the policy
// is never), close.
func (s *Spool) closeWriterLocked() {
	if s.wf == nil {
		return
	}
	if s.fsync != FsyncNever {
		if err := s.wf.Sync(); err != nil {
			s.logger.Error("spool fsync", "err", err)
		}
	}
	_ = s.wf.Close()
	s.wf, s.dirty = nil, false
}

// syncEverySecond is the everysec policy's fsync, until Close. The fsync
// runs outside the lock, so appends do not wait for the disk.
func (s *Spool) syncEverySecond() {
	defer close(s.stopped)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.Sync()
	}
}

// Sync fsyncs what was written since the last fsync (never under
// FsyncNever). The publisher calls it when Redis fails, so what waits for
// Redis is on the disk itself.
func (s *Spool) Sync() {
	if s.fsync == FsyncNever {
		return
	}
	s.mu.Lock()
	f := s.wf
	dirty := s.dirty
	s.dirty = false
	s.mu.Unlock()
	if f != nil && dirty {
		_ = f.Sync() // may race a close: that close synced
	}
}

// trimLocked drops the oldest segments while the spool is over MaxBytes,
// counting the records that were never read.
func (s *Spool) trimLocked() {
	for s.disk > s.maxBytes && len(s.segs) > 1 {
		old := s.segs[0]
		lost := old.count - old.read
		if s.rd != nil && s.rd.seg == old {
			s.rd.close()
			s.rd = nil
		}
		i := 0
		for i < len(s.mem) && s.mem[i].seg == old {
			i++
		}
		clear(s.mem[:i])
		s.mem = s.mem[i:]
		_ = os.Remove(old.path)
		s.segs = s.segs[1:]
		s.disk -= old.size
		s.unread -= lost
		if old.old {
			s.oldLeft -= old.count - old.acked
		}
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

// fillOneLocked moves the next record into head: from memory when every
// unread record is there, else from disk.
func (s *Spool) fillOneLocked() bool {
	for s.unread > 0 {
		if s.unread == int64(len(s.mem)) {
			e := s.mem[0]
			s.mem[0] = spoolEntry{}
			s.mem = s.mem[1:]
			s.unread--
			if e.seg != nil {
				e.seg.read++
				e.seg.readOff = e.end
			}
			s.head = append(s.head, e)
			return true
		}
		seg := s.nextUnreadSegmentLocked()
		if seg == nil {
			s.logger.Error("spool: records counted but not found; recounting", "unread", s.unread, "in_memory", len(s.mem))
			s.unread = int64(len(s.mem))
			continue
		}
		if s.rd == nil || s.rd.seg != seg || s.rd.off != seg.readOff {
			if s.rd != nil {
				s.rd.close()
				s.rd = nil
			}
			rd, err := openSegmentReader(seg, seg.readOff)
			if err != nil {
				s.logger.Error("spool read", "segment", seg.path, "err", err)
				s.skipSegmentLocked(seg)
				continue
			}
			s.rd = rd
		}
		line, err := s.rd.next()
		seg.read++
		seg.readOff = s.rd.off
		s.unread--
		if err != nil {
			s.logger.Error("spool read", "segment", seg.path, "err", err)
			s.ackLocked(spoolEntry{seg: seg, end: seg.size})
			s.drop(1, "spool segment unreadable: dropped")
			s.skipSegmentLocked(seg)
			continue
		}
		e, err := decodeRecord(line, seg.legacy)
		if err != nil {
			n := s.corrupt.Add(1)
			s.logger.Error("spool: corrupt record skipped (not published)", "segment", seg.path, "line", seg.read, "err", err, "corrupt_total", n)
			s.ackLocked(spoolEntry{seg: seg, end: seg.readOff})
			s.removeDoneLocked()
			continue
		}
		s.head = append(s.head, spoolEntry{Entry: e, seg: seg, end: seg.readOff})
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
	// Records of this segment still in memory are read from there.
	inMem := int64(0)
	for _, e := range s.mem {
		if e.seg == seg {
			inMem++
		}
	}
	lost -= inMem
	seg.read += lost
	s.unread -= lost
	for range lost {
		s.ackLocked(spoolEntry{seg: seg, end: seg.size})
	}
	s.drop(lost, "spool segment unreadable: dropped")
	s.removeDoneLocked()
}

// Ack removes the n oldest entries, which have been published.
func (s *Spool) Ack(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(n, len(s.head))
	for _, e := range s.head[:n] {
		s.ackLocked(e)
	}
	clear(s.head[:n])
	s.head = s.head[n:]
	s.removeDoneLocked()
}

func (s *Spool) ackLocked(e spoolEntry) {
	if e.seg == nil {
		return
	}
	e.seg.acked++
	e.seg.ackedOff = e.end
	if e.seg.old {
		s.oldLeft--
		if e.Data != nil {
			s.replayed.Add(1)
		}
		if s.oldLeft == 0 {
			s.logger.Info("spool: the earlier run's samples are replayed",
				"replayed", s.replayed.Load(), "corrupt", s.corrupt.Load(), "torn_tail", s.replay.Torn)
		}
	}
}

// removeDoneLocked deletes the oldest segments once all their records are
// acknowledged. The segment being written goes too when it is done: the
// next record starts a new one.
func (s *Spool) removeDoneLocked() {
	for len(s.segs) > 0 && s.segs[0].acked >= s.segs[0].count {
		old := s.segs[0]
		if s.wf != nil && len(s.segs) == 1 {
			_ = s.wf.Close() // nothing in it is needed: no fsync
			s.wf, s.dirty = nil, false
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
	return int64(len(s.head)) + s.unread
}

// DiskBytes is the size of the segment files.
func (s *Spool) DiskBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disk
}

// Dropped counts entries lost since the spool was opened: trimmed when it
// was full, kept in memory when the disk failed and then pushed out, or in
// a segment that could not be read. Corrupt records are counted apart.
func (s *Spool) Dropped() int64 { return s.dropped.Load() }

// Corrupt counts records skipped because they failed their checksum or
// were not a Sample: damage on disk, not lost measurements.
func (s *Spool) Corrupt() int64 { return s.corrupt.Load() }

// Replayed counts records of an earlier run published since the spool was
// opened.
func (s *Spool) Replayed() int64 { return s.replayed.Load() }

// Close fsyncs what is on disk, writes what is in memory only, and records
// how far the oldest segment was acknowledged, so the next run replays the
// rest.
func (s *Spool) Close() error {
	if s.stop != nil {
		close(s.stop)
		<-s.stopped
		s.stop = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		if n := int64(len(s.head)) + s.unread; n > 0 {
			s.logger.Warn("memory spool closed with samples unpublished", "lost", n)
		}
		return nil
	}
	var memOnly []bus.Entry
	for _, e := range s.head {
		if e.seg == nil {
			memOnly = append(memOnly, e.Entry)
		}
	}
	for _, e := range s.mem {
		if e.seg == nil {
			memOnly = append(memOnly, e.Entry)
		}
	}
	if len(memOnly) > 0 {
		// Out of order behind what is on disk, but not lost: the
		// idempotent publish skips what was sent already.
		if _, _, err := s.writeLocked(memOnly); err != nil {
			s.logger.Error("spool closed with samples in memory only: lost", "lost", len(memOnly), "err", err)
		}
	}
	s.closeWriterLocked()
	if s.rd != nil {
		s.rd.close()
		s.rd = nil
	}
	if len(s.segs) > 0 && s.segs[0].acked > 0 {
		// The head holds entries read but not acknowledged: they are
		// replayed, as the position counts only the acknowledged.
		data, _ := json.Marshal(map[string]any{"segment": s.segs[0].num, "acked": s.segs[0].acked, "offset": s.segs[0].ackedOff})
		if err := os.WriteFile(filepath.Join(s.dir, "position"), data, 0o640); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	if n := int64(len(s.head)) + s.unread; n > 0 {
		s.logger.Info("spool closed with samples to replay at the next start", "samples", n, "dir", s.dir)
	}
	return nil
}
