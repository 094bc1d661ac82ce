package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSigningKey(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	want := ed25519.NewKeyFromSeed(seed)
	bad := append([]byte{}, want...)
	bad[40] ^= 1 // the public half no longer matches the seed
	tests := []struct {
		name string
		data []byte
		err  string
	}{
		{"raw seed", seed, ""},
		{"raw key", want, ""},
		{"hex seed", []byte(hex.EncodeToString(seed) + "\n"), ""},
		{"base64 key", []byte(base64.StdEncoding.EncodeToString(want)), ""},
		{"short", []byte("abcd"), "want a 32-byte seed or a 64-byte key"},
		{"mismatched halves", bad, "public half does not match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ParseSigningKey(tc.data)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !key.Equal(want) {
				t.Fatal("a different key")
			}
		})
	}
}

func TestReportsDefaults(t *testing.T) {
	c, err := Parse([]byte(`city: {id: yz, name: 扬州}
sub_centers: [{id: yz, name: 交易中心, kind: center}]
dispatch:
  channels: [{name: ops, type: webhook, url: "http://127.0.0.1:9/hook"}]
reports:
  deliver: [{periods: [month], channels: [ops]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Reports
	if r.TimeZone != "Asia/Shanghai" || r.Location().String() != "Asia/Shanghai" || r.RawRetention != DefaultRawRetention || r.RollupRetention != DefaultRollupRetention {
		t.Errorf("defaults: %+v", r)
	}
	if d := r.Deliver[0]; d.Scope != "city" || d.After != DefaultDeliverAfter {
		t.Errorf("delivery defaults: %+v", d)
	}
	key, err := r.LoadSigningKey()
	if key != nil || err != nil {
		t.Errorf("no signing key set: got %v, %v", key, err)
	}
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	r.SigningKey = path
	if key, err := r.LoadSigningKey(); err != nil || len(key) != ed25519.PrivateKeySize {
		t.Errorf("LoadSigningKey = %d bytes, %v", len(key), err)
	}
}
