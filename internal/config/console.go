package config

import (
	"net/url"
	"time"
)

// Console configures the web console (`bidwatch console`): where it
// listens, the address staff reach it at, sign-in sessions and their limits,
// and how much live data a replica keeps in memory. docs/console.md
// describes the console itself.
type Console struct {
	// Listen is the address the console serves HTTP on, host:port.
	// `bidwatch console --listen` overrides it.
	Listen string `yaml:"listen"`
	// PublicURL is the address staff open the console at, when it is not
	// Listen: behind a reverse proxy, say https://bidwatch.example. With
	// https, the session cookie is Secure. "" when staff open Listen itself.
	PublicURL string `yaml:"public_url"`
	// SessionTTL is how long a sign-in lasts.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// LoginRate is how many sign-in attempts a minute are allowed for one
	// user name, and from one address; past it, 429.
	LoginRate int `yaml:"login_rate"`
	// TrustForwarded takes the client's address and scheme from
	// X-Forwarded-For and X-Forwarded-Proto: set it only when a reverse
	// proxy in front of the console sets them, or anyone can pick the
	// address the login limit counts.
	TrustForwarded bool `yaml:"trust_forwarded"`
	// History is how much of the live data a console replica keeps in
	// memory, for a room page's charts.
	History time.Duration `yaml:"history"`
	// BcryptCost is the cost new password hashes are made with.
	BcryptCost int `yaml:"bcrypt_cost"`
}

// Console defaults and limits.
const (
	DefaultConsoleListen     = "127.0.0.1:8080"
	DefaultConsoleSessionTTL = 12 * time.Hour
	DefaultConsoleLoginRate  = 10
	DefaultConsoleHistory    = 10 * time.Minute
	// DefaultConsoleBcryptCost is bcrypt.DefaultCost.
	DefaultConsoleBcryptCost = 10

	maxConsoleSessionTTL = 7 * 24 * time.Hour
	maxConsoleLoginRate  = 1000
	minConsoleHistory    = time.Minute
	maxConsoleHistory    = time.Hour
	// minConsoleBcryptCost is bcrypt.MinCost; above maxConsoleBcryptCost a
	// sign-in takes a second or more of CPU, which the login limit cannot
	// protect.
	minConsoleBcryptCost = 4
	maxConsoleBcryptCost = 14
)

// DefaultConsole returns the console settings used for every key not written.
func DefaultConsole() Console {
	return Console{
		Listen:     DefaultConsoleListen,
		SessionTTL: DefaultConsoleSessionTTL,
		LoginRate:  DefaultConsoleLoginRate,
		History:    DefaultConsoleHistory,
		BcryptCost: DefaultConsoleBcryptCost,
	}
}

// SecureCookies reports whether the console is reached over HTTPS (its
// public URL is https://), so its cookies must be Secure.
func (c *Console) SecureCookies() bool {
	u, err := url.Parse(c.PublicURL)
	return err == nil && u.Scheme == "https"
}

func (c *Console) validate(errs *problems) {
	const p = "console"
	if c.Listen == "" {
		errs.add(p+".listen", "required: host:port, like %s", DefaultConsoleListen)
	} else if msg := addressProblem(c.Listen); msg != "" {
		errs.add(p+".listen", "%s", msg)
	}
	if c.PublicURL != "" {
		if msg := urlProblem(c.PublicURL, "http", "https"); msg != "" {
			errs.add(p+".public_url", "%s", msg)
		} else if u, _ := url.Parse(c.PublicURL); u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			errs.add(p+".public_url", "want the console's address only (no user, query or fragment), got %s", quote(u.Redacted()))
		}
	}
	switch {
	case c.SessionTTL <= 0:
		errs.add(p+".session_ttl", "must be positive, got %s", c.SessionTTL)
	case c.SessionTTL > maxConsoleSessionTTL:
		errs.add(p+".session_ttl", "must be at most 7 days (%s), got %s", maxConsoleSessionTTL, c.SessionTTL)
	}
	if c.LoginRate < 1 || c.LoginRate > maxConsoleLoginRate {
		errs.add(p+".login_rate", "must be between 1 and %d attempts a minute, got %d", maxConsoleLoginRate, c.LoginRate)
	}
	if c.History < minConsoleHistory || c.History > maxConsoleHistory {
		errs.add(p+".history", "must be between %s and %s, got %s", minConsoleHistory, maxConsoleHistory, c.History)
	}
	if c.BcryptCost < minConsoleBcryptCost || c.BcryptCost > maxConsoleBcryptCost {
		errs.add(p+".bcrypt_cost", "must be between %d and %d, got %d", minConsoleBcryptCost, maxConsoleBcryptCost, c.BcryptCost)
	}
}
