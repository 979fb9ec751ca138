//go:build !unix

package local

// lockDir does not lock where flock is missing: run one staffsync dev per data folder.
func lockDir(string) (func(), error) { return func() {}, nil }
