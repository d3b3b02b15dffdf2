package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

func TestMergePlacement(t *testing.T) {
	tests := []struct {
		name      string
		cur, want Placement
		next      Placement
		changed   bool
	}{
		{"a missing rule gets every field asked for", Placement{}, Placement{Replication: "000", DiskType: "hdd", TTL: "7d"}, Placement{Replication: "000", DiskType: "hdd", TTL: "7d"}, true},
		{"a rule that holds what is asked is unchanged", Placement{Replication: "000", DiskType: "hdd"}, Placement{Replication: "000"}, Placement{Replication: "000", DiskType: "hdd"}, false},
		{"a field not asked for keeps the operator's value", Placement{Replication: "000", TTL: "1d"}, Placement{Replication: "001"}, Placement{Replication: "001", TTL: "1d"}, true},
		{"a drifted field is set back", Placement{Replication: "000", DiskType: "ssd"}, Placement{DiskType: "hdd"}, Placement{Replication: "000", DiskType: "hdd"}, true},
		{"asking for nothing changes nothing", Placement{TTL: "7d"}, Placement{}, Placement{TTL: "7d"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, changed := MergePlacement(tt.cur, tt.want)
			if diff := cmp.Diff(tt.next, next); diff != "" || changed != tt.changed {
				t.Errorf("MergePlacement changed %v, want %v (-want +got):\n%s", changed, tt.changed, diff)
			}
		})
	}
}

func TestPlanFeatures(t *testing.T) {
	placement := s3admin.BucketFeatures{Replication: "000", DiskType: "hdd", TTL: "7d"}
	tests := []struct {
		name string
		s    s3admin.BucketFeatureState
		f    s3admin.BucketFeatures
		want FeatureWrites
	}{
		{"nothing asked: nothing written, whatever is set", s3admin.BucketFeatureState{QuotaBytes: 5, Replication: "001"}, s3admin.BucketFeatures{}, FeatureWrites{}},
		{"a missing quota is set", s3admin.BucketFeatureState{}, s3admin.BucketFeatures{QuotaBytes: 1 << 20}, FeatureWrites{Quota: true, QuotaBytes: 1 << 20}},
		{"a quota that holds is not written", s3admin.BucketFeatureState{QuotaBytes: 1 << 20}, s3admin.BucketFeatures{QuotaBytes: 1 << 20}, FeatureWrites{}},
		{"a quota changed behind our back is set back", s3admin.BucketFeatureState{QuotaBytes: 1 << 30}, s3admin.BucketFeatures{QuotaBytes: 1 << 20}, FeatureWrites{Quota: true, QuotaBytes: 1 << 20}},
		{"a disabled quota is enabled again", s3admin.BucketFeatureState{QuotaBytes: -(1 << 20)}, s3admin.BucketFeatures{QuotaBytes: 1 << 20}, FeatureWrites{Quota: true, QuotaBytes: 1 << 20}},
		{"a missing rule is written", s3admin.BucketFeatureState{}, placement, FeatureWrites{Placement: true, Rule: PlacementOf(placement)}},
		{"a rule that holds is not written", s3admin.BucketFeatureState{Replication: "000", DiskType: "hdd", TTL: "7d"}, placement, FeatureWrites{}},
		{"a rule with one field drifted is written", s3admin.BucketFeatureState{Replication: "000", DiskType: "ssd", TTL: "7d"}, placement, FeatureWrites{Placement: true, Rule: PlacementOf(placement)}},
		{"a field not managed is not compared", s3admin.BucketFeatureState{Replication: "000", DiskType: "ssd"}, s3admin.BucketFeatures{Replication: "000"}, FeatureWrites{}},
		{"suspended versioning is enabled again", s3admin.BucketFeatureState{Versioning: "Suspended"}, s3admin.BucketFeatures{Versioning: true}, FeatureWrites{Versioning: true}},
		{"versioning never set is enabled", s3admin.BucketFeatureState{}, s3admin.BucketFeatures{Versioning: true}, FeatureWrites{Versioning: true}},
		{"object lock implies versioning", s3admin.BucketFeatureState{ObjectLock: true, Versioning: "Suspended"}, s3admin.BucketFeatures{ObjectLock: true}, FeatureWrites{Versioning: true}},
		{"object lock missing is not written: only a creation sets it", s3admin.BucketFeatureState{Versioning: "Enabled"}, s3admin.BucketFeatures{ObjectLock: true}, FeatureWrites{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanFeatures(tt.s, tt.f)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PlanFeatures (-want +got):\n%s", diff)
			}
			if got.None() != tt.s.Holds(tt.f) {
				t.Errorf("PlanFeatures None %v, but Holds %v", got.None(), tt.s.Holds(tt.f))
			}
		})
	}
}

func TestReadsFor(t *testing.T) {
	tests := []struct {
		name string
		f    s3admin.BucketFeatures
		want FeatureReads
	}{
		{"nothing asked: nothing read", s3admin.BucketFeatures{}, FeatureReads{}},
		{"a quota reads the quota and the used bytes", s3admin.BucketFeatures{QuotaBytes: 1}, FeatureReads{Quota: true, Used: true}},
		{"one placement field reads the rule", s3admin.BucketFeatures{TTL: "1d"}, FeatureReads{Placement: true}},
		{"versioning reads versioning", s3admin.BucketFeatures{Versioning: true}, FeatureReads{Versioning: true}},
		{"object lock reads it and versioning", s3admin.BucketFeatures{ObjectLock: true}, FeatureReads{Versioning: true, ObjectLock: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ReadsFor(tt.f)); diff != "" {
				t.Errorf("ReadsFor (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFeaturesOwned(t *testing.T) {
	tests := []struct {
		name string
		obs  BucketObserved
		own  s3admin.Ownership
		want string
	}{
		{"the record's marked bucket may be changed", ownMarked, planOwn, ""},
		{"an imported bucket never", ownMarked, s3admin.Ownership{Owner: "o", Marker: "m", Imported: true}, "is imported: its features are its owner's"},
		{"a bucket without a record never", ownMarked, s3admin.Ownership{Owner: "o", Marker: "m", Unrecorded: true}, "has no record asking for features"},
		{"an unmarked bucket never", unmarked, planOwn, "does not carry this record's marks"},
		{"another record's bucket never", marked("o", "other"), planOwn, "does not carry this record's marks"},
		{"no owner id never", unmarked, s3admin.Ownership{}, "does not carry this record's marks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FeaturesOwned(tt.obs, tt.own); got != tt.want {
				t.Errorf("FeaturesOwned %q, want %q", got, tt.want)
			}
		})
	}
}
