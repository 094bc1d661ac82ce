package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/evidence"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// TestEvidenceAndVerify: a sealed session is shown around a moment,
// exported, and the export verifies; one byte changed, a record dropped
// or one inserted, and verify names it (exit 1); an old moment says the
// raw Samples are gone; keygen makes a key verify accepts.
func TestEvidenceAndVerify(t *testing.T) {
	srv := bustest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	dir := t.TempDir()

	// Ten minutes of a session in jd-hall-1, seen from two locations,
	// ending 20 minutes ago; one dropout at the disputed minute from yz.
	end := time.Now().Add(-20 * time.Minute).Truncate(time.Minute)
	start := end.Add(-10 * time.Minute)
	at := start.Add(5 * time.Minute)
	for _, loc := range []string{"yz", "gy"} {
		for seq := uint64(1); seq <= 600; seq++ {
			s := sample.Sample{Probe: "p-" + loc, Location: loc, Session: "S-42", Room: "jd-hall-1", Transport: sample.TransportWS,
				Participant: "jd-hall-1/ws-1/" + loc + ".1", Seq: seq, WindowStart: start.Add(time.Duration(seq-1) * time.Second),
				WindowMS: 1000, Connected: true, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: 35, RTTMaxMS: 50}
			if loc == "yz" && s.WindowStart.Equal(at) {
				s.Connected, s.ConnectedMS, s.Dropouts, s.OutageMS, s.Error = false, 200, 1, 800, "read: connection reset by peer"
			}
			raw, err := bus.EncodeSample(s)
			if err != nil {
				t.Fatal(err)
			}
			if err := rdb.RPush(ctx, "bidwatch:"+rollup.KeyRaw+"jd-hall-1:"+s.WindowStart.UTC().Format(evidence.HourLayout), raw).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	atArg := at.Format(time.RFC3339)

	// Not sealed yet: shown, but nothing to export.
	code, out, errOut := executeIn(t, "", "evidence", "jd-hall-1", "--at", atArg, "--around", "2m", "--redis", srv.URL(), "--export", filepath.Join(dir, "none.json"))
	if code != 1 || !strings.Contains(out, "未封存") || !strings.Contains(errOut, "nothing exported") {
		t.Fatalf("before sealing: exit %d\n%s\n%s", code, out, errOut)
	}

	clock := clockwork.NewFakeClockAt(time.Now())
	s, err := evidence.NewSealer(evidence.SealerOptions{Redis: rdb, Prefix: "bidwatch:", Rooms: []string{"jd-hall-1"}, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(6 * time.Minute)
	if err := s.Pass(ctx); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(dir, "evidence.json")
	code, out, errOut = executeIn(t, "", "evidence", "jd-hall-1", "--at", atArg, "--around", "2m", "--redis", srv.URL(), "--export", file)
	if code != 0 {
		t.Fatalf("evidence: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"探测位置 yz · ws", "探测位置 gy · ws", "◀", "1 次 断开 0.8 s", "connection reset by peer", "封存 #", "session:S-42"} {
		if !strings.Contains(out, want) {
			t.Errorf("evidence output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "480 records") {
		t.Errorf("export: %s", errOut)
	}
	code, out, errOut = executeIn(t, "", "verify", file)
	if code != 0 || !strings.HasPrefix(out, "verified: 480 records, ") {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = executeIn(t, "", "verify", file, "--redis", srv.URL())
	if code != 0 || !strings.Contains(out, "match the live chain") {
		t.Fatalf("verify --redis: exit %d\n%s\n%s", code, out, errOut)
	}

	data, _ := os.ReadFile(file)
	edit := func(fn func(recs []any) []any) string {
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		doc["records"] = fn(doc["records"].([]any))
		b, _ := json.MarshalIndent(doc, "", "  ")
		return string(b)
	}
	tampered := []struct {
		name, file, want string
	}{
		{"one byte", strings.Replace(string(data), `\"rtt_ms\":35`, `\"rtt_ms\":36`, 1), "record 1 (session:S-42, leaf"},
		{"a record dropped", edit(func(r []any) []any { return slices.Delete(r, 1, 2) }), "record 2: removed"},
		{"a record inserted", edit(func(r []any) []any { return slices.Insert(r, 3, r[2]) }), "record 4: added"},
	}
	for _, c := range tampered {
		f := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(f, []byte(c.file), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut = executeIn(t, "", "verify", f)
		if code != 1 || !strings.Contains(errOut, "NOT VERIFIED: "+c.want) {
			t.Errorf("%s: exit %d\n%s\n%s", c.name, code, out, errOut)
		}
	}

	// A fault record of the room, sealed: the JSON incidents export
	// verifies, offline and against the live chain; one byte changed in
	// its phenomenon does not.
	store := incident.NewRedisStore(rdb, "bidwatch:", config.DefaultWatchdog().Incidents)
	inc, _, err := store.Open(ctx, correlate.Problem{
		Key: "room:jd-hall-1", Cause: vocab.CauseRoom, Subject: "jd-hall-1", SubCenters: []string{"jd"},
		Rooms: []string{"jd-hall-1"}, Explains: []string{"jd-hall-1"}, Locations: []string{"yz"},
		Findings: []*detect.Finding{{Kind: vocab.KindDropout, Severity: vocab.SeverityCritical, Room: "jd-hall-1",
			Onset: at, FiredAt: at, Text: "participants dropped"}},
		Kinds: []vocab.Kind{vocab.KindDropout}, Severity: vocab.SeverityCritical, Since: at, Page: true,
	}, at)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := incident.Canonical(inc)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SealIncident(ctx, evidence.Version{ID: inc.ID, Version: inc.Version, Doc: doc}); err != nil {
		t.Fatal(err)
	}
	incFile := filepath.Join(dir, "incidents.json")
	if code, _, errOut := executeIn(t, "", "incidents", "export", "--format", "json", "--redis", srv.URL(), "-o", incFile); code != 0 {
		t.Fatalf("incidents export: exit %d %s", code, errOut)
	}
	code, out, errOut = executeIn(t, "", "verify", incFile, "--redis", srv.URL())
	if code != 0 || !strings.HasPrefix(out, "verified: 1 records, 1 chain entries") || !strings.Contains(out, "match the live chain") {
		t.Errorf("verify incidents: exit %d\n%s\n%s", code, out, errOut)
	}
	csvFile := filepath.Join(dir, "incidents.csv")
	if code, _, errOut := executeIn(t, "", "incidents", "export", "--format", "csv", "--redis", srv.URL(), "-o", csvFile); code != 0 {
		t.Fatalf("incidents export csv: exit %d %s", code, errOut)
	}
	code, out, errOut = executeIn(t, "", "verify", csvFile, "--redis", srv.URL())
	if code != 0 || !strings.HasPrefix(out, "verified: 1 records, 0 chain entries") || !strings.Contains(out, "match the live chain") || !strings.Contains(out, "head only") {
		t.Errorf("verify csv: exit %d\n%s\n%s", code, out, errOut)
	}
	incData, _ := os.ReadFile(incFile)
	_ = os.WriteFile(incFile, []byte(strings.Replace(string(incData), "participants dropped", "participants droppeD", 1)), 0o644)
	if code, _, errOut = executeIn(t, "", "verify", incFile); code != 1 || !strings.Contains(errOut, "record 1 ("+inc.ID+" v1): changed") {
		t.Errorf("verify a changed incident: exit %d %s", code, errOut)
	}

	// A report's evidence block: its signed head checks against the key.
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	head, err := evidence.NewChain(rdb, "bidwatch:").SignedHead(ctx, time.Now(), key)
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := json.Marshal(map[string]any{"title": "运维报告", "evidence": map[string]any{"head": head}})
	repFile, keyPub := filepath.Join(dir, "report.json"), filepath.Join(dir, "center.pub")
	_ = os.WriteFile(repFile, rep, 0o644)
	_ = os.WriteFile(keyPub, []byte(hex.EncodeToString(key.Public().(ed25519.PublicKey))), 0o644)
	if code, out, errOut = executeIn(t, "", "verify", repFile, "--pubkey", keyPub, "--redis", srv.URL()); code != 0 || !strings.Contains(out, "good") {
		t.Errorf("verify a report: exit %d\n%s\n%s", code, out, errOut)
	}
	other := filepath.Join(dir, "other.pub")
	_ = os.WriteFile(other, []byte(strings.Repeat("ab", 32)), 0o644)
	if code, _, errOut = executeIn(t, "", "verify", repFile, "--pubkey", other); code != 1 || !strings.Contains(errOut, "signature wrong") {
		t.Errorf("verify a report with another key: exit %d %s", code, errOut)
	}

	// A moment past raw retention: the roll-ups, no error.
	code, out, errOut = executeIn(t, "", "evidence", "jd-hall-1", "--at", "2020-01-01 10:00", "--redis", srv.URL())
	if code != 0 || !strings.Contains(out, "原始样本只保留 48h0m0s") {
		t.Errorf("old moment: exit %d\n%s\n%s", code, out, errOut)
	}

	// keygen: a key verify takes; the unsigned head is noted.
	keyFile := filepath.Join(dir, "ev.key")
	code, pub, errOut := executeIn(t, "", "evidence", "keygen", "-o", keyFile)
	if code != 0 || len(strings.TrimSpace(pub)) != 64 {
		t.Fatalf("keygen: exit %d %q %s", code, pub, errOut)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	pubFile := filepath.Join(dir, "ev.pub")
	_ = os.WriteFile(pubFile, []byte(pub), 0o644)
	code, out, _ = executeIn(t, "", "verify", file, "--pubkey", pubFile)
	if code != 0 || !strings.Contains(out, "not signed") {
		t.Errorf("verify --pubkey: exit %d\n%s", code, out)
	}
	if code, _, _ = executeIn(t, "", "evidence", "keygen", "-o", keyFile); code != 2 {
		t.Errorf("keygen over an existing file: exit %d, want 2", code)
	}

	// Usage errors.
	for _, args := range [][]string{
		{"evidence", "jd-hall-1", "--redis", srv.URL()},
		{"evidence", "jd-hall-1", "--at", "noon", "--redis", srv.URL()},
		{"verify", filepath.Join(dir, "missing.json")},
	} {
		if code, _, _ := executeIn(t, "", args...); code != 3 {
			t.Errorf("%v: exit %d, want 3", args, code)
		}
	}
	f := filepath.Join(dir, "junk.json")
	_ = os.WriteFile(f, []byte(`{"hello":1}`), 0o644)
	if code, _, errOut := executeIn(t, "", "verify", f); code != 1 || !strings.Contains(errOut, "not a bidwatch evidence export") {
		t.Errorf("junk: exit %d %s", code, errOut)
	}
}
