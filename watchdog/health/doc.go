// Package health checks the servers behind the rooms: one file per kind of
// check (http.go, tcp.go, prometheus.go), all listed in one registry
// ([Kinds]), keyed by the config's health-check type. A [Runner] runs every
// configured check at its own interval, each bounded by its timeout, and
// hands each [Reading] on. A check never only logs its failure: the reading
// says what failed.
package health
