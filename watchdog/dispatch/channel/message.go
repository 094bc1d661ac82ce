package channel

import "time"

// Message is one dispatch message, as every channel gets it: the text in
// Chinese, already written (Title and Lines), and the facts behind it for
// channels that carry data (the webhook's JSON).
type Message struct {
	// ID is stable across retries and replicas: receivers drop duplicates
	// by it.
	ID string `json:"id"`
	// Kind is opened, changed (class or cause), merged, resolved,
	// reminder, escalation, summary, test, or report (a scheduled period
	// report, watchdog/reportdeliver).
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
	// Title is one line; Lines the body, plain text, one fact a line.
	Title string   `json:"title"`
	Lines []string `json:"lines"`
	// SubCenter and Level say who it is for: a sub-center's (or the
	// center's) roster level, "江都区分中心 · 值班员".
	SubCenter string `json:"sub_center,omitempty"`
	Level     string `json:"level,omitempty"`
	// Mentions are the people on duty, mentioned where the channel can.
	Mentions []Mention `json:"mentions,omitempty"`
	// Incidents are what it is about: one, or several grouped.
	Incidents []Incident `json:"incidents,omitempty"`
	// Links are the incident's page and each person's acknowledge link.
	Links []Link `json:"links,omitempty"`
	// Attachments are files the message carries (a period report): e-mail
	// sends them as MIME parts, the webhook in its JSON; the chat robots
	// leave them out (the message links to the file instead).
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment is a file a message carries.
type Attachment struct {
	// Name is the file name the receiver sees, "2026年11月 运维月报.html".
	Name string `json:"name"`
	// ContentType is its MIME type, "text/html; charset=utf-8";
	// application/octet-stream when empty.
	ContentType string `json:"content_type,omitempty"`
	// Data is the file (base64 in JSON).
	Data []byte `json:"data"`
}

// Mention is a person on duty.
type Mention struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Mobile string `json:"mobile,omitempty"`
	Email  string `json:"email,omitempty"`
}

// Link is a labelled URL.
type Link struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// Incident is an incident as a message carries it.
type Incident struct {
	ID         string    `json:"id"`
	Key        string    `json:"key"`
	State      string    `json:"state"`
	Class      string    `json:"class"`
	Severity   string    `json:"severity"`
	Cause      string    `json:"cause"`
	Subject    string    `json:"subject"`
	Summary    string    `json:"summary"`
	SubCenters []string  `json:"sub_centers,omitempty"`
	Rooms      []string  `json:"rooms,omitempty"`
	Servers    []string  `json:"servers,omitempty"`
	DetectedAt time.Time `json:"detected_at"`
	OpenedAt   time.Time `json:"opened_at"`
	Deadline   time.Time `json:"deadline"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	Breached   bool      `json:"breached"`
	URL        string    `json:"url,omitempty"`
}

// Text is the message as plain text: the title, then the lines, then the
// links.
func (m *Message) Text() string {
	s := m.Title
	for _, l := range m.Lines {
		s += "\n" + l
	}
	for _, l := range m.Links {
		s += "\n" + l.Text + ": " + l.URL
	}
	return s
}
