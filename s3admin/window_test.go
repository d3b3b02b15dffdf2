package s3admin

import (
	"slices"
	"testing"
)

func TestUserWindowPicksAfterTheCursorAndWrapsAround(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e"}
	for _, tt := range []struct {
		w    UserWindow
		want []string
	}{
		{UserWindow{}, []string{"a", "b", "c", "d", "e"}},
		{UserWindow{Limit: 2}, []string{"a", "b"}},
		{UserWindow{After: "b", Limit: 2}, []string{"c", "d"}},
		{UserWindow{After: "d", Limit: 3}, []string{"e", "a", "b"}},
		// A cursor whose user is gone: the window starts at the next name.
		{UserWindow{After: "bb", Limit: 2}, []string{"c", "d"}},
		{UserWindow{After: "z", Limit: 2}, []string{"a", "b"}},
		{UserWindow{After: "c", Limit: 9}, []string{"d", "e", "a", "b", "c"}},
	} {
		if got := tt.w.Pick(names); !slices.Equal(got, tt.want) {
			t.Errorf("%+v.Pick = %v, want %v", tt.w, got, tt.want)
		}
	}
	// Passing each window's last name on visits every name within
	// ceil(5/2) windows.
	seen := map[string]bool{}
	w := UserWindow{Limit: 2}
	for range 3 {
		picked := w.Pick(names)
		for _, n := range picked {
			seen[n] = true
		}
		w.After = picked[len(picked)-1]
	}
	if len(seen) != len(names) {
		t.Fatalf("three windows of 2 saw %v", seen)
	}
}
