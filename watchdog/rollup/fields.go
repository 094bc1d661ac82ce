package rollup

import (
	"fmt"
	"strconv"
	"strings"
)

// Live roll-ups are hashes a Lua script adds to with HINCRBY: one field per
// non-zero counter, named here, and one per non-empty histogram bucket
// ("b<i>"); "a" and "z" hold the first and last window (Unix ms).
// SessionMS ("s") is not written: it is ObservedMS − PatrolMS, worked out
// when the hash is read (one HINCRBY less per hash and batch).
var statsFieldNames = [...]string{"n", "o", "d", "g", "s", "p", "f", "fm", "do", "rc", "ms", "rs"}

// sessionField is the index of "s" in statsFieldNames.
const sessionField = 4

const (
	fieldFirst = "a"
	fieldLast  = "z"
)

// bucketFields are the histogram buckets' field names.
var bucketFields = func() [HistBuckets]string {
	var f [HistBuckets]string
	for i := range f {
		f[i] = "b" + strconv.Itoa(i)
	}
	return f
}()

// appendDeltas appends st's non-zero counters and buckets as (field, delta)
// argument pairs, the field prefixed by p, and returns how many pairs.
func appendDeltas(args []any, p string, st *Stats) ([]any, int) {
	n := 0
	vals := scalars(st)
	for i, name := range statsFieldNames {
		if v := *vals[i]; v != 0 && i != sessionField {
			args = append(args, p+name, v)
			n++
		}
	}
	for i, c := range st.RTT {
		if c != 0 {
			args = append(args, p+bucketFields[i], c)
			n++
		}
	}
	return args, n
}

// setField sets the Stats field a live hash's field names; it reports
// whether the name is one.
func setField(st *Stats, name, value string) (bool, error) {
	var p *int64
	switch {
	case name == fieldFirst:
		p = &st.FirstMS
	case name == fieldLast:
		p = &st.LastMS
	case len(name) > 1 && name[0] == 'b' && name[1] >= '0' && name[1] <= '9':
		i, err := strconv.Atoi(name[1:])
		if err != nil || i >= HistBuckets {
			return false, fmt.Errorf("field %q: no such bucket", name)
		}
		p = &st.RTT[i]
	default:
		for i, f := range statsFieldNames {
			if f == name {
				p = scalars(st)[i]
				break
			}
		}
	}
	if p == nil {
		return false, nil
	}
	v, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return true, fmt.Errorf("field %q: %q is not an integer", name, value)
	}
	*p += v
	return true, nil
}

// statsFromHash reads a live hour hash.
func statsFromHash(h map[string]string) (Stats, error) {
	var st Stats
	for k, v := range h {
		if _, err := setField(&st, k, v); err != nil {
			return Stats{}, err
		}
	}
	st.SessionMS = st.ObservedMS - st.PatrolMS
	return st, nil
}

// sessionFromHash reads a session hash: its packed part (if it was packed
// before) merged with the live fields written since.
func sessionFromHash(h map[string]string) (Session, error) {
	var s Session
	err := sessionFromHashInto(h, &s)
	return s, err
}

// sessionFromHashInto is sessionFromHash into s, reusing its room when the
// session is packed and nothing came since (a year's sessions mostly).
func sessionFromHashInto(h map[string]string, into *Session) error {
	if pk, ok := h[sessPacked]; ok && packedOnly(h) {
		return decodeSession(bytesOf(pk), into)
	}
	s, err := sessionFromLiveHash(h)
	*into = s
	return err
}

func sessionFromLiveHash(h map[string]string) (Session, error) {
	var s Session
	dims := map[Dim]*Stats{}
	var order []Dim
	add := func(d Dim) *Stats {
		st := dims[d]
		if st == nil {
			st = &Stats{}
			dims[d] = st
			order = append(order, d)
		}
		return st
	}
	if pk, ok := h[sessPacked]; ok {
		p, err := DecodeSession(bytesOf(pk))
		if err != nil {
			return s, err
		}
		s.Room = p.Room
		for i := range p.Dims {
			add(p.Dims[i].Dim).Merge(&p.Dims[i].Stats)
		}
	}
	if r := h[sessRoom]; r != "" {
		s.Room = r
	}
	live := map[Dim]*Stats{}
	for k, v := range h {
		loc, rest, ok := strings.Cut(k, "|")
		if !ok {
			continue // room, pk, a, z
		}
		tr, name, ok := strings.Cut(rest, "|")
		if !ok {
			continue
		}
		d := Dim{Room: s.Room, Location: loc, Transport: transport(tr)}
		st := live[d]
		if st == nil {
			st = &Stats{}
			live[d] = st
		}
		if _, err := setField(st, name, v); err != nil {
			return Session{}, err
		}
	}
	for d, st := range live {
		st.SessionMS = st.ObservedMS - st.PatrolMS
		add(d).Merge(st)
	}
	for _, d := range order {
		d2 := d
		d2.Room = s.Room
		s.Dims = append(s.Dims, SessionDim{Dim: d2, Stats: *dims[d]})
	}
	return s, nil
}

// packedOnly reports whether a session hash holds nothing live: only its
// room, first and last window and packed part.
func packedOnly(h map[string]string) bool {
	for k := range h {
		if k != sessRoom && k != sessPacked && k != fieldFirst && k != fieldLast {
			return false
		}
	}
	return true
}
