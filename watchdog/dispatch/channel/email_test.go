package channel

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/bidwatch/bidwatch/internal/config"
)

// mailbox is a local SMTP server (github.com/emersion/go-smtp) with
// STARTTLS and AUTH PLAIN (offered only over TLS unless insecure), that
// keeps what it receives.
type mailbox struct {
	srv  *smtp.Server
	addr string
	pool *x509.CertPool

	mu    sync.Mutex
	mails []gotMail
	// rcpt and data, when set, answer RCPT TO and DATA instead.
	rcpt func(to string) error
	data func() error
}

type gotMail struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	User string
}

type mailboxOpts struct {
	noTLS    bool // offer no STARTTLS
	insecure bool // allow AUTH without TLS
}

func newMailbox(t *testing.T, o mailboxOpts) *mailbox {
	t.Helper()
	mb := &mailbox{}
	cert, pool := selfSigned(t)
	mb.pool = pool
	mb.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mailSession{mb: mb, conn: c}, nil
	}))
	mb.srv.Domain = "localhost"
	mb.srv.ReadTimeout = 5 * time.Second
	mb.srv.WriteTimeout = 5 * time.Second
	mb.srv.AllowInsecureAuth = o.insecure
	mb.srv.ErrorLog = log.New(io.Discard, "", 0)
	if !o.noTLS {
		mb.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = mb.srv.Serve(l)
	}()
	t.Cleanup(func() {
		mb.srv.Close()
		// Serve may not have taken the listener yet (a test that never
		// connects ends at once): closing it ourselves ends Serve either way.
		_ = l.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("the SMTP server did not stop")
		}
	})
	return mb
}

func (mb *mailbox) got() []gotMail {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return slices.Clone(mb.mails)
}

type mailSession struct {
	mb   *mailbox
	conn *smtp.Conn
	m    gotMail
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "duty" || pass != smtpPass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		s.m.User = user
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.m.User == "" {
		return smtp.ErrAuthRequired
	}
	_, s.m.TLS = s.conn.TLSConnectionState()
	s.m.From = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.mb.rcpt != nil {
		if err := s.mb.rcpt(to); err != nil {
			return err
		}
	}
	s.m.To = append(s.m.To, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.mb.data != nil {
		if err := s.mb.data(); err != nil {
			return err
		}
	}
	s.m.Data = b
	s.mb.mu.Lock()
	s.mb.mails = append(s.mb.mails, s.m)
	s.mb.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.m = gotMail{User: s.m.User} }
func (s *mailSession) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "bidwatch test SMTP"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:    []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func emailSpec(addr string) config.Channel {
	return config.Channel{
		Name: "jd-mail", Type: "email", SMTP: addr, StartTLS: true,
		Username: "duty", Password: smtpPass,
		From: "bidwatch 派单 <dispatch@bidwatch.example.com>",
		To:   []string{"江都值班室 <jd-duty@example.com>", "ZhangSan@Example.com"},
	}
}

func mailEnv(t *testing.T, mb *mailbox, logs *logBuf) Env {
	env := testEnv(t, logs)
	env.TLS = &tls.Config{RootCAs: mb.pool, MinVersion: tls.VersionTLS12}
	return env
}

func TestEmailDelivers(t *testing.T) {
	mb := newMailbox(t, mailboxOpts{})
	logs := &logBuf{}
	m := sample()
	m.Lines = append(m.Lines, `备注：<b>勿</b> & "重试"`)
	ch := mustNew(t, emailSpec(mb.addr), mailEnv(t, mb, logs))
	if retry, err := send(t, ch, m, 5*time.Second); err != nil {
		t.Fatalf("Send = (%v, %v)", retry, err)
	}
	mails := mb.got()
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	got := mails[0]
	if !got.TLS || got.User != "duty" {
		t.Errorf("TLS %v, user %q: want STARTTLS and AUTH", got.TLS, got.User)
	}
	if got.From != "dispatch@bidwatch.example.com" {
		t.Errorf("MAIL FROM %q", got.From)
	}
	// To, then the people on duty, each once (zhangsan is in both, in
	// another case).
	if want := []string{"jd-duty@example.com", "ZhangSan@Example.com", "lisi@example.com"}; !slices.Equal(got.To, want) {
		t.Errorf("RCPT TO %v, want %v", got.To, want)
	}

	msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != m.Title {
		t.Errorf("Subject %q (%v), want %q", subject, err, m.Title)
	}
	if raw := msg.Header.Get("Subject"); !strings.HasPrefix(raw, "=?utf-8?b?") {
		t.Errorf("Subject not RFC 2047-encoded: %q", raw)
	}
	if id := msg.Header.Get("Message-ID"); id != "<dispatch.INC-000042.opened.1@bidwatch.example.com>" {
		t.Errorf("Message-ID %q", id)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "bidwatch 派单" {
		t.Errorf("From %v (%v)", from, err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 3 || to[0].Name != "江都值班室" || to[2].Name != "李四" {
		t.Errorf("To %v (%v)", to, err)
	}
	if d, err := msg.Header.Date(); err != nil || !d.Equal(fixedNow) {
		t.Errorf("Date %v (%v), want the clock's", d, err)
	}

	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		parts[strings.Split(p.Header.Get("Content-Type"), ";")[0]] = string(b)
	}
	text, html := parts["text/plain"], parts["text/html"]
	if text == "" || html == "" {
		t.Fatalf("parts %v, want text/plain and text/html", slices.Collect(maps.Keys(parts)))
	}
	for _, l := range sample().Lines {
		if !strings.Contains(text, l) || !strings.Contains(html, l) {
			t.Errorf("a part lacks the line %q", l)
		}
	}
	for _, want := range []string{`备注：<b>勿</b> & "重试"`, "值班：张三、李四", "江都区分中心 · 值班员"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	if !strings.Contains(html, `备注：&lt;b&gt;勿&lt;/b&gt; &amp; &#34;重试&#34;`) || strings.Contains(html, "<b>勿") {
		t.Errorf("html does not escape the line: %s", html)
	}
	for _, l := range sample().Links {
		if !strings.Contains(text, l.URL) {
			t.Errorf("text lacks the link %s", l.URL)
		}
		if !strings.Contains(html, `href="`+strings.ReplaceAll(l.URL, "&", "&amp;")+`"`) {
			t.Errorf("html lacks the link %s", l.URL)
		}
	}
	noSecret(t, "logs", logs.String())
}

func TestEmailGolden(t *testing.T) {
	ch := mustNew(t, emailSpec("127.0.0.1:25"), testEnv(t, nil)).(*email)
	m := sample()
	b, err := ch.compose(m, ch.recipients(m))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "email.eml", b)
}

func TestEmailFailures(t *testing.T) {
	tempFail := &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	permFail := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	for _, tc := range []struct {
		name      string
		opts      mailboxOpts
		spec      func(addr string) config.Channel
		rcpt      func(string) error
		data      func() error
		untrusted bool
		wantRetry bool
		wantIs    error
		wantMails int
	}{
		{name: "RCPT 451", rcpt: func(string) error { return tempFail }, wantRetry: true},
		{name: "RCPT 550 all", rcpt: func(string) error { return permFail }},
		{name: "RCPT 550 one", rcpt: func(to string) error {
			if to == "lisi@example.com" {
				return permFail
			}
			return nil
		}, wantMails: 1},
		{name: "DATA 452", data: func() error {
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "insufficient storage"}
		}, wantRetry: true},
		{name: "DATA 554", data: func() error {
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected as spam"}
		}},
		{name: "wrong password", spec: func(a string) config.Channel { s := emailSpec(a); s.Password = "nope-nope"; return s }},
		{name: "no STARTTLS offered", opts: mailboxOpts{noTLS: true, insecure: true}, wantIs: ErrRejected},
		{name: "certificate not trusted", untrusted: true},
		{name: "no recipients", spec: func(a string) config.Channel { s := emailSpec(a); s.To = nil; return s }, wantIs: ErrNoRecipients},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mb := newMailbox(t, tc.opts)
			mb.rcpt, mb.data = tc.rcpt, tc.data
			spec := emailSpec(mb.addr)
			if tc.spec != nil {
				spec = tc.spec(mb.addr)
			}
			env := mailEnv(t, mb, nil)
			if tc.untrusted {
				env.TLS = nil
			}
			m := sample()
			if tc.name == "no recipients" {
				m.Mentions = nil
			}
			retry, err := send(t, mustNew(t, spec, env), m, 5*time.Second)
			if n := len(mb.got()); n != tc.wantMails {
				t.Errorf("%d mails delivered, want %d", n, tc.wantMails)
			}
			if tc.wantMails > 0 {
				if err != nil {
					t.Fatalf("Send = (%v, %v), want the mail delivered to the rest", retry, err)
				}
				return
			}
			if err == nil || retry != tc.wantRetry {
				t.Fatalf("Send = (%v, %v), want retry %v", retry, err, tc.wantRetry)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("error %v is not %v", err, tc.wantIs)
			}
			for _, verb := range []string{"%v", "%+v", "%#v"} {
				noSecret(t, "error", fmt.Sprintf(verb, err))
			}
		})
	}
}

