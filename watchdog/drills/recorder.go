package drills

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/synthetic/hall/drill"
)

// writeTimeout bounds one write of a run: the drill player waits for it.
const writeTimeout = 2 * time.Second

// Recorder records the drill runs played here.
type Recorder struct {
	store *Store
	city  *config.Config
	host  string
	log   *slog.Logger
}

// NewRecorder records runs in store; city places the faults (nil: only
// what each fault names); host names the player ("hall 127.0.0.1:7400").
func NewRecorder(store *Store, city *config.Config, host string, logger *slog.Logger) *Recorder {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Recorder{store: store, city: city, host: host, log: logger.With("component", "drills")}
}

// Recording is one run being recorded.
type Recording struct {
	mu    sync.Mutex
	run   Run
	store *Store
	log   *slog.Logger
}

// Begin records a script about to be played from start, and returns the
// recording its events go to. The run is written at once, so a run whose
// player dies is still on record.
func (rec *Recorder) Begin(ctx context.Context, s *drill.Script, file string, start time.Time) (*Recording, error) {
	r := &Recording{run: NewRun(NewRunID(start), s, file, rec.host, start, rec.city), store: rec.store,
		log: rec.log}
	r.log = r.log.With("run", r.run.ID)
	if err := r.write(ctx); err != nil {
		return nil, err
	}
	r.log.Info("drill run recorded", "script", r.run.Script, "drills", len(r.run.Drills))
	return r, nil
}

// OnEvent records a drill event; it is drill.Options.OnEvent's shape. A
// write that fails is logged: the drill goes on.
func (r *Recording) OnEvent(e drill.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.run = r.run.Apply(e)
	if err := r.write(context.Background()); err != nil {
		r.log.Warn("record a drill event", "kind", e.Kind, "drill", e.Index, "err", err)
	}
}

// End records the end of the player: a run that did not finish is marked
// interrupted at t.
func (r *Recording) End(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.run.State != RunRunning {
		return
	}
	r.run = r.run.Interrupt(t)
	if err := r.write(context.Background()); err != nil {
		r.log.Warn("record the end of a drill run", "err", err)
	}
}

// Run returns the run as recorded so far.
func (r *Recording) Run() Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.run
}

func (r *Recording) write(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	return r.store.Put(ctx, r.run)
}

// NewRunID names a run started at t: "20261203-164105-3f2a" (UTC).
func NewRunID(t time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}
