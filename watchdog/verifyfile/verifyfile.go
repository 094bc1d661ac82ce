// Package verifyfile verifies any file bidwatch writes that carries
// evidence (docs/evidence.md): an evidence export, a JSON or CSV incidents
// export, a period report with its evidence block. It tells them apart by
// their first bytes and checks each the way it can be checked; `bidwatch
// verify` is its command line.
package verifyfile

import (
	"bytes"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bidwatch/bidwatch/watchdog/evidence"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Verify tells the kinds of file apart and verifies one: what it
// holds, and the chain entries (with the head) to compare with the live
// chain.
func Verify(data []byte, pub ed25519.PublicKey) (evidence.Result, []evidence.Entry, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	switch {
	case bytes.HasPrefix(trimmed, []byte(incident.CSVHeadPrefix)):
		line, _, _ := bytes.Cut(trimmed, []byte("\n"))
		h, err := headLine(strings.TrimPrefix(string(line), incident.CSVHeadPrefix))
		if err != nil {
			return evidence.Result{}, nil, err
		}
		_, rest, _ := bytes.Cut(trimmed, []byte("\n"))
		recs, err := csv.NewReader(bytes.NewReader(rest)).ReadAll()
		if err != nil {
			return evidence.Result{}, nil, &evidence.Problem{Where: "CSV", What: evidence.NotDocumented, Detail: err.Error()}
		}
		return evidence.Result{Records: max(len(recs)-1, 0), Head: h, Notes: []string{
			"a CSV export carries the chain head only: its records are not sealed one by one (use --format json, or an evidence export)",
			"offline, the head is only read: give --redis (or --config) to find it in the live chain"}}, nil, nil
	case incident.IsRecordsJSON(trimmed):
		res, err := incident.VerifyJSON(trimmed)
		return res.Result, res.Seals, err
	case bytes.HasPrefix(trimmed, []byte("{")):
		var probe struct {
			Format   string          `json:"format"`
			Evidence json.RawMessage `json:"evidence"`
		}
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			return evidence.Result{}, nil, fmt.Errorf("%w: %v", evidence.ErrNotEvidence, err)
		}
		if probe.Format == evidence.Format {
			d, err := evidence.Decode(bytes.NewReader(trimmed))
			if err != nil {
				return evidence.Result{}, nil, err
			}
			res, err := evidence.VerifyDoc(d, pub)
			return res, d.Chain, err
		}
		if len(probe.Evidence) > 0 {
			return reportHead(probe.Evidence, pub)
		}
	}
	return evidence.Result{}, nil, fmt.Errorf("%w: neither an evidence export, an incidents export nor a report with an evidence block", evidence.ErrNotEvidence)
}

// reportHead checks the evidence block of a report: {head, error}.
func reportHead(raw json.RawMessage, pub ed25519.PublicKey) (evidence.Result, []evidence.Entry, error) {
	var block struct {
		Head  evidence.Head `json:"head"`
		Error string        `json:"error"`
	}
	if err := json.Unmarshal(raw, &block); err != nil {
		return evidence.Result{}, nil, &evidence.Problem{Where: "report evidence block", What: evidence.NotDocumented, Detail: err.Error()}
	}
	if block.Error != "" {
		return evidence.Result{}, nil, &evidence.Problem{Where: "report evidence block", What: evidence.Removed, Detail: "the report was made without the chain head: " + block.Error}
	}
	res := evidence.Result{Head: block.Head}
	res.Notes = append(res.Notes, "a report carries the chain head only: its figures are not sealed one by one")
	if len(block.Head.Signature) > 0 {
		key := pub
		if key == nil {
			key = ed25519.PublicKey(block.Head.PublicKey)
		}
		if err := evidence.CheckHeadSignature(block.Head, key); err != nil {
			return res, nil, &evidence.Problem{Where: "head", What: evidence.SignatureBad, Detail: err.Error()}
		}
		if pub == nil {
			res.Notes = append(res.Notes, fmt.Sprintf("head signed by key %s, checked against the key the file carries only: give --pubkey", block.Head.KeyID))
		} else {
			res.Notes = append(res.Notes, fmt.Sprintf("head signed by key %s: good", block.Head.KeyID))
		}
	}
	return res, nil, nil
}

// headLine reads "n=… hash=…".
func headLine(s string) (evidence.Head, error) {
	var h evidence.Head
	var hash string
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "n=%d hash=%s", &h.N, &hash); err != nil {
		return h, &evidence.Problem{Where: "head", What: evidence.Changed, Detail: fmt.Sprintf("%q is not \"n=… hash=…\"", s)}
	}
	d, err := evidence.ParseDigest(hash)
	if err != nil {
		return h, &evidence.Problem{Where: "head", What: evidence.Changed, Detail: err.Error()}
	}
	h.Hash = d
	return h, nil
}
