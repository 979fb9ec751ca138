// Package archtest checks the import rules of DESIGN §2.3 on the source tree: no sync
// package (internal/<name>sync and the packages below it) imports a sibling sync package,
// internal/httpapi imports no sync package, and internal/domain imports neither the AWS SDK
// nor net/http nor another internal package. The compiler cannot say this, and an edge
// added for convenience is exactly what would stop a phase from being built, tested or
// deployed on its own.
//
// Only the files that are compiled into the program count (not _test.go files): an
// integration test of one phase may drive another (the workspace sync needs the users),
// which couples no shipped code.
package archtest

import (
	"bufio"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Package is one directory's non-test Go files and what they import. Paths inside the
// module are relative to it (internal/usersync); others are as written (net/http).
type Package struct {
	Path string
	// Imports maps each imported path to the files (relative to the module root) that
	// import it.
	Imports map[string][]string
}

// Violation is one forbidden import edge.
type Violation struct {
	From, To string
	Files    []string
	Rule     string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s imports %s (%s): %s", v.From, v.To, strings.Join(v.Files, ", "), v.Rule)
}

// Load parses the import clauses of every non-test Go file under root/internal. root is
// the module root; its go.mod names the module.
func Load(root string) ([]Package, error) {
	module, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	byDir := map[string]*Package{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		dir := rel[:strings.LastIndex(rel, "/")]
		p := byDir[dir]
		if p == nil {
			p = &Package{Path: dir, Imports: map[string][]string{}}
			byDir[dir] = p
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if ip == module || strings.HasPrefix(ip, module+"/") {
				ip = strings.TrimPrefix(strings.TrimPrefix(ip, module), "/")
			}
			p.Imports[ip] = append(p.Imports[ip], rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Package, 0, len(byDir))
	for _, p := range byDir {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// modulePath reads the module line of a go.mod file.
func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("%s: no module line", gomod)
}

var syncPackage = regexp.MustCompile(`^internal/[a-z0-9]+sync(/|$)`)

// syncRoot returns the sync package p belongs to (internal/usersync for
// internal/usersync/synctest), or "" when p is no sync package.
func syncRoot(p string) string {
	m := syncPackage.FindString(p)
	return strings.TrimSuffix(m, "/")
}

// under reports whether p is dir or a package below it.
func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// rule returns why from may not import to, or "" when it may.
func rule(from, to string) string {
	switch {
	case syncRoot(from) != "" && syncRoot(to) != "" && syncRoot(from) != syncRoot(to):
		return "a sync package imports no sibling sync package; share the concept through internal/domain"
	case under(from, "internal/httpapi") && syncRoot(to) != "":
		return "the admin API imports no sync package"
	case under(from, "internal/domain") && strings.HasPrefix(to, "github.com/aws/"):
		return "internal/domain has no AWS dependency"
	case under(from, "internal/domain") && under(to, "net/http"):
		return "internal/domain has no HTTP dependency"
	case under(from, "internal/domain") && under(to, "internal") && !under(to, "internal/domain"):
		return "internal/domain imports no other internal package (everything else depends on it)"
	}
	return ""
}

// Check returns every import of pkgs that breaks a rule, ordered by importer and import.
func Check(pkgs []Package) []Violation {
	var out []Violation
	for _, p := range pkgs {
		for to, files := range p.Imports {
			if why := rule(p.Path, to); why != "" {
				out = append(out, Violation{From: p.Path, To: to, Files: files, Rule: why})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})
	return out
}
