package crashpoint

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

func TestNamesAreUniqueAndPaired(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) {
		t.Fatalf("Names() not sorted: %v", names)
	}
	if c := slices.Compact(slices.Clone(names)); len(c) != len(names) {
		t.Fatalf("Names() has duplicates: %v", names)
	}
	for _, n := range names {
		if !strings.HasSuffix(n, ".before") && !strings.HasSuffix(n, ".after") {
			t.Errorf("point %q is neither a before nor an after point", n)
		}
	}
	if got, want := len(names), 2*(len(storeAndBucketSteps)+len(queryAPISteps)+len(filerSteps)); got != want {
		t.Errorf("len(Names()) = %d, want %d", got, want)
	}
	for _, path := range [][]string{QueryAPINames(), FilerNames()} {
		for _, n := range path {
			if !slices.Contains(names, n) {
				t.Errorf("point %q of a path is not armable", n)
			}
		}
	}
}

// TestOnlyTheTestBuildCarriesCrashPoints reads the two driver binaries `make
// test` builds: the production one must not contain the code that acts on a
// crash point (its message is the witness), the crashpoints build must.
func TestOnlyTheTestBuildCarriesCrashPoints(t *testing.T) {
	const witness = "killing the process"
	for _, c := range []struct {
		bin  string
		want bool
	}{
		{"cosi-seaweedfs", false},
		{"cosi-seaweedfs-crashpoints", true},
	} {
		path, err := stack.Binary(c.bin)
		if err != nil {
			t.Fatalf("%v (make build build-crashpoints builds it)", err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(data, []byte(witness)); got != c.want {
			t.Errorf("%s contains the crash point code: %v, want %v", c.bin, got, c.want)
		}
	}
}
