package channel

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// TestEmailAttachment: a message with attachments goes out as
// multipart/mixed — the text and HTML alternatives first, then each file
// as a base64 part named (RFC 2231) as given.
func TestEmailAttachment(t *testing.T) {
	mb := newMailbox(t, mailboxOpts{})
	m := sample()
	report := []byte("<!DOCTYPE html><html><body><h1>2026年11月 运维月报</h1>" + strings.Repeat("可用率 99.9 % ", 400) + "</body></html>")
	m.Attachments = []Attachment{
		{Name: "2026年11月 运维月报.html", ContentType: "text/html; charset=utf-8", Data: report},
		{Name: "raw.bin", ContentType: "not a type", Data: []byte{0, 1, 2, 255}},
	}
	ch := mustNew(t, emailSpec(mb.addr), mailEnv(t, mb, nil))
	if retry, err := send(t, ch, m, 5*time.Second); err != nil {
		t.Fatalf("Send = (%v, %v)", retry, err)
	}
	mails := mb.got()
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	msg, err := mail.ReadMessage(bytes.NewReader(mails[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q (%v), want multipart/mixed", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var kinds []string
	var files []*multipart.Part
	var datas [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		kinds = append(kinds, ct)
		if ct == "multipart/alternative" {
			inner := multipart.NewReader(p, pp["boundary"])
			var alts []string
			for {
				q, err := inner.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(q)
				alts = append(alts, strings.Split(q.Header.Get("Content-Type"), ";")[0])
				if !strings.Contains(string(b), "附件：2026年11月 运维月报.html、raw.bin") {
					t.Errorf("%s part does not name the attachments", alts[len(alts)-1])
				}
			}
			if strings.Join(alts, ",") != "text/plain,text/html" {
				t.Errorf("alternatives %v", alts)
			}
			continue
		}
		if p.Header.Get("Content-Transfer-Encoding") != "base64" {
			t.Errorf("attachment encoding %q", p.Header.Get("Content-Transfer-Encoding"))
		}
		b, err := io.ReadAll(p) // multipart does not decode base64
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\r\n") {
			if len(line) > 76 {
				t.Fatalf("a base64 line of %d characters", len(line))
			}
		}
		dec, err := io.ReadAll(base64Reader(b))
		if err != nil {
			t.Fatal(err)
		}
		files, datas = append(files, p), append(datas, dec)
	}
	if strings.Join(kinds, ",") != "multipart/alternative,text/html,application/octet-stream" {
		t.Errorf("parts %v", kinds)
	}
	if len(files) != 2 {
		t.Fatalf("%d attachments, want 2", len(files))
	}
	if files[0].FileName() != "2026年11月 运维月报.html" || !bytes.Equal(datas[0], report) {
		t.Errorf("attachment 1: %q, %d bytes", files[0].FileName(), len(datas[0]))
	}
	if files[1].FileName() != "raw.bin" || !bytes.Equal(datas[1], []byte{0, 1, 2, 255}) {
		t.Errorf("attachment 2: %q, %v", files[1].FileName(), datas[1])
	}
}

// TestEmailAttachmentComposeStable: the same message composes to the same
// bytes (a retried report is the same mail).
func TestEmailAttachmentComposeStable(t *testing.T) {
	ch := mustNew(t, emailSpec("127.0.0.1:25"), testEnv(t, nil)).(*email)
	m := sample()
	m.Attachments = []Attachment{{Name: "r.html", ContentType: "text/html", Data: []byte("<p>x</p>")}}
	a, err := ch.compose(m, ch.recipients(m))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ch.compose(m, ch.recipients(m))
	if !bytes.Equal(a, b) {
		t.Error("compose is not stable")
	}
}

func base64Reader(b []byte) io.Reader {
	return base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.ReplaceAll(b, []byte("\r\n"), nil)))
}
