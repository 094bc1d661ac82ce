package health

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"

	"github.com/bidwatch/bidwatch/internal/config"
)

// checkHTTP GETs the URL: it passes when the status is the expected one and
// the body matches body_match (when set). Over https it also reports when
// the server's certificate expires, as the reading tls_expiry_days.
func checkHTTP(ctx context.Context, env *Env, c *config.HealthCheck) Reading {
	var r Reading
	start := env.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	req.Header.Set("User-Agent", "bidwatch-watchdog")
	resp, err := env.Client.Do(req)
	if err != nil {
		r.LatencyMS, r.Error = since(env, start), err.Error()
		return r
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	r.LatencyMS, r.Status = since(env, start), resp.StatusCode
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		r.TLSExpiry = resp.TLS.PeerCertificates[0].NotAfter
		r.Values = map[string]float64{"tls_expiry_days": r.TLSExpiry.Sub(env.Now()).Hours() / 24}
	}
	switch {
	case err != nil:
		r.Error = fmt.Sprintf("read body: %v", err)
	case resp.StatusCode != c.ExpectStatus:
		r.Error = fmt.Sprintf("status %d, want %d", resp.StatusCode, c.ExpectStatus)
	case c.BodyMatch != "":
		re, err := regexp.Compile(c.BodyMatch)
		if err != nil {
			r.Error = fmt.Sprintf("body_match: %v", err)
		} else if !re.Match(body) {
			r.Error = fmt.Sprintf("body does not match %q", c.BodyMatch)
		} else {
			r.OK = true
		}
	default:
		r.OK = true
	}
	return r
}
