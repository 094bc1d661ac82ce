// Package reportdeliver sends the period reports (运维报告) on schedule:
// for each entry of reports.deliver, at the end of each day, week, month,
// quarter, half-year or year it names (plus its after), the leader builds
// the report of the period that ended for the entry's scope once, keeps
// its HTML in Redis for the console to serve, and queues one message on
// the dispatch outbox — retried and rate-limited like an alert — to the
// entry's channels: e-mail with the report attached, a chat robot with the
// headline figures and a link to the console's copy.
//
// [Due], the schedule, is a pure function of the time, the deliveries and
// what was last sent. A Redis marker taken with SET NX per delivery and
// period makes sure a report goes out once, whichever replica leads; a
// leader that starts late sends the latest period it missed, not every one.
package reportdeliver
