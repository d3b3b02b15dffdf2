package crashpoint

import (
	"slices"
	"strings"
	"testing"
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
	if got, want := len(names), 2*len(steps); got != want {
		t.Errorf("len(Names()) = %d, want %d", got, want)
	}
}
