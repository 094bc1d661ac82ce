package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/synthetic/hall"
)

// DefaultAdminTimeout bounds one admin request when the client has no
// timeout of its own.
const DefaultAdminTimeout = 10 * time.Second

// AdminClient is a hall in another process as a drill's target: it calls
// the hall's admin API (docs/hall-protocol.md).
type AdminClient struct {
	// BaseURL is the hall's, like "http://127.0.0.1:7400".
	BaseURL string
	// Client makes the requests; nil means one with DefaultAdminTimeout.
	// A request without a deadline or a client timeout gets that one.
	Client *http.Client
}

var _ Target = AdminClient{}

// Topology implements Target: GET /admin/rooms, /admin/servers and
// /admin/paths.
func (c AdminClient) Topology(ctx context.Context) (Topology, error) {
	var rooms []struct {
		ID string `json:"id"`
	}
	var servers []struct {
		ID    string   `json:"id"`
		Rooms []string `json:"rooms"`
	}
	var paths []struct {
		Location string `json:"location"`
	}
	for _, get := range []struct {
		path string
		out  any
	}{{"/admin/rooms", &rooms}, {"/admin/servers", &servers}, {"/admin/paths", &paths}} {
		if err := c.do(ctx, http.MethodGet, get.path, nil, get.out); err != nil {
			return Topology{}, err
		}
	}
	top := Topology{Servers: make(map[string][]string, len(servers))}
	for _, r := range rooms {
		top.Rooms = append(top.Rooms, r.ID)
	}
	for _, s := range servers {
		top.Servers[s.ID] = s.Rooms
	}
	for _, p := range paths {
		top.Paths = append(top.Paths, p.Location)
	}
	return top, nil
}

// SetHealth implements Target: POST /admin/servers/{id}/health.
func (c AdminClient) SetHealth(ctx context.Context, server string, h hall.Health) error {
	return c.do(ctx, http.MethodPost, "/admin/servers/"+url.PathEscape(server)+"/health", h, nil)
}

// ClearHealth implements Target: DELETE /admin/servers/{id}/health.
func (c AdminClient) ClearHealth(ctx context.Context, server string) error {
	return c.do(ctx, http.MethodDelete, "/admin/servers/"+url.PathEscape(server)+"/health", nil, nil)
}

// SetRoomFault implements Target: POST /admin/rooms/{room}/fault.
func (c AdminClient) SetRoomFault(ctx context.Context, room string, f hall.Fault) error {
	return c.do(ctx, http.MethodPost, "/admin/rooms/"+url.PathEscape(room)+"/fault", f, nil)
}

// ClearRoomFault implements Target: DELETE /admin/rooms/{room}/fault.
func (c AdminClient) ClearRoomFault(ctx context.Context, room string) error {
	return c.do(ctx, http.MethodDelete, "/admin/rooms/"+url.PathEscape(room)+"/fault", nil, nil)
}

// SetPathFault implements Target: POST /admin/paths/{location}.
func (c AdminClient) SetPathFault(ctx context.Context, location string, f hall.PathFault) error {
	return c.do(ctx, http.MethodPost, "/admin/paths/"+url.PathEscape(location), f, nil)
}

// ClearPathFault implements Target: DELETE /admin/paths/{location}.
func (c AdminClient) ClearPathFault(ctx context.Context, location string) error {
	return c.do(ctx, http.MethodDelete, "/admin/paths/"+url.PathEscape(location), nil, nil)
}

// maxAnswer bounds an admin answer read.
const maxAnswer = 4 << 20

// do makes one admin request with body as JSON and decodes the answer into
// out; an answer other than 200 is an error with the hall's message.
func (c AdminClient) do(ctx context.Context, method, path string, body, out any) error {
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultAdminTimeout}
	}
	if _, ok := ctx.Deadline(); !ok && client.Timeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultAdminTimeout)
		defer cancel()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return fmt.Errorf("%s %s: %s (HTTP %d)", method, path, msg, resp.StatusCode)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}
