package channel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
)

// maxReply bounds what a channel reads of a reply: a robot answers in a few
// dozen bytes, and a receiver that sends more is not read further.
const maxReply = 64 << 10

// userAgent is sent with every request.
const userAgent = "bidwatch-dispatch/1"

// reply is an HTTP answer, its body read up to maxReply bytes.
type reply struct {
	status int
	body   []byte
	// tooBig: the body went on past maxReply (the rest was not read).
	tooBig bool
}

// post sends body to target. An error means no answer was had (a refused
// connection, a timeout, the context's end): it never shows the URL, which
// for robots holds their key.
func (b *base) post(ctx context.Context, target string, header http.Header, body []byte) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return reply{}, b.scrubErr(fmt.Errorf("build request: %w", b.redactURL(err)))
	}
	for k, vs := range header {
		req.Header[k] = slices.Clone(vs)
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := b.env.Client.Do(req)
	if err != nil {
		return reply{}, b.scrubErr(fmt.Errorf("post to %s: %w", b.where, b.redactURL(err)))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	r := reply{status: resp.StatusCode, body: data}
	if len(data) > maxReply {
		r.body, r.tooBig = data[:maxReply], true
	}
	if err != nil && !r.tooBig {
		return r, b.scrubErr(fmt.Errorf("read reply from %s: %w", b.where, b.redactURL(err)))
	}
	return r, nil
}

// redactURL replaces the URL in a *url.Error with where the channel sends.
func (b *base) redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: b.where, Err: ue.Err}
	}
	return err
}

// scrubErr returns err with every secret taken out of its text; errors.Is
// and errors.As still see the errors it wraps.
func (b *base) scrubErr(err error) error {
	if err == nil {
		return nil
	}
	return &scrubbed{msg: b.scrub(err.Error()), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// status judges an HTTP status alone: 2xx passes; 429 (rate limited), 408
// and 5xx may pass later; any other status is for good.
func (b *base) status(r reply) (retry bool, err error) {
	switch s := r.status; {
	case s >= 200 && s < 300:
		return false, nil
	case s == http.StatusTooManyRequests:
		return true, fmt.Errorf("HTTP %d from %s: %w: %s", s, b.where, ErrRateLimited, b.snippet(r.body))
	case s == http.StatusRequestTimeout || s >= 500:
		return true, fmt.Errorf("HTTP %d from %s: %s", s, b.where, b.snippet(r.body))
	default:
		return false, fmt.Errorf("HTTP %d from %s: %w: %s", s, b.where, ErrRejected, b.snippet(r.body))
	}
}

// answer is a group robot's reply: Code 0 is success, Msg says why not.
type answer struct {
	Code int
	Msg  string
}

// robotCodes says which of a robot's non-zero codes may pass later: its
// frequency limit (rate) and its "system busy" (busy). Any other non-zero
// code is for good.
type robotCodes struct {
	rate, busy []int
}

// judge turns a robot's reply into Send's result. HTTP 429, 408 and 5xx may
// pass later whatever the body says. Otherwise the body must read as the
// robot's answer: a 2xx reply the robot's parser cannot read (garbage, or
// more than maxReply) may pass later, as a proxy's error page would; a 4xx
// one is for good unless it carries the robot's frequency-limit code.
func (b *base) judge(r reply, parse func([]byte) (answer, bool), codes robotCodes) (bool, error) {
	retry, err := b.status(r)
	ok2xx := err == nil
	if err != nil && retry {
		return true, err
	}
	if r.tooBig {
		if ok2xx {
			return true, fmt.Errorf("HTTP %d from %s: reply longer than %d bytes", r.status, b.where, maxReply)
		}
		return retry, err
	}
	a, parsed := parse(r.body)
	switch {
	case !parsed && ok2xx:
		return true, fmt.Errorf("HTTP %d from %s: unreadable reply: %s", r.status, b.where, b.snippet(r.body))
	case !parsed:
		return retry, err
	case a.Code == 0 && ok2xx:
		return false, nil
	case slices.Contains(codes.rate, a.Code):
		return true, fmt.Errorf("%s code %d (%s): %w", b.kind, a.Code, b.snippet([]byte(a.Msg)), ErrRateLimited)
	case slices.Contains(codes.busy, a.Code):
		return true, fmt.Errorf("%s code %d (%s)", b.kind, a.Code, b.snippet([]byte(a.Msg)))
	case a.Code == 0:
		return retry, err
	default:
		return false, fmt.Errorf("%s code %d (%s): %w", b.kind, a.Code, b.snippet([]byte(a.Msg)), ErrRejected)
	}
}

// errcodeAnswer parses the WeCom and DingTalk reply, {"errcode":0,"errmsg":"ok"}.
func errcodeAnswer(body []byte) (answer, bool) {
	var v struct {
		Code *int   `json:"errcode"`
		Msg  string `json:"errmsg"`
	}
	if json.Unmarshal(body, &v) != nil || v.Code == nil {
		return answer{}, false
	}
	return answer{Code: *v.Code, Msg: v.Msg}, true
}

// marshal encodes v as compact JSON without HTML escaping (the providers
// take UTF-8 as it is, and sizes are counted on what is sent).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
