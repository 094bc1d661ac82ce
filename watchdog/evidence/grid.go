package evidence

import (
	"io"
	"strings"
	"unicode/utf8"
)

// grid lines up columns of text whose cells mix Latin and CJK (a CJK
// character takes two columns on a terminal; text/tabwriter counts one).
type grid struct{ rows [][]string }

func (g *grid) add(cells ...string) { g.rows = append(g.rows, cells) }

// write prints the rows, columns two spaces apart, without trailing space.
func (g *grid) write(w io.Writer) error {
	var widths []int
	for _, r := range g.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range g.rows {
		line := ""
		for i, c := range r {
			line += c
			if i < len(r)-1 {
				line += strings.Repeat(" ", widths[i]-displayWidth(c)+2)
			}
		}
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// displayWidth is how many terminal columns s takes: two for East Asian
// wide and fullwidth characters, one for the rest.
func displayWidth(s string) int {
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		if wide(r) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func wide(r rune) bool {
	return r >= 0x1100 && r <= 0x115F || r >= 0x2E80 && r <= 0x303E || r >= 0x3041 && r <= 0x33FF ||
		r >= 0x3400 && r <= 0x4DBF || r >= 0x4E00 && r <= 0x9FFF || r >= 0xA000 && r <= 0xA4CF ||
		r >= 0xAC00 && r <= 0xD7A3 || r >= 0xF900 && r <= 0xFAFF || r >= 0xFE30 && r <= 0xFE4F ||
		r >= 0xFF00 && r <= 0xFF60 || r >= 0xFFE0 && r <= 0xFFE6 || r >= 0x20000 && r <= 0x3FFFD
}
