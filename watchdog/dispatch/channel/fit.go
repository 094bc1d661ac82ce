package channel

import (
	"strings"
)

// truncMark ends a body cut to fit a provider's size limit.
const truncMark = "…（已截断，详见链接）"

// draft is a message as a channel lays it out: the title, the body (the
// lines, one a line), the links. Who it is for and who is on duty are not
// in it: a channel adds them as they are, and they are never cut.
type draft struct {
	Title string
	Body  string
	Links []Link
	// Cut: the body was cut; the channel puts truncMark after it.
	Cut bool
}

func newDraft(m *Message) draft {
	return draft{Title: oneLine(m.Title), Body: strings.Join(m.Lines, "\n"), Links: m.Links}
}

// fit returns d cut so that size(d), the size the provider counts, is at
// most limit. The body goes first, cut on a rune boundary (and back to the
// end of a line when one is near); then, only if the title, the header and
// the links alone are too big, links are dropped from the end and last the
// title is cut. size must grow with the body, the links and the title.
func fit(d draft, limit int, size func(draft) int) draft {
	if size(d) <= limit {
		return d
	}
	body := d.Body
	d.Cut = true
	d.Body = ""
	if size(d) <= limit {
		// The longest prefix of the body that fits.
		n := largest(len(body), func(n int) bool {
			d.Body = cutBytes(body, n)
			return size(d) <= limit
		})
		d.Body = atLineEnd(cutBytes(body, n))
		return d
	}
	for len(d.Links) > 0 && size(d) > limit {
		d.Links = d.Links[:len(d.Links)-1]
	}
	if size(d) <= limit {
		return d
	}
	title := d.Title
	n := largest(len(title), func(n int) bool {
		d.Title = cutBytes(title, n)
		return size(d) <= limit
	})
	d.Title = cutBytes(title, n)
	return d
}

// largest returns the largest n in [0, max] for which ok(n) holds, given
// ok(0) holds (or 0) and ok holds for every n below one it holds for.
func largest(max int, ok func(int) bool) int {
	lo, hi := 0, max // ok(lo) assumed
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// atLineEnd takes a cut body back to the end of its last whole line when
// that loses less than a fifth of it, and trims trailing space.
func atLineEnd(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i > 0 && i >= len(s)*4/5 {
		s = s[:i]
	}
	return strings.TrimRight(s, " \t\r\n")
}

// forWhom is the header line: "江都区分中心 · 值班员".
func forWhom(m *Message) string {
	switch {
	case m.SubCenter != "" && m.Level != "":
		return m.SubCenter + " · " + m.Level
	default:
		return m.SubCenter + m.Level
	}
}

// names lists the people on duty: "张三、李四".
func names(ms []Mention) string {
	out := make([]string, 0, len(ms))
	for _, p := range ms {
		out = append(out, p.Name)
	}
	return strings.Join(out, "、")
}

// mobiles lists the people's mobiles, each once, in order.
func mobiles(ms []Mention) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range ms {
		if p.Mobile != "" && !seen[p.Mobile] {
			seen[p.Mobile] = true
			out = append(out, p.Mobile)
		}
	}
	return out
}

// mdLink writes a Markdown link whose text and URL cannot break out of it.
func mdLink(l Link) string {
	text := strings.NewReplacer("[", "［", "]", "］", "\n", " ").Replace(l.Text)
	u := strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "\n", "").Replace(l.URL)
	return "[" + text + "](" + u + ")"
}

// oneLine puts a title on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
