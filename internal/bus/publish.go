package bus

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/sample"
)

// Entry is one encoded Sample ready to publish: who sent it (probe and
// participant, which together name a seq counter), its seq, and its JSON.
type Entry struct {
	Probe       string
	Participant string
	Seq         uint64
	Data        []byte
}

// NewEntry encodes s for Publish.
func NewEntry(s sample.Sample) (Entry, error) {
	data, err := EncodeSample(s)
	if err != nil {
		return Entry{}, err
	}
	return Entry{Probe: s.Probe, Participant: s.Participant, Seq: s.Seq, Data: data}, nil
}

// PublishResult counts what a Publish did.
type PublishResult struct {
	// Added entries were appended to the samples stream.
	Added int
	// Skipped entries were already there (their seq was not above the last
	// one recorded for their participant): a replay after an unclear failure.
	Skipped int
}

// scriptChunk is how many entries one script call carries; several calls go
// in one pipeline.
const scriptChunk = 128

// publishScript appends each entry to the stream only if its seq is above the
// last seq recorded for its participant, then records it. Because a
// participant's entries are always offered in seq order, a retry of a batch
// whose outcome was unknown adds nothing twice.
//
// A call that adds nothing still writes (it renews the first entry's lastseq
// key): a WAIT after it on the same connection then covers every earlier
// write on this master, so a re-sent batch whose entries the master had —
// but had not yet handed to a replica — is confirmed only once a replica
// has them too.
//
// KEYS[1] = samples stream; KEYS[1+i] = lastseq key of entry i.
// ARGV[1] = MAXLEN; ARGV[2] = lastseq TTL in seconds; ARGV[1+2i] = seq of
// entry i; ARGV[2+2i] = its JSON.
var publishScript = redis.NewScript(`
local maxlen = ARGV[1]
local ttl = ARGV[2]
local added = 0
for i = 2, #KEYS do
  local seq = tonumber(ARGV[2*i - 1])
  local last = tonumber(redis.call('GET', KEYS[i]) or '0')
  if seq > last then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'sample', ARGV[2*i])
    redis.call('SET', KEYS[i], ARGV[2*i - 1], 'EX', ttl)
    added = added + 1
  end
end
if added == 0 and #KEYS > 1 then
  redis.call('SET', KEYS[2], redis.call('GET', KEYS[2]) or '0', 'EX', ttl)
end
return added
`)

// Publish appends entries to the samples stream in one pipelined round trip,
// skipping any already published (see publishScript), and — where replicas
// are required (Options.MinReplicas) — ends the pipeline with one WAIT for
// them, on the same connection. Entries of one participant must come in seq
// order. On error (ErrNotReplicated included) the outcome of some entries is
// unknown or not yet safe from a failover; publishing them again is safe.
func (b *Bus) Publish(ctx context.Context, entries []Entry) (PublishResult, error) {
	if len(entries) == 0 {
		return PublishResult{}, nil
	}
	res, err := b.publish(ctx, entries)
	if err != nil && isNoScript(err) {
		// A restarted or failed-over Redis lost the script cache: load it and
		// try again, which is safe because publishing is idempotent.
		if lerr := b.LoadScripts(ctx); lerr != nil {
			return PublishResult{}, fmt.Errorf("publish: %w", lerr)
		}
		res, err = b.publish(ctx, entries)
	}
	b.afterClusterError(ctx, err)
	return res, err
}

func (b *Bus) publish(ctx context.Context, entries []Entry) (PublishResult, error) {
	stream := b.Key(KeySamples)
	maxLen := strconv.FormatInt(b.maxLen, 10)
	ttl := strconv.FormatInt(int64(b.lastSeqTTL.Seconds()), 10)

	need, err := b.MinReplicas(ctx)
	if err != nil {
		return PublishResult{}, fmt.Errorf("publish %d samples: %w", len(entries), err)
	}
	w, err := b.writer(ctx)
	if err != nil {
		return PublishResult{}, fmt.Errorf("publish %d samples: %w", len(entries), err)
	}
	pipe := w.Pipeline()
	cmds := make([]*redis.Cmd, 0, (len(entries)+scriptChunk-1)/scriptChunk)
	for start := 0; start < len(entries); start += scriptChunk {
		chunk := entries[start:min(start+scriptChunk, len(entries))]
		keys := make([]string, 0, len(chunk)+1)
		args := make([]any, 0, 2*len(chunk)+2)
		keys = append(keys, stream)
		args = append(args, maxLen, ttl)
		for _, e := range chunk {
			keys = append(keys, b.lastSeqKey(e.Probe, e.Participant))
			args = append(args, strconv.FormatUint(e.Seq, 10), e.Data)
		}
		cmds = append(cmds, publishScript.EvalSha(ctx, pipe, keys, args...))
	}
	wait := b.addWait(ctx, pipe, need)
	_, err = pipe.Exec(ctx)
	var res PublishResult
	for i, c := range cmds {
		n := min(scriptChunk, len(entries)-i*scriptChunk)
		added, cerr := c.Int()
		if cerr != nil {
			if err == nil {
				err = cerr
			}
			continue
		}
		res.Added += added
		res.Skipped += n - added
	}
	if err == nil {
		err = b.checkWait(wait, need)
	}
	if err != nil {
		return res, fmt.Errorf("publish %d samples: %w", len(entries), err)
	}
	return res, nil
}

// lastSeqKey names the key that holds the last seq published by one
// participant of one probe.
func (b *Bus) lastSeqKey(probe, participant string) string {
	return b.prefix + KeyLastSeq + probe + "/" + participant
}

func isNoScript(err error) bool {
	return err != nil && strings.Contains(err.Error(), "NOSCRIPT")
}

// LoadScripts loads the Lua scripts into Redis's script cache. Publish does
// it on demand too; calling it at start saves one round trip.
func (b *Bus) LoadScripts(ctx context.Context) error {
	if err := publishScript.Load(ctx, b.rdb).Err(); err != nil {
		return fmt.Errorf("load scripts: %w", err)
	}
	if _, ok := b.rdb.(*redis.ClusterClient); ok {
		// Publishing talks to the slot's master directly: make sure it
		// has the script, whichever node that is now.
		w, err := b.writer(ctx)
		if err != nil {
			return fmt.Errorf("load scripts: %w", err)
		}
		if err := publishScript.Load(ctx, w).Err(); err != nil {
			return fmt.Errorf("load scripts: %w", err)
		}
	}
	return nil
}
