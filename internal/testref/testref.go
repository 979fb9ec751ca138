// Package testref finds the shared reference material (vendor specs, recorded responses)
// for tests. It lives in shared/reference beside the repository, in the work tree and in
// CI alike, and is not part of the repository itself.
package testref

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns shared/reference/<sub> beside the repository, or fails the test saying where
// it looked: a missing reference is a failure, because a skipped comparison proves nothing.
func Dir(t testing.TB, sub string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			ref := filepath.Join(d, "..", "shared", "reference", sub)
			if _, err := os.Stat(ref); err != nil {
				t.Fatalf("reference files not found at %s: %v", ref, err)
			}
			return ref
		}
	}
	t.Fatal("go.mod not found above " + dir)
	return ""
}
