package channel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

// emailSession bounds an SMTP conversation when the context has no deadline.
const emailSession = 2 * time.Minute

// email sends messages over SMTP: STARTTLS (required unless the
// configuration turned it off, which it allows only on loopback), AUTH
// PLAIN when a username is set, then one multipart/alternative mail
// (text/plain and text/html, UTF-8, quoted-printable) to the channel's
// fixed recipients and the people on duty. Message-ID is derived from the
// message id, so a retried message is the same mail to the clients that
// drop duplicates. A 4xx reply may pass later; a 5xx one is for good.
type email struct {
	base
	addr, host string
	username   string
	password   config.Secret
	from       *mail.Address
	to         []*mail.Address
	startTLS   bool
}

func newEmail(spec config.Channel, env Env) (Channel, error) {
	host, _, err := net.SplitHostPort(spec.SMTP)
	if err != nil {
		return nil, fmt.Errorf("channel %s: smtp: want host:port, got %q", spec.Name, spec.SMTP)
	}
	from, err := mail.ParseAddress(spec.From)
	if err != nil {
		return nil, fmt.Errorf("channel %s: from: invalid address %q", spec.Name, spec.From)
	}
	e := &email{
		base: newBase(spec, env, spec.SMTP),
		addr: spec.SMTP, host: host,
		username: spec.Username, password: spec.Password,
		from: from, startTLS: spec.StartTLS,
	}
	for i, s := range spec.To {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("channel %s: to[%d]: invalid address %q", spec.Name, i, s)
		}
		e.to = append(e.to, a)
	}
	return e, nil
}

// Send composes m and delivers it to every recipient the server accepts.
func (e *email) Send(ctx context.Context, m *Message) (bool, error) {
	rcpts := e.recipients(m)
	if len(rcpts) == 0 {
		return e.fail(false, fmt.Errorf("%w: set to, or e-mail addresses for the people on duty", ErrNoRecipients))
	}
	msg, err := e.compose(m, rcpts)
	if err != nil {
		return e.fail(false, fmt.Errorf("compose: %w", err))
	}
	refused, retry, err := e.deliver(ctx, rcpts, msg)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return e.fail(retry, e.scrubErr(err))
	}
	if len(refused) > 0 {
		e.log.Warn("recipients refused", "id", m.ID, "refused", refused)
	}
	e.log.Debug("sent", "id", m.ID, "recipients", len(rcpts)-len(refused))
	return false, nil
}

// recipients are the channel's fixed addresses and the people's, each once.
func (e *email) recipients(m *Message) []*mail.Address {
	var out []*mail.Address
	seen := map[string]bool{}
	add := func(a *mail.Address) {
		k := strings.ToLower(a.Address)
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	for _, a := range e.to {
		add(a)
	}
	for _, p := range m.Mentions {
		if p.Email == "" {
			continue
		}
		a, err := mail.ParseAddress(p.Email)
		if err != nil {
			e.log.Warn("skipping an invalid address", "person", p.ID, "email", p.Email)
			continue
		}
		if a.Name == "" {
			a.Name = p.Name
		}
		add(a)
	}
	return out
}

// deliver runs the SMTP conversation. refused lists recipients the server
// would not take while it took others.
func (e *email) deliver(ctx context.Context, rcpts []*mail.Address, msg []byte) (refused []string, retry bool, err error) {
	conn, err := e.env.Dialer.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return nil, true, fmt.Errorf("dial %s: %w", e.addr, err)
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(emailSession)
	}
	_ = conn.SetDeadline(deadline)
	// The context's end unblocks a read or write in progress.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, e.host)
	if err != nil {
		return nil, smtpRetry(err), fmt.Errorf("greeting from %s: %w", e.addr, err)
	}
	defer c.Close()
	if e.startTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return nil, false, fmt.Errorf("%s offers no STARTTLS (starttls: false is allowed only for a server on loopback): %w", e.addr, ErrRejected)
		}
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if e.env.TLS != nil {
			cfg = e.env.TLS.Clone()
		}
		cfg.ServerName = e.host
		if err := c.StartTLS(cfg); err != nil {
			return nil, smtpRetry(err), fmt.Errorf("starttls: %w", err)
		}
	}
	if e.username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return nil, false, fmt.Errorf("%s offers no AUTH: %w", e.addr, ErrRejected)
		}
		auth := plainAuth{user: e.username, pass: e.password.Reveal(), clear: !e.startTLS}
		if err := c.Auth(auth); err != nil {
			return nil, smtpRetry(err), fmt.Errorf("auth as %q: %w", e.username, err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return nil, smtpRetry(err), fmt.Errorf("mail from %s: %w", e.from.Address, err)
	}
	var rcptErr error
	for _, a := range rcpts {
		if err := c.Rcpt(a.Address); err != nil {
			var te *textproto.Error
			if !errors.As(err, &te) {
				return nil, smtpRetry(err), fmt.Errorf("rcpt to %s: %w", a.Address, err)
			}
			refused = append(refused, a.Address)
			rcptErr = fmt.Errorf("rcpt to %s: %w", a.Address, err)
		}
	}
	if len(refused) == len(rcpts) {
		return nil, smtpRetry(rcptErr), rcptErr
	}
	w, err := c.Data()
	if err != nil {
		return nil, smtpRetry(err), fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return nil, smtpRetry(err), fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, smtpRetry(err), fmt.Errorf("data: %w", err)
	}
	_ = c.Quit() // the server took the mail: a failed QUIT changes nothing
	return refused, false, nil
}

