package bus

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func openBus(t *testing.T, url string, opts Options) *Bus {
	t.Helper()
	opts.URL = url
	b, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	return b
}

func TestKeys(t *testing.T) {
	b := openBus(t, "", Options{})
	if got := b.Key(KeySamples); got != "bidwatch:samples" {
		t.Errorf("Key(samples) = %q", got)
	}
	b2 := openBus(t, "", Options{Prefix: "{city-a}:"})
	if got := b2.Key(KeyCommands); got != "{city-a}:commands" {
		t.Errorf("Key(commands) = %q", got)
	}
	if !b.Embedded() || b.Addr() == "" {
		t.Errorf("embedded bus: Embedded() = %v, Addr() = %q", b.Embedded(), b.Addr())
	}
}

func TestNewClientURLs(t *testing.T) {
	tests := []struct {
		url     string
		mode    mode
		wantErr string
	}{
		{url: "redis://127.0.0.1:6399/2", mode: modeSingle},
		{url: "rediss://user:pw@127.0.0.1:6399", mode: modeSingle},
		{url: "redis://127.0.0.1:6399?dial_timeout=1s&pool_size=4", mode: modeSingle},
		{url: "redis-sentinel://127.0.0.1:26379?master_name=mymaster&addr=127.0.0.1:26380", mode: modeSentinel},
		{url: "redis://127.0.0.1:26379/1?master_name=mymaster", mode: modeSentinel},
		{url: "redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002", mode: modeCluster},
		{url: "redis-cluster://127.0.0.1:7000", mode: modeCluster},
		{url: "redis-sentinel://127.0.0.1:26379", wantErr: "needs ?master_name="},
		{url: "http://127.0.0.1:6379", wantErr: `unknown scheme "http"`},
		{url: "redis://127.0.0.1:6379?bogus=1", wantErr: "unexpected option"},
		{url: "redis://:s3cret@127.0.0.1:6379/x", wantErr: "invalid database number"},
		{url: "redis://a b:s3cret@%zz", wantErr: "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, m, err := newClient(tt.url)
			if c != nil {
				defer c.Close()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if m != tt.mode {
				t.Errorf("mode = %s, want %s", m, tt.mode)
			}
		})
	}
}

func TestClusterNeedsHashTag(t *testing.T) {
	_, err := Open(context.Background(), Options{URL: "redis-cluster://127.0.0.1:7000"})
	if !errors.Is(err, ErrClusterPrefix) {
		t.Fatalf("err = %v, want ErrClusterPrefix", err)
	}
	b, err := Open(context.Background(), Options{URL: "redis-cluster://127.0.0.1:7000", Prefix: "bidwatch:{city}:"})
	if err != nil {
		t.Fatalf("hash-tagged prefix: %v", err)
	}
	_ = b.Close()
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"redis://user:pw@host:6379/0":          "redis://user:xxxxx@host:6379/0",
		"redis://host:6379?password=pw&db=1":   "redis://host:6379?db=1&password=xxxxx",
		"redis-sentinel://:pw@h?master_name=m": "redis-sentinel://:xxxxx@h?master_name=m",
		"redis://host:6379":                    "redis://host:6379",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEmbeddedStopsOnClose(t *testing.T) {
	b, err := Open(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err == nil {
		t.Error("embedded redis still answers after Close")
	}
}
