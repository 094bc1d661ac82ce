package bus

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// mode names the kind of Redis deployment a URL selects.
type mode string

const (
	modeSingle   mode = "single"
	modeSentinel mode = "sentinel"
	modeCluster  mode = "cluster"
)

// newClient turns a Redis URL into a go-redis client:
//
//   - redis://[user:pass@]host:port[/db][?opts] and rediss:// (TLS): a single node
//     (redis.ParseURL);
//   - redis-sentinel://[user:pass@]sentinel:26379[/db]?master_name=M[&addr=s2:26379…],
//     or any redis:// URL with master_name=: Sentinel (redis.ParseFailoverURL;
//     the host and every addr= are sentinels; rediss-sentinel:// for TLS);
//   - redis://host:port?addr=host2:port&addr=…, or redis-cluster://host:port (one
//     seed node is enough): Cluster (redis.ParseClusterURL).
//
// Query options are go-redis's (dial_timeout, read_timeout, pool_size, …);
// an unknown one is an error.
//
// Connections never send CLIENT SETINFO (go-redis's identity) nor CLIENT
// MAINT_NOTIFICATIONS: Redis before 7.2 answers them with an ERR that lands
// in INFO errorstats on every new connection and hides real errors there.
// (A Sentinel client sends neither to the master in this go-redis.)
func newClient(raw string) (redis.UniversalClient, mode, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("redis URL %s: not a URL", Redact(raw))
	}
	q := u.Query()
	switch u.Scheme {
	case "redis-sentinel", "rediss-sentinel":
		if q.Get("master_name") == "" {
			return nil, "", fmt.Errorf("redis URL %s: %s:// needs ?master_name=", Redact(raw), u.Scheme)
		}
		u.Scheme = strings.TrimSuffix(u.Scheme, "-sentinel")
		return sentinel(u, raw)
	case "redis-cluster", "rediss-cluster":
		u.Scheme = strings.TrimSuffix(u.Scheme, "-cluster")
		return cluster(u, raw)
	case "redis", "rediss":
		switch {
		case q.Has("master_name"):
			return sentinel(u, raw)
		case q.Has("addr"):
			return cluster(u, raw)
		}
		o, err := redis.ParseURL(u.String())
		if err != nil {
			return nil, "", fmt.Errorf("redis URL %s: %w", Redact(raw), err)
		}
		o.DisableIdentity = true
		o.MaintNotificationsConfig = noMaint()
		o.ContextTimeoutEnabled = true // a publish's deadline bounds its reads: a frozen master is noticed in time
		return redis.NewClient(o), modeSingle, nil
	default:
		return nil, "", fmt.Errorf("redis URL %s: unknown scheme %q (want redis, rediss, redis-sentinel or redis-cluster)", Redact(raw), u.Scheme)
	}
}

func sentinel(u *url.URL, raw string) (redis.UniversalClient, mode, error) {
	o, err := redis.ParseFailoverURL(u.String())
	if err != nil {
		return nil, "", fmt.Errorf("redis URL %s: %w", Redact(raw), err)
	}
	o.DisableIdentity = true
	o.ContextTimeoutEnabled = true
	return redis.NewFailoverClient(o), modeSentinel, nil
}

func cluster(u *url.URL, raw string) (redis.UniversalClient, mode, error) {
	o, err := redis.ParseClusterURL(u.String())
	if err != nil {
		return nil, "", fmt.Errorf("redis URL %s: %w", Redact(raw), err)
	}
	o.DisableIdentity = true
	o.MaintNotificationsConfig = noMaint()
	o.ContextTimeoutEnabled = true
	return redis.NewClusterClient(o), modeCluster, nil
}

func noMaint() *maintnotifications.Config {
	return &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}

// Redact returns the URL with its password (in the user info or a password=
// option) replaced by "xxxxx", fit for a log line or an error.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	q := u.Query()
	for _, k := range []string{"password", "sentinel_password"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}

// ErrClusterPrefix is returned by Open when a Cluster URL is used with a key
// prefix that holds no hash tag: bidwatch's scripts touch several keys at
// once, which Cluster allows only within one hash slot.
var ErrClusterPrefix = errors.New(`a Redis Cluster needs a hash-tagged key prefix, such as "{bidwatch}:" or "bidwatch:{city}:": set redis.prefix, or pass --prefix '{bidwatch}:'`)

// hasHashTag reports whether every key under prefix hashes to one slot.
func hasHashTag(prefix string) bool {
	i := strings.IndexByte(prefix, '{')
	if i < 0 {
		return false
	}
	j := strings.IndexByte(prefix[i+1:], '}')
	return j > 0
}
