package filergrpc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/filerpb"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// confText is filer.conf as SeaweedFS writes it (filer.ProtoToText): one
// rule of an operator's, and the rule of bucket b that the quota
// enforcement made read-only.
const confText = `{
  "version": 0,
  "locations": [
    {
      "locationPrefix": "/buckets/",
      "collection": "",
      "replication": "001",
      "ttl": "",
      "diskType": "",
      "fsync": true,
      "volumeGrowthCount": 0,
      "readOnly": false,
      "dataCenter": "",
      "rack": "",
      "dataNode": "",
      "maxFileNameLength": 0,
      "disableChunkDeletion": false,
      "worm": false,
      "wormGracePeriodSeconds": "0",
      "wormRetentionTimeSeconds": "0"
    },
    {
      "locationPrefix": "/buckets/b/",
      "replication": "000",
      "readOnly": true,
      "collection": "b"
    }
  ]
}`

func parse(t *testing.T, text string) *filerpb.FilerConf {
	t.Helper()
	conf := &filerpb.FilerConf{}
	if err := protojson.Unmarshal([]byte(text), conf); err != nil {
		t.Fatal(err)
	}
	return conf
}

func TestSetPlacementKeepsWhatItDoesNotManage(t *testing.T) {
	want := plan.Placement{Replication: "000", DiskType: "hdd", TTL: "7d"}
	conf := parse(t, confText)
	if !SetPlacement(conf, "/buckets/b/", want) {
		t.Fatal("SetPlacement reported no change")
	}
	expected := parse(t, confText)
	expected.Locations[1].DiskType, expected.Locations[1].Ttl = "hdd", "7d"
	if diff := cmp.Diff(expected, conf, protocmp.Transform()); diff != "" {
		t.Errorf("conf (-want +got):\n%s", diff)
	}
	if SetPlacement(conf, "/buckets/b/", want) {
		t.Error("SetPlacement of a rule that holds reported a change")
	}
	if !SetPlacement(conf, "/buckets/c/", plan.Placement{TTL: "1d"}) {
		t.Fatal("SetPlacement of a missing rule reported no change")
	}
	if r := RuleOf(conf, "/buckets/c/"); r == nil || r.GetTtl() != "1d" || r.GetReplication() != "" || len(conf.Locations) != 3 {
		t.Errorf("new rule %v among %d", r, len(conf.Locations))
	}
}

func TestRemoveRuleRemovesExactlyOne(t *testing.T) {
	conf := parse(t, confText)
	if RemoveRule(conf, "/buckets/b") || RemoveRule(conf, "/buckets/bb/") {
		t.Fatal("a rule for another prefix was removed")
	}
	if !RemoveRule(conf, "/buckets/b/") {
		t.Fatal("the bucket's rule was not removed")
	}
	if len(conf.Locations) != 1 || conf.Locations[0].GetLocationPrefix() != "/buckets/" {
		t.Errorf("left %v", conf.Locations)
	}
}
