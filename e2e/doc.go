// Package e2e holds end-to-end tests that run the whole of bidwatch on
// loopback — the synthetic hall, probe agents, the watchdog, a real
// redis-server and the console — and drive the console in a real headless
// Chromium (chromedp), as on-site staff would. It has no code of its own.
package e2e