func TestEmailPlainOnLoopback(t *testing.T) {
	mb := newMailbox(t, mailboxOpts{noTLS: true, insecure: true})
	spec := emailSpec(mb.addr)
	spec.StartTLS = false
	if _, err := send(t, mustNew(t, spec, mailEnv(t, mb, nil)), sample(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := mb.got(); len(got) != 1 || got[0].TLS {
		t.Fatalf("mails %d, want one without TLS", len(got))
	}
}

func TestEmailUnreachable(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		retry, err := send(t, mustNew(t, emailSpec(refusedAddr(t)), testEnv(t, nil)), sample(), 2*time.Second)
		if err == nil || !retry {
			t.Fatalf("Send = (%v, %v), want a retried error", retry, err)
		}
	})
	t.Run("server never greets", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var conns sync.WaitGroup
		stop := make(chan struct{})
		conns.Add(1)
		go func() {
			defer conns.Done()
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			select { // says nothing
			case <-stop:
			case <-time.After(10 * time.Second):
			}
		}()
		defer func() { close(stop); l.Close(); conns.Wait() }()
		start := time.Now()
		retry, err := send(t, mustNew(t, emailSpec(l.Addr().String()), testEnv(t, nil)), sample(), 200*time.Millisecond)
		if err == nil || !retry {
			t.Fatalf("Send = (%v, %v), want a retried error", retry, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Send took %s past a 200 ms context", d)
		}
	})
}

func TestMessageID(t *testing.T) {
	for _, tc := range []struct{ id, from, want string }{
		{"INC-1.opened.2", "a@b.example", "<dispatch.INC-1.opened.2@b.example>"},
		{"INC 1/中文", "a@b.example", "<dispatch." + hash("INC 1/中文")[:32] + "@b.example>"},
		{"x..y", "nodomain", "<dispatch." + hash("x..y")[:32] + "@bidwatch.invalid>"},
	} {
		if got := messageID(tc.id, tc.from); got != tc.want {
			t.Errorf("messageID(%q, %q) = %s, want %s", tc.id, tc.from, got, tc.want)
		}
	}
}
