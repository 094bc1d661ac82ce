package rtc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
)

const (
	// maxAnswer bounds an SDP answer.
	maxAnswer = 256 << 10
	// deleteTimeout bounds the DELETE that ends a session.
	deleteTimeout = 2 * time.Second
)

// urlString prints u without query, fragment or user info, which may
// carry secrets.
func urlString(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.Path
}

// exchange POSTs an SDP offer to a WHEP or WHIP endpoint (kind) and returns
// the answer and the session's URL (nil when the server gave no Location).
func (p *Participant) exchange(ctx context.Context, kind string, endpoint *url.URL, offer string) (string, *url.URL, error) {
	where := urlString(endpoint)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), strings.NewReader(offer))
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s POST %s: %v", ErrSignaling, kind, where, err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Accept", "application/sdp")
	if p.cfg.AuthHeader != "" {
		req.Header.Set("Authorization", p.cfg.AuthHeader)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s POST %s: %v", ErrSignaling, kind, where, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s POST %s: read answer: %v", ErrSignaling, kind, where, err)
	}
	var loc *url.URL
	if l := resp.Header.Get("Location"); l != "" {
		if u, err := resp.Request.URL.Parse(l); err == nil {
			loc = u
		}
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", loc, fmt.Errorf("%w: %s POST %s: %s%s", ErrSignaling, kind, where, resp.Status, bodyHint(body))
	}
	if len(body) > maxAnswer {
		return "", loc, fmt.Errorf("%w: %s POST %s: answer larger than %d bytes", ErrSignaling, kind, where, maxAnswer)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/sdp" {
			return "", loc, fmt.Errorf("%w: %s POST %s: answer Content-Type %q, want application/sdp%s",
				ErrSignaling, kind, where, ct, bodyHint(body))
		}
	}
	return string(body), loc, nil
}

// bodyHint is the first line of an error body, for the error message.
func bodyHint(body []byte) string {
	line, _, _ := bytes.Cut(bytes.TrimSpace(body), []byte("\n"))
	if len(line) == 0 {
		return ""
	}
	if len(line) > 200 {
		line = line[:200]
	}
	return ": " + strings.ToValidUTF8(string(line), "?")
}

// checkAnswer checks that an answer is SDP with at least one accepted
// media section; hasVideo tells whether video is among them.
func checkAnswer(answer string) (hasVideo bool, err error) {
	if strings.TrimSpace(answer) == "" {
		return false, errors.New("empty answer")
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		return false, fmt.Errorf("not valid SDP: %v", err)
	}
	if len(sd.MediaDescriptions) == 0 {
		return false, errors.New("no media sections (m= lines)")
	}
	accepted := 0
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Port.Value == 0 {
			continue
		}
		switch md.MediaName.Media {
		case "video":
			hasVideo = true
			accepted++
		case "audio":
			accepted++
		}
	}
	if accepted == 0 {
		return false, errors.New("no audio or video accepted (every media section rejected)")
	}
	return hasVideo, nil
}

// deleteSession ends a WHEP or WHIP session on the server, politely and
// briefly; a failure is only logged.
func (p *Participant) deleteSession(kind string, loc *url.URL) {
	ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, loc.String(), nil)
	if err != nil {
		return
	}
	if p.cfg.AuthHeader != "" {
		req.Header.Set("Authorization", p.cfg.AuthHeader)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.log.Debug("session DELETE failed", "kind", kind, "url", urlString(loc), "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		p.log.Debug("session DELETE refused", "kind", kind, "url", urlString(loc), "status", resp.Status)
	}
}
