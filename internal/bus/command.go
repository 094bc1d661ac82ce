package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// CommandProbeNow asks probe agents to probe a room now, for a while.
const CommandProbeNow = "probe_now"

// commandsMaxLen bounds the commands stream; commands are few.
const commandsMaxLen = 10_000

// Command is an instruction to probe agents, sent through the commands stream
// (by `bidwatch probe now` and the console). Every agent reads every command;
// Location or Probe narrow who acts on it.
type Command struct {
	// ID is the stream entry ID, set on read.
	ID string `json:"-"`
	// Kind is what to do: CommandProbeNow.
	Kind string `json:"kind"`
	// Room to probe.
	Room string `json:"room"`
	// For is how long to probe, from At.
	For time.Duration `json:"-"`
	// At is when the command was given.
	At time.Time `json:"at"`
	// Location, when set, limits the command to agents at that location.
	Location string `json:"location,omitempty"`
	// Probe, when set, limits the command to that probe.
	Probe string `json:"probe,omitempty"`
	// By names who gave it, for the record.
	By string `json:"by,omitempty"`
}

// MarshalJSON encodes For as a duration string ("10m0s").
func (c Command) MarshalJSON() ([]byte, error) {
	type plain Command
	return json.Marshal(struct {
		plain
		For string `json:"for"`
	}{plain(c), c.For.String()})
}

// UnmarshalJSON decodes For from a duration string.
func (c *Command) UnmarshalJSON(data []byte) error {
	type plain Command
	var w struct {
		plain
		For string `json:"for"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*c = Command(w.plain)
	if w.For != "" {
		d, err := time.ParseDuration(w.For)
		if err != nil {
			return fmt.Errorf("for: %w", err)
		}
		c.For = d
	}
	return nil
}

// ErrBadCommand is returned (wrapped) for a command that cannot be acted on.
var ErrBadCommand = errors.New("bad command")

// Validate checks that c can be acted on.
func (c Command) Validate() error {
	var errs []error
	if c.Kind != CommandProbeNow {
		errs = append(errs, fmt.Errorf("kind: unknown kind %q (want %q)", c.Kind, CommandProbeNow))
	}
	if c.Room == "" {
		errs = append(errs, errors.New("room: missing"))
	}
	if c.For <= 0 {
		errs = append(errs, fmt.Errorf("for: must be positive, not %v", c.For))
	}
	if c.At.IsZero() {
		errs = append(errs, errors.New("at: missing"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrBadCommand, errors.Join(errs...))
	}
	return nil
}

// SendCommand validates c and appends it to the commands stream, returning its ID.
func (b *Bus) SendCommand(ctx context.Context, c Command) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode command: %w", err)
	}
	id, err := b.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: b.Key(KeyCommands),
		MaxLen: commandsMaxLen,
		Approx: true,
		Values: []any{FieldCommand, data},
	}).Result()
	if err != nil {
		return "", fmt.Errorf("send command: %w", err)
	}
	return id, nil
}

// CommandsSince returns the commands given at or after since (by stream ID),
// oldest first, and the ID to continue from with ReadCommands ("0-0" when
// there are none). An agent calls it at start to pick up commands that are
// still in force.
func (b *Bus) CommandsSince(ctx context.Context, since time.Time) ([]Command, string, error) {
	start := strconv.FormatInt(since.UnixMilli(), 10)
	msgs, err := b.rdb.XRange(ctx, b.Key(KeyCommands), start, "+").Result()
	if err != nil {
		return nil, "", fmt.Errorf("read commands: %w", err)
	}
	last := start + "-0"
	if len(msgs) > 0 {
		last = msgs[len(msgs)-1].ID
	}
	return b.decodeCommands(msgs), last, nil
}

// ReadCommands waits up to block for commands after the stream ID after and
// returns them with the ID to continue from. No command within block returns
// none and after unchanged.
func (b *Bus) ReadCommands(ctx context.Context, after string, block time.Duration) ([]Command, string, error) {
	res, err := b.rdb.XRead(ctx, &redis.XReadArgs{
		Streams: []string{b.Key(KeyCommands), after},
		Block:   block,
		Count:   100,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, after, nil
	}
	if err != nil {
		return nil, after, fmt.Errorf("read commands: %w", err)
	}
	var msgs []redis.XMessage
	for _, s := range res {
		msgs = append(msgs, s.Messages...)
	}
	if len(msgs) > 0 {
		after = msgs[len(msgs)-1].ID
	}
	return b.decodeCommands(msgs), after, nil
}

// decodeCommands decodes stream entries, logging and skipping bad ones.
func (b *Bus) decodeCommands(msgs []redis.XMessage) []Command {
	out := make([]Command, 0, len(msgs))
	for _, m := range msgs {
		c, err := decodeCommand(m.Values)
		if err != nil {
			b.logger.Warn("skipping bad command", "id", m.ID, "err", err)
			continue
		}
		c.ID = m.ID
		out = append(out, c)
	}
	return out
}

func decodeCommand(values map[string]any) (Command, error) {
	v, ok := values[FieldCommand].(string)
	if !ok {
		return Command{}, fmt.Errorf("%w: no %q field", ErrBadCommand, FieldCommand)
	}
	var c Command
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return Command{}, fmt.Errorf("%w: %v", ErrBadCommand, err)
	}
	return c, c.Validate()
}
