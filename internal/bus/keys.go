package bus

// DefaultPrefix starts every key bidwatch writes.
const DefaultPrefix = "bidwatch:"

// Key names, relative to the prefix. (*Bus).Key turns them into full names;
// no other package spells a key out.
const (
	// KeySamples is the stream of Samples, one entry per Sample.
	KeySamples = "samples"
	// KeyLastSeq prefixes the per-participant keys that hold the last seq
	// published, which makes publishing idempotent ("lastseq:" + probe + "/" +
	// participant).
	KeyLastSeq = "lastseq:"
	// KeyProbes is the hash of probe heartbeats, field = probe id.
	KeyProbes = "probes"
	// KeyCommands is the stream of commands to probe agents ("probe now").
	KeyCommands = "commands"
	// KeySchedule prefixes the per-probe keys that hold the sessions a probe
	// agent knows of ("schedule:" + probe id), a JSON array that expires
	// unless the agent's heartbeat renews it.
	KeySchedule = "schedule:"
)

// FieldSample is the stream field that holds a Sample's JSON.
const FieldSample = "sample"

// FieldCommand is the stream field that holds a Command's JSON.
const FieldCommand = "command"

// Key returns the full name of key name under the bus's prefix:
// Key(KeySamples) is "bidwatch:samples" with the default prefix.
func (b *Bus) Key(name string) string { return b.prefix + name }

// Prefix is the prefix every key starts with.
func (b *Bus) Prefix() string { return b.prefix }
