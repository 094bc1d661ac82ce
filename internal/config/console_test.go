package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConsoleDefaults(t *testing.T) {
	c, err := Parse(DemoYAML())
	if err != nil {
		t.Fatal(err)
	}
	want := Console{
		Listen:     "127.0.0.1:8080",
		SessionTTL: 12 * time.Hour,
		LoginRate:  10,
		History:    10 * time.Minute,
		BcryptCost: 10,
	}
	if c.Console != want {
		t.Errorf("console defaults = %+v, want %+v", c.Console, want)
	}
	if d := Defaults(); d.Console != want {
		t.Errorf("Defaults().Console = %+v, want %+v", d.Console, want)
	}
	if c.Console.SecureCookies() {
		t.Error("SecureCookies() with no public URL = true")
	}
}

func TestConsoleSection(t *testing.T) {
	c, err := Parse(withSections(`
console:
  listen: 0.0.0.0:8443
  public_url: https://bidwatch.jyzx.example/console/
  session_ttl: 168h
  login_rate: 1000
  trust_forwarded: true
  history: 1h
  bcrypt_cost: 14
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Console{
		Listen:         "0.0.0.0:8443",
		PublicURL:      "https://bidwatch.jyzx.example/console/",
		SessionTTL:     7 * 24 * time.Hour,
		LoginRate:      1000,
		TrustForwarded: true,
		History:        time.Hour,
		BcryptCost:     14,
	}
	if c.Console != want {
		t.Errorf("console = %+v, want %+v", c.Console, want)
	}
	if !c.Console.SecureCookies() {
		t.Error("SecureCookies() behind https = false")
	}
	// The lower bounds are allowed too.
	if _, err := Parse(withSections("console: {session_ttl: 1s, login_rate: 1, history: 1m, bcrypt_cost: 4, public_url: \"http://10.32.0.9:8080\"}")); err != nil {
		t.Errorf("lower bounds: %v", err)
	}
}

func TestSecureCookies(t *testing.T) {
	for url, want := range map[string]bool{
		"":                          false,
		"http://bidwatch.example":   false,
		"https://bidwatch.example":  true,
		"https://bidwatch.example/": true,
	} {
		c := Console{PublicURL: url}
		if got := c.SecureCookies(); got != want {
			t.Errorf("SecureCookies() with public_url %q = %v, want %v", url, got, want)
		}
	}
}

// The other side of each bound; testdata/invalid-console.yaml has the rest.
func TestConsoleInvalid(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"zeros", `console: {listen: "", session_ttl: 0s, login_rate: 1001, history: 61m, bcrypt_cost: 3}`, []string{
			`console.listen: required: host:port, like 127.0.0.1:8080`,
			`console.session_ttl: must be positive, got 0s`,
			`console.login_rate: must be between 1 and 1000 attempts a minute, got 1001`,
			`console.history: must be between 1m0s and 1h0m0s, got 1h1m0s`,
			`console.bcrypt_cost: must be between 4 and 14, got 3`,
		}},
		{"public_url scheme", `console: {public_url: "wss://bidwatch.example"}`, []string{
			`console.public_url: want http:// or https://, got "wss://bidwatch.example"`,
		}},
		{"public_url host", `console: {public_url: "https:///console"}`, []string{
			`console.public_url: no host in URL "https:///console"`,
		}},
		{"listen port", `console: {listen: "127.0.0.1:80800"}`, []string{
			`console.listen: invalid port in "127.0.0.1:80800" (want 1-65535)`,
		}},
		// A value that does not decode is not validated as well.
		{"types", "console: {session_ttl: 12, login_rate: many}", []string{
			`console.session_ttl (line 2): cannot parse "12" as a duration`,
			`console.login_rate (line 2): cannot parse "many" as an integer`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte("city: {id: x, name: X}\n" + tt.yaml + "\n"))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
