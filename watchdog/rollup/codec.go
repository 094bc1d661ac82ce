package rollup

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The packed values' building blocks: a Stats as varints with a sparse
// histogram, and a reader that remembers the first problem.

// Scalar fields of Stats, in their packed order (bit i of the mask).
const nScalars = 14

func scalars(st *Stats) [nScalars]*int64 {
	return [nScalars]*int64{&st.Samples, &st.ObservedMS, &st.DownMS, &st.DegradedMS, &st.SessionMS, &st.PatrolMS,
		&st.Freezes, &st.FreezeMS, &st.Dropouts, &st.Reconnects, &st.MissedSeq, &st.RTTSumMS, &st.FirstMS, &st.LastMS}
}

// appendStats appends st, its first and last times relative to base (Unix
// ms): a mask of the non-zero scalars, those scalars, then the histogram's
// non-empty buckets as (gap from the previous bucket, count).
func appendStats(b []byte, st *Stats, base int64) []byte {
	vals := scalars(st)
	var mask uint64
	var v [nScalars]int64
	for i, p := range vals {
		v[i] = *p
		if i >= 12 && v[i] != 0 { // FirstMS, LastMS: relative to base
			v[i] -= base
		}
		if *p != 0 {
			mask |= 1 << i
		}
	}
	b = binary.AppendUvarint(b, mask)
	for i := range v {
		if mask&(1<<i) != 0 {
			b = binary.AppendVarint(b, v[i])
		}
	}
	nb := 0
	for _, c := range st.RTT {
		if c != 0 {
			nb++
		}
	}
	b = binary.AppendUvarint(b, uint64(nb))
	prev := -1
	for i, c := range st.RTT {
		if c != 0 {
			b = binary.AppendUvarint(b, uint64(i-prev-1))
			b = binary.AppendVarint(b, c)
			prev = i
		}
	}
	return b
}

// reader decodes a packed value, remembering the first problem.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: at byte %d: %s", ErrBadPack, r.off, fmt.Sprintf(format, a...))
	}
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("%s: truncated or overlong varint", what)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("%s: truncated or overlong varint", what)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) small(what string, limit uint64) int {
	v := r.uvarint(what)
	if v > limit {
		r.fail("%s: %d is more than %d", what, v, limit)
		return 0
	}
	return int(v)
}

func (r *reader) float(what string) float64 {
	if r.err != nil {
		return 0
	}
	if len(r.b)-r.off < 8 {
		r.fail("%s: truncated", what)
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b[r.off:]))
	r.off += 8
	return v
}

func (r *reader) str(what string) string {
	n := r.small(what+" length", maxPackString)
	if r.err != nil {
		return ""
	}
	if len(r.b)-r.off < n {
		r.fail("%s: truncated", what)
		return ""
	}
	s := string(r.b[r.off : r.off+n])
	r.off += n
	return s
}

func (r *reader) end() {
	if r.err == nil && r.off != len(r.b) {
		r.fail("%d bytes left over", len(r.b)-r.off)
	}
}

func (r *reader) stats(st *Stats, base int64) {
	mask := r.uvarint("mask")
	if mask >= 1<<nScalars {
		r.fail("mask %#x names unknown fields", mask)
		return
	}
	vals := scalars(st)
	for i, p := range vals {
		if mask&(1<<i) == 0 {
			continue
		}
		v := r.varint("field")
		if v == 0 && i < 12 {
			r.fail("field %d present but zero", i)
		}
		if i >= 12 {
			v += base
			if v == 0 {
				r.fail("field %d is the zero time", i)
			}
		}
		*p = v
	}
	nb := r.small("buckets", HistBuckets)
	idx := -1
	for range nb {
		idx += 1 + r.small("bucket gap", HistBuckets)
		if r.err != nil {
			return
		}
		if idx >= HistBuckets {
			r.fail("bucket %d is past the last (%d)", idx, HistBuckets-1)
			return
		}
		c := r.varint("bucket count")
		if c <= 0 && r.err == nil {
			r.fail("bucket %d: count %d", idx, c)
		}
		st.RTT[idx] = c
	}
}

func (r *reader) format(want byte) {
	if len(r.b) == 0 {
		r.fail("empty")
		return
	}
	if r.b[0] != want {
		r.fail("format %d, want %d", r.b[0], want)
		return
	}
	r.off = 1
}
