package bus

import "github.com/bidwatch/bidwatch/internal/config"

// OptionsFrom maps the config's redis section to Options: URL, prefix,
// max_len, min_replicas (absent: AutoReplicas; 0: NoReplicas) and
// wait_timeout. The caller adds the logger and any flag overrides.
func OptionsFrom(r config.Redis) Options {
	o := Options{URL: r.URL.Reveal(), Prefix: r.Prefix, MaxLen: r.MaxLen, WaitTimeout: r.WaitTimeout, MinReplicas: AutoReplicas}
	if r.MinReplicas != nil {
		o.MinReplicas = *r.MinReplicas
		if o.MinReplicas == 0 {
			o.MinReplicas = NoReplicas
		}
	}
	return o
}
