package archtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportRules checks the repository. Each failure names one forbidden edge and the
// files that make it.
func TestImportRules(t *testing.T) {
	pkgs, err := Load(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("found %d packages under internal/: not the repository", len(pkgs))
	}
	for _, v := range Check(pkgs) {
		t.Errorf("forbidden import: %s", v)
	}
}

// TestCheckFindsViolations runs the checker on a small module holding one violation of
// each rule next to the edges the rules allow.
func TestCheckFindsViolations(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.26\n",
		// allowed: a sync package on domain and the harness; its own helper package on it
		"internal/usersync/a.go":          `package usersync; import ("strings"; "example.com/m/internal/domain"; "example.com/m/internal/phase")`,
		"internal/usersync/synctest/h.go": `package synctest; import "example.com/m/internal/usersync"`,
		// allowed: tests are not shipped code
		"internal/timesync/a_test.go": `package timesync; import "example.com/m/internal/usersync"`,
		"internal/timesync/t.go":      `package timesync; import "example.com/m/internal/domain"`,
		// forbidden: sibling sync packages, also through a helper package
		"internal/absencesync/a.go": `package absencesync; import ("example.com/m/internal/timesync"; "example.com/m/internal/usersync/synctest")`,
		// forbidden: the admin API on a sync package; allowed: on domain and the store
		"internal/httpapi/api.go": `package httpapi; import ("net/http"; "example.com/m/internal/domain"; "example.com/m/internal/store"; "example.com/m/internal/usersync")`,
		// forbidden: domain on AWS, HTTP and another internal package; allowed: std, itself
		"internal/domain/d.go":      `package domain; import ("fmt"; "net/http"; "github.com/aws/aws-sdk-go-v2/aws"; "example.com/m/internal/store")`,
		"internal/domain/sub/s.go":  `package sub; import ("net/http/httptest"; "example.com/m/internal/domain")`,
		"internal/domain/d_test.go": `package domain; import "example.com/m/internal/store"`,
		// ignored: test data
		"internal/usersync/testdata/x.go": `package x; import "example.com/m/internal/timesync"`,
		// allowed: other packages may use a sync package
		"internal/phases/p.go": `package phases; import ("example.com/m/internal/usersync"; "example.com/m/internal/timesync")`,
	}
	for name, src := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pkgs, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range Check(pkgs) {
		got = append(got, v.From+" -> "+v.To+" ["+strings.Join(v.Files, ",")+"]")
	}
	want := []string{
		"internal/absencesync -> internal/timesync [internal/absencesync/a.go]",
		"internal/absencesync -> internal/usersync/synctest [internal/absencesync/a.go]",
		"internal/domain -> github.com/aws/aws-sdk-go-v2/aws [internal/domain/d.go]",
		"internal/domain -> internal/store [internal/domain/d.go]",
		"internal/domain -> net/http [internal/domain/d.go]",
		"internal/domain/sub -> net/http/httptest [internal/domain/sub/s.go]",
		"internal/httpapi -> internal/usersync [internal/httpapi/api.go]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, v := range Check(pkgs) {
		if s := v.String(); !strings.Contains(s, v.From+" imports "+v.To) || v.Rule == "" {
			t.Errorf("message %q does not name the edge and its rule", s)
		}
	}
}
