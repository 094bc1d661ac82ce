package channel

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/bidwatch/bidwatch/internal/config"
)

// WeCom (企业微信) group robot limits, from its documentation (群机器人配置
// 说明): markdown content at most 4096 bytes and text content at most 2048,
// UTF-8; 20 messages a minute per robot.
const (
	weComMarkdownMax = 4096
	weComTextMax     = 2048
)

// WeCom reply codes: 45009 is its frequency limit (接口调用超过限制), -1
// "system busy"; both may pass later.
var weComCodes = robotCodes{rate: []int{45009}, busy: []int{-1}}

// weCom posts to a WeCom group robot's webhook URL (…/cgi-bin/webhook/send?
// key=…; the key is the credential, so the URL is never shown).
//
// The message goes as markdown, which reads best but cannot mention anyone
// by mobile (its only mention, <@userid>, needs WeCom user ids bidwatch does
// not have). So when someone on duty has a mobile, a second, short text
// message follows with mentioned_mobile_list, which does ping them. A retry
// of a message whose markdown went out and whose ping did not sends only
// the ping: the channel remembers, by message id, what it delivered.
type weCom struct {
	base
	url  string
	done *delivered
}

func newWeCom(spec config.Channel, env Env) (Channel, error) {
	_, where, secrets, err := parseURL(spec.URL)
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w", spec.Name, err)
	}
	return &weCom{base: newBase(spec, env, where, secrets...), url: spec.URL, done: newDelivered(1024)}, nil
}

type weComMessage struct {
	MsgType  string          `json:"msgtype"`
	Markdown *weComContent   `json:"markdown,omitempty"`
	Text     *weComTextParts `json:"text,omitempty"`
}

type weComContent struct {
	Content string `json:"content"`
}

type weComTextParts struct {
	Content             string   `json:"content"`
	MentionedMobileList []string `json:"mentioned_mobile_list,omitempty"`
}

// Send posts the markdown, then (when someone on duty has a mobile) the
// mention.
func (w *weCom) Send(ctx context.Context, m *Message) (bool, error) {
	if !w.done.has(m.ID) {
		body, err := marshal(weComMessage{MsgType: "markdown", Markdown: &weComContent{Content: weComMarkdown(m)}})
		if err != nil {
			return w.fail(false, fmt.Errorf("encode: %w", err))
		}
		if retry, err := w.send(ctx, body); err != nil {
			return w.fail(retry, fmt.Errorf("markdown: %w", err))
		}
		w.log.Debug("sent", "id", m.ID, "part", "markdown")
	}
	mob := mobiles(m.Mentions)
	if len(mob) == 0 {
		w.done.forget(m.ID)
		return false, nil
	}
	w.done.add(m.ID)
	body, err := marshal(weComMessage{MsgType: "text", Text: &weComTextParts{Content: weComMention(m), MentionedMobileList: mob}})
	if err != nil {
		return w.fail(false, fmt.Errorf("encode: %w", err))
	}
	if retry, err := w.send(ctx, body); err != nil {
		return w.fail(retry, fmt.Errorf("mention (the markdown went out): %w", err))
	}
	w.done.forget(m.ID)
	w.log.Debug("sent", "id", m.ID, "part", "mention")
	return false, nil
}

func (w *weCom) send(ctx context.Context, body []byte) (bool, error) {
	r, err := w.post(ctx, w.url, http.Header{}, body)
	if err != nil {
		return true, err
	}
	retry, err := w.judge(r, errcodeAnswer, weComCodes)
	return retry, w.scrubErr(err)
}

// weComMarkdown lays m out in WeCom's markdown, at most weComMarkdownMax
// bytes: the title as a heading (coloured by kind), who it is for as a
// quote, the lines, who is on duty, the links.
func weComMarkdown(m *Message) string {
	d := fit(newDraft(m), weComMarkdownMax, func(d draft) int { return len(weComRender(m, d)) })
	return weComRender(m, d)
}

func weComRender(m *Message, d draft) string {
	var b strings.Builder
	title := d.Title
	if c := weComColor(m.Kind); c != "" {
		title = `<font color="` + c + `">` + title + `</font>`
	}
	b.WriteString("## " + title)
	if s := forWhom(m); s != "" {
		b.WriteString("\n> " + s + "\n") // a blank line ends the quote
	}
	if d.Body != "" {
		b.WriteString("\n" + d.Body)
	}
	if d.Cut {
		b.WriteString("\n" + truncMark)
	}
	if len(m.Mentions) > 0 {
		b.WriteString("\n值班：" + names(m.Mentions))
	}
	for _, l := range d.Links {
		b.WriteString("\n" + mdLink(l))
	}
	return b.String()
}

// weComColor is the title's colour: warning (orange-red) for news that
// wants action, info (green) for a resolution.
func weComColor(kind string) string {
	switch kind {
	case "opened", "escalation", "changed", "reminder":
		return "warning"
	case "resolved":
		return "info"
	}
	return ""
}

// weComMention is the text that carries the mentions: the title, cut to fit.
func weComMention(m *Message) string {
	const lead = "请值班人员处理："
	return lead + cutBytes(oneLine(m.Title), weComTextMax-len(lead))
}

// delivered remembers, for the last n message ids, that a first part went
// out: a bounded set, oldest dropped first.
type delivered struct {
	mu    sync.Mutex
	n     int
	ids   map[string]bool
	order []string
}

func newDelivered(n int) *delivered { return &delivered{n: n, ids: map[string]bool{}} }

func (d *delivered) has(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ids[id]
}

func (d *delivered) add(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids[id] {
		return
	}
	if len(d.order) >= d.n {
		delete(d.ids, d.order[0])
		d.order = d.order[1:]
	}
	d.ids[id] = true
	d.order = append(d.order, id)
}

func (d *delivered) forget(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids[id] {
		delete(d.ids, id)
		for i, o := range d.order {
			if o == id {
				d.order = append(d.order[:i], d.order[i+1:]...)
				break
			}
		}
	}
}