// smtpRetry says whether an SMTP failure may pass: a 4xx reply or a broken
// connection may; a 5xx reply or a certificate that does not verify is for
// good.
func smtpRetry(err error) bool {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code < 500
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) {
		return false
	}
	return true
}

// plainAuth is AUTH PLAIN (RFC 4616). It refuses to send the password
// in clear unless clear is set (STARTTLS turned off, on loopback only).
type plainAuth struct {
	user, pass string
	clear      bool
}

func (a plainAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if !s.TLS && !a.clear {
		return "", nil, errors.New("refusing to send a password over a connection without TLS")
	}
	if !slices.Contains(s.Auth, "PLAIN") {
		return "", nil, fmt.Errorf("server offers AUTH %s, not PLAIN: %w", strings.Join(s.Auth, " "), ErrRejected)
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected challenge after AUTH PLAIN")
	}
	return nil, nil
}

// compose writes the mail: headers (Subject RFC 2047-encoded), then a
// multipart/alternative body of text/plain and text/html, both UTF-8 and
// quoted-printable — inside a multipart/mixed one with a base64 part per
// attachment when the message has attachments. Everything in it follows
// from m, the recipients and the clock, so it is the same bytes for the
// same inputs.
func (e *email) compose(m *Message, rcpts []*mail.Address) ([]byte, error) {
	var buf bytes.Buffer
	boundary := "bidwatch-" + hash(m.ID)[:32]
	mixed := "bidwatch-mixed-" + hash(m.ID)[:26]
	to := make([]string, len(rcpts))
	for i, a := range rcpts {
		to[i] = a.String()
	}
	h := func(k, v string) { buf.WriteString(k + ": " + v + "\r\n") }
	h("From", e.from.String())
	h("To", strings.Join(to, ",\r\n "))
	h("Subject", encodeSubject(m.Title))
	h("Date", e.env.Now().Format(time.RFC1123Z))
	h("Message-ID", messageID(m.ID, e.from.Address))
	h("MIME-Version", "1.0")
	if len(m.Attachments) > 0 {
		h("Content-Type", `multipart/mixed; boundary="`+mixed+`"`)
	} else {
		h("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	}
	h("Auto-Submitted", "auto-generated")
	if kindToken.MatchString(m.Kind) {
		h("X-Bidwatch-Kind", m.Kind)
	}
	buf.WriteString("\r\n")

	var (
		body io.Writer = &buf
		xw   *multipart.Writer
	)
	if len(m.Attachments) > 0 {
		xw = multipart.NewWriter(&buf)
		if err := xw.SetBoundary(mixed); err != nil {
			return nil, err
		}
		w, err := xw.CreatePart(textproto.MIMEHeader{"Content-Type": {`multipart/alternative; boundary="` + boundary + `"`}})
		if err != nil {
			return nil, err
		}
		body = w
	}
	mw := multipart.NewWriter(body)
	if err := mw.SetBoundary(boundary); err != nil {
		return nil, err
	}
	var html bytes.Buffer
	if err := emailHTML.Execute(&html, emailView(m)); err != nil {
		return nil, err
	}
	for _, part := range []struct{ typ, body string }{
		{"text/plain; charset=utf-8", emailText(m)},
		{"text/html; charset=utf-8", html.String()},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	if xw != nil {
		for _, a := range m.Attachments {
			if err := attach(xw, a); err != nil {
				return nil, err
			}
		}
		if err := xw.Close(); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// attach writes an attachment as a base64 part, its file name RFC
// 2231-encoded when it is not ASCII.
func attach(xw *multipart.Writer, a Attachment) error {
	ct := a.ContentType
	if _, _, err := mime.ParseMediaType(ct); err != nil || ct == "" {
		ct = "application/octet-stream"
	}
	name := oneLine(a.Name)
	if name == "" {
		name = "attachment"
	}
	w, err := xw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {ct},
		"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": name})},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return err
	}
	enc := base64.StdEncoding.EncodeToString(a.Data)
	for len(enc) > 76 {
		if _, err := io.WriteString(w, enc[:76]+"\r\n"); err != nil {
			return err
		}
		enc = enc[76:]
	}
	_, err = io.WriteString(w, enc+"\r\n")
	return err
}

var kindToken = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// encodeSubject encodes a title as RFC 2047 encoded-words (base64, UTF-8),
// one line of the header per word.
func encodeSubject(title string) string {
	title = cutBytes(oneLine(title), 900)
	enc := mime.BEncoding.Encode("utf-8", title)
	return strings.ReplaceAll(enc, " =?utf-8?", "\r\n =?utf-8?")
}

// messageID is <dispatch.ID@domain-of-from>, the id hashed when it is not
// plain enough for a Message-ID.
func messageID(id, from string) string {
	local := id
	if !dotAtom.MatchString(id) {
		local = hash(id)[:32]
	}
	domain := "bidwatch.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok && dotAtom.MatchString(d) {
		domain = d
	}
	return "<dispatch." + local + "@" + domain + ">"
}

