package probe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
)

// Schedule source defaults.
const (
	DefaultFeedInterval      = time.Minute
	DefaultFileCheckInterval = 5 * time.Second
)

// scheduleStore merges the sources' last good schedules and the ad-hoc
// requests, and tells the reconciler when they change.
type scheduleStore struct {
	mu       sync.Mutex
	bySource map[string][]Session // source name → its last good sessions
	order    []string             // sources in precedence order, lowest first
	adhoc    map[string]Session
	changed  chan struct{}
}

func newScheduleStore() *scheduleStore {
	return &scheduleStore{bySource: map[string][]Session{}, adhoc: map[string]Session{}, changed: make(chan struct{}, 1)}
}

// register fixes a source's precedence: sources registered later win.
func (st *scheduleStore) register(source string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.bySource[source]; !ok {
		st.order = append(st.order, source)
		st.bySource[source] = nil
	}
}

// set replaces a source's sessions. Later-registered sources win when two
// carry the same session id (the feed over the file).
func (st *scheduleStore) set(source string, sessions []Session) {
	st.mu.Lock()
	if _, ok := st.bySource[source]; !ok {
		st.order = append(st.order, source)
	}
	st.bySource[source] = sessions
	st.mu.Unlock()
	st.signal()
}

// addAdHoc records a "probe this room now" request.
func (st *scheduleStore) addAdHoc(s Session) {
	st.mu.Lock()
	st.adhoc[s.ID] = s
	st.mu.Unlock()
	st.signal()
}

// sessions returns the merged schedule, dropping ad-hoc requests that ended
// before now.
func (st *scheduleStore) sessions(now time.Time) []Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	byID := map[string]Session{}
	var ids []string
	for _, src := range st.order {
		for _, s := range st.bySource[src] {
			if _, ok := byID[s.ID]; !ok {
				ids = append(ids, s.ID)
			}
			byID[s.ID] = s
		}
	}
	out := make([]Session, 0, len(ids)+len(st.adhoc))
	for _, id := range ids {
		out = append(out, byID[id])
	}
	var adhoc []string
	for id, s := range st.adhoc {
		if !s.OpensAt.Add(s.ExpectedDuration).After(now) {
			delete(st.adhoc, id)
			continue
		}
		adhoc = append(adhoc, id)
	}
	sort.Strings(adhoc)
	for _, id := range adhoc {
		out = append(out, st.adhoc[id])
	}
	return out
}

func (st *scheduleStore) signal() {
	select {
	case st.changed <- struct{}{}:
	default:
	}
}

// fileSource keeps a schedule file's last good content in the store,
// re-reading the file when its size or modification time changes.
type fileSource struct {
	path      string
	interval  time.Duration
	knownRoom func(string) bool
	store     *scheduleStore
	logger    *slog.Logger
	onError   func()

	mod  time.Time
	size int64
}

// load reads the file if it changed. A bad file is reported and the last good
// schedule kept.
func (f *fileSource) load() error {
	fi, err := os.Stat(f.path)
	if err != nil {
		return fmt.Errorf("schedule %s: %w", f.path, err)
	}
	if fi.ModTime().Equal(f.mod) && fi.Size() == f.size {
		return nil
	}
	f.mod, f.size = fi.ModTime(), fi.Size()
	sessions, err := LoadScheduleFile(f.path, f.knownRoom)
	if err != nil {
		return err
	}
	f.store.set(f.source(), sessions)
	f.logger.Info("schedule loaded", "file", f.path, "sessions", len(sessions))
	return nil
}

func (f *fileSource) source() string { return "file:" + f.path }

func (f *fileSource) run(ctx context.Context) {
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f.load(); err != nil {
				f.onError()
				f.logger.Error("schedule file rejected; keeping the last good schedule", "err", err)
			}
		}
	}
}

// feedSource polls the trading system's schedule feed, with ETag and
// If-None-Match, keeping the last good schedule when a response is bad.
type feedSource struct {
	url       string
	header    http.Header
	interval  time.Duration
	client    *http.Client
	knownRoom func(string) bool
	store     *scheduleStore
	logger    *slog.Logger
	onError   func()

	etag string
}

// poll fetches the feed once. A 304 changes nothing; a bad response is an
// error and changes nothing.
// name is the feed's URL without credentials, for logs and errors.
func (f *feedSource) name() string { return bus.Redact(f.url) }

func (f *feedSource) poll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(f.interval, 30*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return fmt.Errorf("schedule feed %s: %w", f.name(), err)
	}
	for k, v := range f.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if f.etag != "" {
		req.Header.Set("If-None-Match", f.etag)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("schedule feed: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxScheduleBytes+1))
	if err != nil {
		return fmt.Errorf("schedule feed %s: read: %w", f.name(), err)
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return nil
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("schedule feed %s: %s", f.name(), resp.Status)
	}
	sessions, err := ParseScheduleJSON(body, f.knownRoom)
	if err != nil {
		return fmt.Errorf("schedule feed %s: %w", f.name(), err)
	}
	f.etag = resp.Header.Get("ETag")
	f.store.set(f.source(), sessions)
	f.logger.Info("schedule feed loaded", "url", f.name(), "sessions", len(sessions))
	return nil
}

func (f *feedSource) source() string { return "feed:" + f.url }

func (f *feedSource) run(ctx context.Context) {
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		if err := f.poll(ctx); err != nil && ctx.Err() == nil {
			f.onError()
			f.logger.Error("schedule feed rejected; keeping the last good schedule", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
