package evidence

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// Stored is one raw Sample read back from the archive, with its group and
// whether a seal covers it.
type Stored struct {
	Raw   []byte
	Ident SampleIdent
	Group Group
	// Seal is the entry number of the group's seal covering this Sample;
	// 0 when it is not sealed yet.
	Seal int64
}

// Window is what an export covers: a room's Samples whose window started
// in [From, To), and the incident versions given.
type Window struct {
	Room     string
	From, To time.Time
	// Incidents are fault record versions to include when sealed (the
	// newest version of each incident touching the room, say).
	Incidents []Version
	// Subject describes the export for people (Doc.Subject).
	Subject string
}

// Exporter reads the raw archive and the chain to make exports.
type Exporter struct {
	rdb    redis.UniversalClient
	prefix string
	chain  *Chain
}

// NewExporter reads under prefix.
func NewExporter(rdb redis.UniversalClient, prefix string) *Exporter {
	return &Exporter{rdb: rdb, prefix: prefix, chain: NewChain(rdb, prefix)}
}

// Chain is the chain the exporter reads.
func (x *Exporter) Chain() *Chain { return x.chain }

// Samples reads room's raw Samples whose window started in [from, to),
// ordered by window, location, transport and participant. Hours whose raw
// list is gone (past reports.raw_retention) are in missing.
func (x *Exporter) Samples(ctx context.Context, room string, from, to time.Time) (out []Stored, missing []string, err error) {
	for _, h := range Hours(from, to.Add(-time.Nanosecond)) {
		rel := rollup.KeyRaw + room + ":" + h
		raws, err := x.rdb.LRange(ctx, x.prefix+rel, 0, -1).Result()
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", rel, err)
		}
		if len(raws) == 0 {
			missing = append(missing, h)
		}
		for _, raw := range raws {
			b := []byte(raw)
			id := Ident(b)
			if id.WindowStart.Before(from) || !id.WindowStart.Before(to) {
				continue
			}
			out = append(out, Stored{Raw: b, Ident: id, Group: GroupOf(id, room, h)})
		}
	}
	slices.SortStableFunc(out, func(a, b Stored) int {
		return cmp.Or(a.Ident.WindowStart.Compare(b.Ident.WindowStart), cmp.Compare(a.Ident.Location, b.Ident.Location),
			cmp.Compare(a.Ident.Transport, b.Ident.Transport), cmp.Compare(a.Ident.Participant, b.Ident.Participant),
			cmp.Compare(a.Ident.Seq, b.Ident.Seq))
	})
	return out, missing, nil
}

// Export makes the verifiable document of w at now, signing its head with
// key when it is not nil. The Samples returned carry their seal (0: not
// sealed yet, left out of the document and listed in Doc.Unsealed).
func (x *Exporter) Export(ctx context.Context, w Window, now time.Time, key ed25519.PrivateKey) (*Doc, []Stored, error) {
	samples, _, err := x.Samples(ctx, w.Room, w.From, w.To)
	if err != nil {
		return nil, nil, err
	}
	head, err := x.chain.Head(ctx)
	if err != nil {
		return nil, nil, err
	}
	doc := &Doc{Format: Format, Created: now.UTC().Truncate(time.Millisecond), Subject: w.Subject}
	var groups []Group
	for _, s := range samples {
		if !slices.Contains(groups, s.Group) {
			groups = append(groups, s.Group)
		}
	}
	for _, v := range w.Incidents {
		groups = append(groups, Group{Kind: KindIncident, Ref: IncidentRef(v.ID, v.Version)})
	}
	seals, err := x.chain.Seals(ctx, groups)
	if err != nil {
		return nil, nil, err
	}
	// index is, per sealed group whose seal still recomputes from the
	// archive, its leaves' places by digest.
	index := map[Group]map[Digest]int{}
	gi := map[Group]int{}
	for _, g := range groups {
		seal, ok := seals[g]
		if !ok || seal.N > head.N {
			doc.Unsealed = append(doc.Unsealed, g.String()+": not sealed yet")
			continue
		}
		var digests []Digest
		if g.Kind == KindIncident {
			i := slices.IndexFunc(w.Incidents, func(v Version) bool { return IncidentRef(v.ID, v.Version) == g.Ref })
			digests = []Digest{sha256Sum(w.Incidents[i].Doc)}
		} else {
			leaves, err := ReadLeaves(ctx, x.rdb, x.prefix, g, seal.Keys)
			if err != nil {
				return nil, nil, err
			}
			digests = Digests(leaves)
		}
		if d, _ := GroupDigest(g.Kind, g.Ref, digests); d != seal.Digest {
			doc.Unsealed = append(doc.Unsealed, fmt.Sprintf("%s: changed since its seal n=%d (late Samples waiting for a new seal, or raw Samples expired)", g, seal.N))
			continue
		}
		idx := make(map[Digest]int, len(digests))
		for i, d := range digests {
			if _, dup := idx[d]; !dup {
				idx[d] = i
			}
		}
		index[g] = idx
		gi[g] = len(doc.Groups)
		doc.Groups = append(doc.Groups, GroupLeaves{Kind: g.Kind, Ref: g.Ref, Seal: seal.N, Leaves: digests})
	}
	for i := range samples {
		s := &samples[i]
		idx, ok := index[s.Group]
		if !ok {
			continue
		}
		s.Seal = doc.Groups[gi[s.Group]].Seal
		doc.Records = append(doc.Records, Record{N: len(doc.Records) + 1, Kind: RecordSample, Group: s.Group.String(), Leaf: idx[sha256Sum(s.Raw)], Raw: string(s.Raw)})
	}
	for _, v := range w.Incidents {
		g := Group{Kind: KindIncident, Ref: IncidentRef(v.ID, v.Version)}
		if _, ok := index[g]; ok {
			doc.Records = append(doc.Records, Record{N: len(doc.Records) + 1, Kind: RecordIncident, Group: g.String(), Raw: string(v.Doc)})
		}
	}
	doc.RecordCount = len(doc.Records)
	if head.N > 0 {
		oldest := head.N
		for _, g := range doc.Groups {
			oldest = min(oldest, g.Seal)
		}
		doc.Chain, err = x.chain.Entries(ctx, oldest, head.N)
		if err != nil {
			return nil, nil, err
		}
	}
	doc.Head = Head{N: head.N, Hash: head.Hash, At: doc.Created}
	if key != nil && head.N > 0 {
		doc.Head = SignHead(doc.Head, key)
	}
	return doc, samples, nil
}

// Describe says which seal covers a Sample, for people: "封存 #42" or
// "未封存".
func Describe(s Stored) string {
	if s.Seal == 0 {
		return "未封存"
	}
	return fmt.Sprintf("封存 #%d", s.Seal)
}
