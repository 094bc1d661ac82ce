package remedy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/bidwatch/bidwatch/internal/config"
)

// runHTTP sends a step's request: method, URL, headers and body expanded,
// the token as a Bearer credential. The output is the status and the start
// of the body.
func runHTTP(ctx context.Context, env Env, st *config.RunbookStep, d Data) (string, error) {
	a := st.HTTP
	u, err := render("url", a.URL, d)
	if err != nil {
		return "", err
	}
	body, err := render("body", a.Body, d)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, method(a), u, strings.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("request %s: %w", u, err)
	}
	for k, v := range a.Headers {
		hv, err := render("headers."+k, v, d)
		if err != nil {
			return "", err
		}
		req.Header.Set(k, hv)
	}
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token.Reveal())
	}
	client := env.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", req.Method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxOutput+1))
	out := truncate(strings.TrimSpace(resp.Status + "\n" + string(b)))
	if !okStatus(a.OKStatus, resp.StatusCode) {
		return out, fmt.Errorf("%s %s: %w %s", req.Method, u, ErrStatus, resp.Status)
	}
	return out, nil
}

func method(a *config.HTTPAction) string {
	if a.Method == "" {
		return http.MethodPost
	}
	return strings.ToUpper(a.Method)
}

func okStatus(ok []int, code int) bool {
	if len(ok) == 0 {
		return code >= 200 && code < 300
	}
	return slices.Contains(ok, code)
}
