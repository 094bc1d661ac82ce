package channel

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCutBytes(t *testing.T) {
	s := "江a都" // 3 + 1 + 3 bytes
	for _, tc := range []struct {
		n    int
		want string
	}{{-1, ""}, {0, ""}, {2, ""}, {3, "江"}, {4, "江a"}, {6, "江a"}, {7, s}, {99, s}} {
		if got := cutBytes(s, tc.n); got != tc.want {
			t.Errorf("cutBytes(%q, %d) = %q, want %q", s, tc.n, got, tc.want)
		}
	}
}

func TestFit(t *testing.T) {
	many := func(n int) []Link {
		var ls []Link
		for i := range n {
			ls = append(ls, Link{Text: fmt.Sprintf("确认%d", i), URL: fmt.Sprintf("https://x.example/ack/%d", i)})
		}
		return ls
	}
	for _, tc := range []struct {
		name      string
		m         *Message
		limit     int
		wantCut   bool
		wantLinks int
	}{
		{"fits", sample(), 4096, false, 3},
		{"long body", huge(), 4096, true, 3},
		{"too many links", &Message{Title: "标题", Lines: []string{"一行"}, Links: many(400)}, 4096, true, -1},
		{"giant title", &Message{Title: strings.Repeat("标题很长", 2000), Lines: []string{"一行"}, Links: many(2)}, 1000, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			size := func(d draft) int { return len(weComRender(tc.m, d)) }
			d := fit(newDraft(tc.m), tc.limit, size)
			out := weComRender(tc.m, d)
			if len(out) > tc.limit || !utf8.ValidString(out) {
				t.Fatalf("%d bytes (limit %d), valid UTF-8 %v", len(out), tc.limit, utf8.ValidString(out))
			}
			if d.Cut != tc.wantCut {
				t.Errorf("cut %v, want %v", d.Cut, tc.wantCut)
			}
			if tc.wantLinks >= 0 && len(d.Links) != tc.wantLinks {
				t.Errorf("%d links kept, want %d", len(d.Links), tc.wantLinks)
			}
			if tc.wantLinks < 0 && (len(d.Links) == 0 || len(d.Links) == 400 || d.Links[0].Text != "确认0") {
				t.Errorf("%d links kept: want the first ones, as many as fit", len(d.Links))
			}
		})
	}
}

func TestDeliveredIsBounded(t *testing.T) {
	d := newDelivered(3)
	for i := range 5 {
		d.add(fmt.Sprint(i))
	}
	for i, want := range []bool{false, false, true, true, true} {
		if d.has(fmt.Sprint(i)) != want {
			t.Errorf("has(%d) = %v, want %v", i, !want, want)
		}
	}
	d.forget("3")
	if d.has("3") || len(d.order) != 2 || len(d.ids) != 2 {
		t.Errorf("after forget: %v %v", d.order, d.ids)
	}
}
