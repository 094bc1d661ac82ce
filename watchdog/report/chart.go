package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Chart colours; the print test looks for them in the rendered pages.
const (
	ColorAvailability = "#1f6fb4"
	ColorGood         = "#5aa05a"
	ColorRTT          = "#d0402b"
	ColorGrid         = "#d8d8d8"
)

// classColors colour the SLA classes, least severe first.
var classColors = []string{"#8ab4dc", "#f0b429", "#e0651f", "#b0202a"}

// seriesColors colour the servers of a health chart.
var seriesColors = []string{"#1f6fb4", "#d0402b", "#5aa05a", "#8e5bb5", "#e0901f", "#3aa5a5", "#a05a2c", "#c04c8c"}

// chart geometry: a 170 mm wide drawing in a 680×220 view box.
const (
	chartW, chartH         = 680.0, 220.0
	padL, padR, padT, padB = 52.0, 18.0, 22.0, 44.0
)

// series is one line of a line chart.
type series struct {
	name   string
	color  string
	values []float64 // NaN: no point
}

// lineChart draws lines over labelled x positions, y from lo to hi (a
// range widened to fit the data when auto is set), as an inline SVG.
func lineChart(title, unit string, labels []string, ss []series, lo, hi float64, auto bool) template.HTML {
	if auto {
		dlo, dhi := math.Inf(1), math.Inf(-1)
		for _, s := range ss {
			for _, v := range s.values {
				if !math.IsNaN(v) {
					dlo, dhi = math.Min(dlo, v), math.Max(dhi, v)
				}
			}
		}
		if !math.IsInf(dlo, 1) {
			lo, hi = math.Min(lo, dlo), math.Max(hi, dhi)
		}
		if hi <= lo {
			hi = lo + 1
		}
		hi = niceCeil(hi)
	}
	var b strings.Builder
	open(&b, title)
	axes(&b, unit, labels, lo, hi)
	n := len(labels)
	x := func(i int) float64 {
		if n <= 1 {
			return padL + (chartW-padL-padR)/2
		}
		return padL + float64(i)*(chartW-padL-padR)/float64(n-1)
	}
	y := func(v float64) float64 { return chartH - padB - (v-lo)/(hi-lo)*(chartH-padT-padB) }
	for _, s := range ss {
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, s.color, strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		for i, v := range s.values {
			if math.IsNaN(v) {
				flush()
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(math.Max(lo, math.Min(hi, v)))))
			if n <= 62 {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.2" fill="%s"/>`, x(i), y(math.Max(lo, math.Min(hi, v))), s.color)
			}
		}
		flush()
	}
	if len(ss) > 1 || (len(ss) == 1 && ss[0].name != title) {
		legend(&b, ss) // what each line is, unless the title says it
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from numbers and escaped names
}

// barChart draws one bar per label.
func barChart(title, unit string, labels []string, values []float64, colors []string) template.HTML {
	hi := 1.0
	for _, v := range values {
		hi = math.Max(hi, v)
	}
	hi = niceCeil(hi)
	var b strings.Builder
	open(&b, title)
	axes(&b, unit, nil, 0, hi)
	n := float64(len(values))
	slot := (chartW - padL - padR) / math.Max(n, 1)
	for i, v := range values {
		h := v / hi * (chartH - padT - padB)
		x := padL + float64(i)*slot + slot*0.2
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x, chartH-padB-h, slot*0.6, h, colors[i%len(colors)])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" class="v">%g</text>`, x+slot*0.3, chartH-padB-h-3, v)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+slot*0.3, chartH-padB+16, template.HTMLEscapeString(labels[i]))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from numbers and escaped names
}

func open(b *strings.Builder, title string) {
	fmt.Fprintf(b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" role="img" aria-label="%s">`, chartW, chartH, template.HTMLEscapeString(title))
}

// axes draws the grid, the y ticks and (every few) x labels.
func axes(b *strings.Builder, unit string, labels []string, lo, hi float64) {
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*float64(i)/4
		y := chartH - padB - float64(i)/4*(chartH-padT-padB)
		fmt.Fprintf(b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="%s" stroke-width="0.8"/>`, padL, y, chartW-padR, y, ColorGrid)
		fmt.Fprintf(b, `<text x="%g" y="%.1f" text-anchor="end">%s</text>`, padL-4, y+4, tick(v))
	}
	fmt.Fprintf(b, `<text x="4" y="11">%s</text>`, template.HTMLEscapeString(unit))
	n := len(labels)
	every := max(1, (n+11)/12)
	for i, l := range labels {
		if i != n-1 && (i%every != 0 || n-1-i < every) {
			continue // not a labelled one, or too near the last
		}
		x := padL + (chartW-padL-padR)/2
		if n > 1 {
			x = padL + float64(i)*(chartW-padL-padR)/float64(n-1)
		}
		anchor := "middle"
		if n > 1 && i == n-1 {
			anchor = "end"
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%g" text-anchor="%s">%s</text>`, x, chartH-padB+16, anchor, template.HTMLEscapeString(l))
	}
}

func legend(b *strings.Builder, ss []series) {
	x := padL
	for _, s := range ss {
		fmt.Fprintf(b, `<rect x="%.1f" y="%g" width="10" height="4" fill="%s"/><text x="%.1f" y="%g">%s</text>`,
			x, chartH-9, s.color, x+13, chartH-4, template.HTMLEscapeString(s.name))
		x += 24 + 11*float64(len([]rune(s.name)))
	}
}

func tick(v float64) string {
	if math.Abs(v-math.Round(v)) < 1e-9 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// Patrol map colours: not checked, and checked (the share of the cell's
// hours shades from light to full).
const (
	ColorUnchecked = "#eeeeee"
	ColorChecked   = "#2e8b57"
)

// heatMap draws one row per room and one cell per column, shaded by the
// share of the cell's hours a patrol checked (full: perCell hours). More
// than 62 columns are grouped, a week or so a cell.
func heatMap(title string, rows []string, labels []string, counts [][]int, perCell int) template.HTML {
	n := len(labels)
	group := max(1, (n+52)/53)
	if n <= 62 {
		group = 1
	}
	cols := (n + group - 1) / group
	const rowH, nameW = 14.0, 90.0
	h := padT + rowH*float64(len(rows)) + 24
	cellW := (chartW - nameW - padR) / math.Max(float64(cols), 1)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-kind="heat" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" role="img" aria-label="%s">`, chartW, h, template.HTMLEscapeString(title))
	for r, name := range rows {
		y := padT + rowH*float64(r)
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end">%s</text>`, nameW-4, y+rowH-3, template.HTMLEscapeString(short(name, 8)))
		for c := 0; c < cols; c++ {
			sum, span := 0, 0
			for i := c * group; i < min(n, (c+1)*group); i++ {
				if r < len(counts) && i < len(counts[r]) {
					sum += counts[r][i]
				}
				span++
			}
			color := ColorUnchecked
			opacity := 1.0
			if sum > 0 {
				color = ColorChecked
				opacity = 0.35 + 0.65*math.Min(1, float64(sum)/float64(perCell*span))
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%g" fill="%s" fill-opacity="%.2f"/>`,
				nameW+float64(c)*cellW, y+1, math.Max(cellW-1, 0.5), rowH-2, color, opacity)
		}
	}
	every := max(1, (cols+11)/12)
	for c := 0; c < cols; c += every {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`, nameW+float64(c)*cellW, h-8, template.HTMLEscapeString(labels[c*group]))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from numbers and escaped names
}
