package testref

import (
	"os"
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
