package suites

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// ConformanceFile is the traceability file generated from the spec tree,
// the requirement registry and the broken variants, relative to the
// repository root (conformance_test.go writes and checks it).
const ConformanceFile = "suites/conformance.yaml"

// RequirementsDoc is the repository's own statement of every requirement
// ID, relative to the repository root; code cites RequirementsDoc#ID.
const RequirementsDoc = "docs/requirements.md"

// repoRoot is the directory that holds this package's directory, as the
// compiler recorded it (an absolute path, or the module path under
// -trimpath); spec locations are recorded the same way.
var repoRoot = func() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	return filepath.Dir(filepath.Dir(file))
}()

// SpecFile returns the file of a spec's It relative to the repository
// root, with forward slashes (e.g. suites/engineio/heartbeat.go). A file
// outside the repository is returned as recorded.
func SpecFile(s types.SpecReport) string {
	f := s.LeafNodeLocation.FileName
	if repoRoot != "" {
		if rel, err := filepath.Rel(repoRoot, f); err == nil && !strings.HasPrefix(rel, "..") {
			f = rel
		}
	}
	return filepath.ToSlash(f)
}

// SpecLocation returns "file:line" of a spec's It, the file relative to
// the repository root, as siospec list and suites/conformance.yaml show it.
func SpecLocation(s types.SpecReport) string {
	return fmt.Sprintf("%s:%d", SpecFile(s), s.LeafNodeLocation.LineNumber)
}