var dotAtom = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// emailText is the plain-text part.
func emailText(m *Message) string {
	var b strings.Builder
	b.WriteString(oneLine(m.Title) + "\n")
	if s := forWhom(m); s != "" {
		b.WriteString(s + "\n")
	}
	if len(m.Lines) > 0 {
		b.WriteString("\n" + strings.Join(m.Lines, "\n") + "\n")
	}
	if len(m.Mentions) > 0 {
		b.WriteString("\n值班：" + names(m.Mentions) + "\n")
	}
	if len(m.Attachments) > 0 {
		b.WriteString("\n附件：" + attachmentNames(m) + "\n")
	}
	if len(m.Links) > 0 {
		b.WriteString("\n")
		for _, l := range m.Links {
			b.WriteString(l.Text + "：" + l.URL + "\n")
		}
	}
	b.WriteString("\n-- \nbidwatch " + footer(m) + " · " + m.ID + "\n")
	return b.String()
}

type emailPage struct {
	Title, ForWhom, OnDuty, ID, Attached, Footer string
	Lines                                        []string
	Links                                        []Link
}

// footer says what kind of mail it is: 运维报告 for a scheduled report,
// 派单告警 for everything else.
func footer(m *Message) string {
	if m.Kind == "report" {
		return "运维报告"
	}
	return "派单告警"
}

// attachmentNames lists the attachments' names: "a.html、b.csv".
func attachmentNames(m *Message) string {
	var ns []string
	for _, a := range m.Attachments {
		ns = append(ns, oneLine(a.Name))
	}
	return strings.Join(ns, "、")
}

func emailView(m *Message) emailPage {
	p := emailPage{Title: oneLine(m.Title), ForWhom: forWhom(m), Lines: m.Lines, Links: m.Links, ID: m.ID, Attached: attachmentNames(m), Footer: footer(m)}
	if len(m.Mentions) > 0 {
		p.OnDuty = names(m.Mentions)
	}
	return p
}

// emailHTML is the HTML part; html/template escapes every value (and keeps
// a link's URL to safe schemes).
var emailHTML = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
<h2>{{.Title}}</h2>
{{- if .ForWhom}}
<p><b>{{.ForWhom}}</b></p>
{{- end}}
{{- if .Lines}}
<p>{{range $i, $l := .Lines}}{{if $i}}<br>
{{end}}{{$l}}{{end}}</p>
{{- end}}
{{- if .OnDuty}}
<p>值班：{{.OnDuty}}</p>
{{- end}}
{{- if .Attached}}
<p>附件：{{.Attached}}</p>
{{- end}}
{{- if .Links}}
<ul>
{{- range .Links}}
<li><a href="{{.URL}}">{{.Text}}</a></li>
{{- end}}
</ul>
{{- end}}
<p style="color:#888">bidwatch {{.Footer}} · {{.ID}}</p>
</body></html>
`))
