package probe

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"

	"github.com/bidwatch/bidwatch/internal/bus"
)

// A spool record is one line: the CRC-32C (Castagnoli) of the Sample's
// JSON as 8 lowercase hex digits, a space, the JSON, a newline. The checksum
// tells a damaged line — cut, overwritten, a digit flipped — from a valid
// one, so damage is skipped and counted, never published (a flipped seq
// published would make the idempotent publish drop the real Samples after
// it as duplicates). Segments of an older version (seg-*.jsonl, bare JSON
// lines) are still read, checked by decoding only.

// ErrCorrupt is wrapped by decodeRecord's errors.
var ErrCorrupt = errors.New("corrupt spool record")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recordOverhead is the bytes a record adds to the JSON.
const recordOverhead = 10

// appendRecord appends data's record to buf.
func appendRecord(buf, data []byte) []byte {
	var sum [4]byte
	c := crc32.Checksum(data, castagnoli)
	sum[0], sum[1], sum[2], sum[3] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
	buf = hex.AppendEncode(buf, sum[:])
	buf = append(buf, ' ')
	buf = append(buf, data...)
	return append(buf, '\n')
}

// decodeRecord checks a line (without its newline) and reads the entry's
// identity from it. legacy lines have no checksum.
func decodeRecord(line []byte, legacy bool) (bus.Entry, error) {
	data := line
	if !legacy {
		if len(line) < recordOverhead || line[8] != ' ' {
			return bus.Entry{}, fmt.Errorf("%w: no checksum", ErrCorrupt)
		}
		var sum [4]byte
		if _, err := hex.Decode(sum[:], line[:8]); err != nil {
			return bus.Entry{}, fmt.Errorf("%w: bad checksum field", ErrCorrupt)
		}
		data = line[9:]
		want := uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
		if got := crc32.Checksum(data, castagnoli); got != want {
			return bus.Entry{}, fmt.Errorf("%w: checksum %08x, want %08x", ErrCorrupt, got, want)
		}
	}
	data = bytes.Clone(data)
	if !legacy {
		// Checked: read the identity without decoding the whole line (a
		// replay after an outage goes at full speed).
		if probe, participant, seq, ok := identity(data); ok {
			return bus.Entry{Probe: probe, Participant: participant, Seq: seq, Data: data}, nil
		}
	}
	// Another shape (escaped strings, other field order): decode it all.
	var id struct {
		Probe       string `json:"probe"`
		Participant string `json:"participant"`
		Seq         uint64 `json:"seq"`
	}
	if err := json.Unmarshal(data, &id); err != nil {
		return bus.Entry{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if id.Participant == "" || id.Seq == 0 {
		return bus.Entry{}, fmt.Errorf("%w: not a Sample (no participant or seq)", ErrCorrupt)
	}
	return bus.Entry{Probe: id.Probe, Participant: id.Participant, Seq: id.Seq, Data: data}, nil
}

// scanSegment counts a segment's whole lines and cuts off a last line that
// has no newline (a record cut short by a crash), returning how many bytes
// it cut.
func scanSegment(path string) (size, count, torn int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, err
	}
	count = int64(bytes.Count(data, []byte{'\n'}))
	whole := int64(bytes.LastIndexByte(data, '\n') + 1)
	if torn = int64(len(data)) - whole; torn > 0 {
		if err := os.Truncate(path, whole); err != nil {
			return 0, 0, 0, err
		}
	}
	return whole, count, torn, nil
}

// segmentReader reads a segment's lines from an offset.
type segmentReader struct {
	seg *segment
	f   *os.File
	r   *bufio.Reader
	off int64 // offset of the next line
}

func openSegmentReader(seg *segment, off int64) (*segmentReader, error) {
	f, err := os.Open(seg.path)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, err
	}
	return &segmentReader{seg: seg, f: f, r: bufio.NewReaderSize(f, 64<<10), off: off}, nil
}

// next reads the next whole line, without its newline. Every counted line
// is whole: records are written in one write each, and load cuts a torn end.
func (rd *segmentReader) next() ([]byte, error) {
	line, err := rd.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := bytes.Clone(line)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = rd.r.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("line %d of %s: %w", rd.seg.read+1, rd.seg.path, io.ErrUnexpectedEOF)
		}
		return nil, err
	}
	rd.off += int64(len(line))
	return line[:len(line)-1], nil
}

func (rd *segmentReader) close() { _ = rd.f.Close() }

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
