package evidence

import (
	"crypto/ed25519"
	"errors"
	"testing"
)

// FuzzVerify: whatever the bytes, Verify returns a result or an error —
// ErrNotEvidence or a *Problem — and never panics. The corpus in
// testdata/fuzz/FuzzVerify holds a small true export and broken ones.
func FuzzVerify(f *testing.F) {
	f.Add(encode(f, fixture(f)))
	f.Add([]byte(`{"format":"bidwatch-evidence/1","records":[{"n":1,"kind":"sample","group":"session:S","leaf":-1,"raw":""}],"record_count":1}`))
	f.Add([]byte(`{"format":"bidwatch-evidence/1","groups":[{"kind":"incident","ref":"x","seal":0,"leaves":[]}],"chain":[{"n":0}],"head":{"n":0}}`))
	pub := testKey().Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, key := range []ed25519.PublicKey{nil, pub} {
			res, err := Verify(data, key)
			var p *Problem
			if err != nil && !errors.Is(err, ErrNotEvidence) && !errors.As(err, &p) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			if err == nil && res.Records < 0 {
				t.Fatal("negative records")
			}
		}
	})
}
