package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestSecretNeverPrints(t *testing.T) {
	const value = "s3cr3t-t0ken"
	s := Secret(value)
	type holder struct {
		Name  string
		Token Secret
	}
	h := holder{Name: "hall", Token: s}
	ws := WSProtocol{Token: s}

	// jsonOf marshals v and decodes the result back into a string (when v
	// is a string) or a map.
	jsonOf := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var back any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(back)
	}
	yamlOf := func(v any) string {
		b, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	slogOf := func(json bool) string {
		var buf bytes.Buffer
		var handler slog.Handler = slog.NewTextHandler(&buf, nil)
		if json {
			handler = slog.NewJSONHandler(&buf, nil)
		}
		slog.New(handler).Info("connect", "token", s, "ws", ws)
		return buf.String()
	}

	tests := []struct {
		name, got, want string
	}{
		{"String", s.String(), "<secret>"},
		{"GoString", s.GoString(), `"<secret>"`},
		{"%v", fmt.Sprintf("%v", s), "<secret>"},
		{"%s", fmt.Sprintf("%s", s), "<secret>"},
		{"%q", fmt.Sprintf("%q", s), `"<secret>"`},
		{"%x", fmt.Sprintf("%x", s), "<secret>"},
		{"%d", fmt.Sprintf("%d", s), "<secret>"},
		{"%10s", fmt.Sprintf("%10s", s), "<secret>"},
		{"%#v", fmt.Sprintf("%#v", s), `"<secret>"`},
		{"Sprint", fmt.Sprint(s), "<secret>"},
		{"%v struct", fmt.Sprintf("%v", h), "{hall <secret>}"},
		{"%+v struct", fmt.Sprintf("%+v", h), "{Name:hall Token:<secret>}"},
		{"%#v struct", fmt.Sprintf("%#v", h), `config.holder{Name:"hall", Token:"<secret>"}`},
		{"%+v pointer", fmt.Sprintf("%+v", &h), "&{Name:hall Token:<secret>}"},
		{"MarshalJSON", func() string { b, _ := s.MarshalJSON(); return string(b) }(), `"<secret>"`},
		{"json", jsonOf(s), "<secret>"},
		{"json struct", jsonOf(h), "map[Name:hall Token:<secret>]"},
		{"yaml", yamlOf(s), "<secret>\n"},
		{"yaml struct", yamlOf(h), "name: hall\ntoken: <secret>\n"},
		{"MarshalText", func() string { b, _ := s.MarshalText(); return string(b) }(), "<secret>"},
		{"Reveal", s.Reveal(), value},
		{"empty String", Secret("").String(), ""},
		{"empty %v", fmt.Sprintf("[%v]", Secret("")), "[]"},
		{"empty json", jsonOf(Secret("")), ""},
		{"empty yaml", yamlOf(Secret("")), "\"\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}

	// Whole configurations and log lines carry <secret>, never the value.
	c, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Probe.WS.Token.Reveal() != value {
		t.Fatalf("testdata/valid.yaml token = %q, want %q", c.Probe.WS.Token.Reveal(), value)
	}
	for name, out := range map[string]string{
		"%v config":  fmt.Sprintf("%v", c),
		"%+v config": fmt.Sprintf("%+v", *c),
		"%#v config": fmt.Sprintf("%#v", c.Probe),
		"json":       jsonOf(c),
		"json raw":   unescapeHTML(string(must(json.Marshal(c)))),
		"yaml":       yamlOf(c),
		"slog text":  slogOf(false),
		"slog json":  unescapeHTML(slogOf(true)),
	} {
		if strings.Contains(out, value) || !strings.Contains(out, "<secret>") {
			t.Errorf("%s leaks the secret or hides that it is set:\n%s", name, out)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// unescapeHTML undoes encoding/json's escaping of < and >.
func unescapeHTML(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(s)
}
