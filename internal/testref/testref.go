// Package testref finds the shared reference material (vendor specs, recorded responses)
// for tests. It is not part of the repository: it lives in shared/reference beside the
// repository (or beside the repository a local clone came from), or in the folder
// STAFFSYNC_REFERENCE names.
package testref

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// EnvDir names a reference folder to use instead of the one beside the repository.
const EnvDir = "STAFFSYNC_REFERENCE"

// Dir returns shared/reference/<sub>, or fails the test saying where it looked: a
// missing reference is a failure, because a skipped comparison proves nothing.
func Dir(t testing.TB, sub string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	repo := ""
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			repo = d
			break
		}
	}
	if repo == "" {
		t.Fatal("go.mod not found above " + dir)
	}
	ref, tried := locate(repo, sub, os.Getenv(EnvDir))
	if ref == "" {
		t.Fatalf("reference files %q not found; looked in %s (set %s to the shared/reference folder)", sub, strings.Join(tried, ", "), EnvDir)
	}
	return ref
}

// locate tries, in order: the folder named by env; shared/reference beside the
// repository; and, for a clone of a repository on this machine (a fresh clone in a
// temporary folder), shared/reference beside the repository it was cloned from.
func locate(repo, sub, env string) (found string, tried []string) {
	var bases []string
	if env != "" {
		bases = append(bases, env)
	}
	bases = append(bases, filepath.Join(repo, "..", "shared", "reference"))
	if origin := localOrigin(repo); origin != "" {
		bases = append(bases, filepath.Join(origin, "..", "shared", "reference"))
	}
	for _, b := range bases {
		ref := filepath.Join(b, sub)
		tried = append(tried, ref)
		if fi, err := os.Stat(ref); err == nil && fi.IsDir() {
			return ref, tried
		}
	}
	return "", tried
}

// localOrigin returns the folder of the repository's origin when that is a path on this
// machine ("" otherwise, or without git).
func localOrigin(repo string) string {
	out, err := exec.Command("git", "-C", repo, "config", "--get", "remote.origin.url").Output()
	if err != nil {
		return ""
	}
	u := strings.TrimPrefix(strings.TrimSpace(string(out)), "file://")
	if !filepath.IsAbs(u) {
		return ""
	}
	return strings.TrimSuffix(u, string(filepath.Separator)+".git")
}
