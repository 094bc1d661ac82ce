// Package remedy runs runbooks (自动处置): when an incident opens that a
// runbook matches, the leading watchdog runs the runbook's steps — an HTTP
// call to an admin API, a command (never through a shell), a wait for the
// probes — then verifies through the probes that the symptom is gone within
// the runbook's deadline: gone, the incident is marked mitigated; not gone,
// it is escalated, and a runbook that failed twice in a row is suspended
// until a person re-enables it.
//
// It is split as the rest of the watchdog is: pure decisions (match.go:
// which runbook; guard.go: may it run now — enabled, suspended, freeze
// window, cooldown, dry run), the actions, one file per kind (http.go,
// command.go, wait.go, registered in steps.go), the state kept in Redis
// (state.go: suspensions, failures, last runs, cooldowns; attempt.go: one
// record per attempt, taken with SET NX so an action runs once across
// replicas and restarts, each step written before it runs), and the Runner
// (runner.go, verify.go, recover.go) that follows the incident events and
// writes every step into the incident's timeline (处置过程).
package remedy
