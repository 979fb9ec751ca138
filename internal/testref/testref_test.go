package testref

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestDirFindsTheVendorReferences(t *testing.T) {
	for _, sub := range []string{"personio", "staffomatic"} {
		if _, err := os.Stat(filepath.Join(Dir(t, sub), "SOURCE.txt")); err != nil {
			t.Errorf("%s: %v", sub, err)
		}
	}
}

// TestLocateBesideTheOrigin: a fresh clone in a temporary folder has no shared/ beside
// it; the reference beside the repository it was cloned from is found instead, and the
// environment variable wins over both.
func TestLocateBesideTheOrigin(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"shared/reference/personio", "other/personio", "main"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	main := filepath.Join(root, "main")
	git(main, "init", "-q")
	git(main, "commit", "-q", "--allow-empty", "-m", "x")
	clone := filepath.Join(t.TempDir(), "clone")
	git(root, "clone", "-q", main, clone)

	want := filepath.Join(root, "main", "..", "shared", "reference", "personio")
	if got, tried := locate(clone, "personio", ""); got != want {
		t.Fatalf("from a clone: %q (tried %v), want %q", got, tried, want)
	}
	if got, _ := locate(main, "personio", ""); got != filepath.Join(main, "..", "shared", "reference", "personio") {
		t.Fatalf("beside the repository: %q", got)
	}
	if got, _ := locate(clone, "personio", filepath.Join(root, "other")); got != filepath.Join(root, "other", "personio") {
		t.Fatalf("%s: %q", EnvDir, got)
	}
	if got, tried := locate(clone, "nothing", ""); got != "" || len(tried) != 2 {
		t.Fatalf("missing: %q, tried %v", got, tried)
	}
}
