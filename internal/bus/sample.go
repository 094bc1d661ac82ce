package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bidwatch/bidwatch/internal/sample"
)

// ErrBadSample is returned (wrapped) for a stream entry or JSON document that
// is not a valid Sample.
var ErrBadSample = errors.New("bad sample")

// maxSampleBytes bounds the JSON of one Sample; a real one is under 1 KiB.
const maxSampleBytes = 64 << 10

// EncodeSample returns the wire form of s: its JSON.
func EncodeSample(s sample.Sample) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode sample: %w", err)
	}
	return b, nil
}

// UnmarshalSample decodes and checks the JSON of one Sample. Unknown fields are
// ignored, so a newer probe's Samples still decode; the identity a consumer
// relies on (transport, participant, seq ≥ 1, window_start) must be present.
func UnmarshalSample(data []byte) (sample.Sample, error) {
	var s sample.Sample
	if len(data) > maxSampleBytes {
		return s, fmt.Errorf("%w: %d bytes, more than %d", ErrBadSample, len(data), maxSampleBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return sample.Sample{}, fmt.Errorf("%w: %v", ErrBadSample, err)
	}
	if dec.More() {
		return sample.Sample{}, fmt.Errorf("%w: trailing data after the JSON object", ErrBadSample)
	}
	var errs []error
	if s.Transport == "" {
		errs = append(errs, errors.New("transport: missing"))
	}
	if s.Participant == "" {
		errs = append(errs, errors.New("participant: missing"))
	}
	if s.Seq == 0 {
		errs = append(errs, errors.New("seq: missing (seq starts at 1)"))
	}
	if s.WindowStart.IsZero() {
		errs = append(errs, errors.New("window_start: missing"))
	}
	if len(errs) > 0 {
		return sample.Sample{}, fmt.Errorf("%w: %w", ErrBadSample, errors.Join(errs...))
	}
	return s, nil
}

// DecodeSample decodes the Sample in a samples-stream entry's values (as
// go-redis returns them in XMessage.Values).
func DecodeSample(values map[string]any) (sample.Sample, error) {
	v, ok := values[FieldSample]
	if !ok {
		return sample.Sample{}, fmt.Errorf("%w: no %q field", ErrBadSample, FieldSample)
	}
	switch v := v.(type) {
	case string:
		return UnmarshalSample([]byte(v))
	case []byte:
		return UnmarshalSample(v)
	default:
		return sample.Sample{}, fmt.Errorf("%w: field %q is a %T", ErrBadSample, FieldSample, v)
	}
}
