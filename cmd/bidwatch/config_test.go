package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("city: {id: yangzhou, name: 扬州市}\nrooms:\n  - {id: r, name: R, kind: opening-hall, sub_center: yz, evnts_url: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file           string
		code           int
		stdout, stderr string
	}{
		{"../../configs/demo.yaml", 0, "../../configs/demo.yaml: ok (5 sub-centers, 9 rooms, 20 servers)\n", ""},
		{"../../configs/example-city.yaml", 0, "../../configs/example-city.yaml: ok (5 sub-centers, 13 rooms, 14 servers)\n", ""},
		{bad, 1, "", bad + ": rooms[0].evnts_url (line 3): unknown key\n" +
			bad + ": rooms[0].sub_center: unknown sub-center \"yz\"\n" +
			bad + ": rooms[0].events_url: required for an opening-hall\n"},
		{filepath.Join(dir, "missing.yaml"), 2, "", ""},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := newConfigCmd()
			cmd.SilenceUsage, cmd.SilenceErrors = true, true // as the root command does
			cmd.SetArgs([]string{"validate", tt.file})
			cmd.SetOut(&stdout)
			cmd.SetErr(&stderr)
			err := cmd.Execute()
			code := 0
			if err != nil {
				var ee *exitError
				if !errors.As(err, &ee) {
					t.Fatalf("error %v is not an *exitError", err)
				}
				code = ee.code
			}
			if code != tt.code {
				t.Errorf("exit code %d, want %d (err %v)", code, tt.code, err)
			}
			if stdout.String() != tt.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), tt.stdout)
			}
			if tt.code != 2 && stderr.String() != tt.stderr {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), tt.stderr)
			}
			if tt.code == 2 && (err == nil || !strings.Contains(err.Error(), "missing.yaml")) {
				t.Errorf("unreadable file: error %v does not name it", err)
			}
		})
	}
}
