package store

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
)

// Every record says the format it is written in; a record of a newer format
// (a rollback after an upgrade that changed the format) is neither read nor
// written back, so the driver that understands it finds it as it left it.
func TestANewerFormatIsNeitherReadNorWritten(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := fake.NewClientset()
	s := New(client, "cosi")
	b, _, err := s.CreateBucket(ctx, BucketSpec{Name: "b", BucketID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := s.CreateAccess(ctx, AccessSpec{Name: "ba-one", BucketID: "b", User: names.User("cosi-", names.AccessID("ba-one"))}, "KEY", "SECRET")
	if err != nil {
		t.Fatal(err)
	}
	cms := client.CoreV1().ConfigMaps("cosi")
	secs := client.CoreV1().Secrets("cosi")
	cm, err := cms.Get(ctx, b.RecordName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := secs.Get(ctx, a.RecordName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Annotations[AnnotationFormat] != "1" || sec.Annotations[AnnotationFormat] != "1" {
		t.Fatalf("format annotations %v and %v, want %s=1 on both", cm.Annotations, sec.Annotations, AnnotationFormat)
	}

	// Records from before formats were numbered are format 1.
	delete(cm.Annotations, AnnotationFormat)
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetBucket(ctx, b.RecordName); err != nil {
		t.Fatalf("a record without a format: %v, want it read as format 1", err)
	}

	for _, found := range []string{strconv.Itoa(Format + 1), "1.5", "0", "v1"} {
		cm, err = cms.Get(ctx, b.RecordName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Annotations = map[string]string{AnnotationFormat: found}
		if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		sec, err = secs.Get(ctx, a.RecordName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sec.Annotations = map[string]string{AnnotationFormat: found}
		if sec, err = secs.Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		for name, call := range map[string]func() error{
			"GetBucket":       func() error { _, err := s.GetBucket(ctx, b.RecordName); return err },
			"CreateBucket":    func() error { _, _, err := s.CreateBucket(ctx, BucketSpec{Name: "b", BucketID: "b"}); return err },
			"SetBucketStatus": func() error { return s.SetBucketStatus(ctx, b.RecordName, Status{Phase: PhaseReady}) },
			"ReleaseBucket":   func() error { return s.ReleaseBucket(ctx, b.RecordName) },
			"GetAccess":       func() error { _, err := s.GetAccess(ctx, a.RecordName); return err },
			"SetAccessStatus": func() error { return s.SetAccessStatus(ctx, a.RecordName, Status{Phase: PhaseReady}) },
			"ReleaseAccess":   func() error { return s.ReleaseAccess(ctx, a.RecordName) },
			"MarkCreateAttempt": func() error {
				_, err := s.MarkCreateAttempted(ctx, b.RecordName, "creating", "owner", "marker")
				return err
			},
		} {
			var fe *FormatError
			if err := call(); !errors.As(err, &fe) || fe.Found != found {
				t.Errorf("format %q: %s answered %v, want a FormatError naming the format", found, name, err)
			}
		}
		after, err := cms.Get(ctx, b.RecordName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		afterSec, err := secs.Get(ctx, a.RecordName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if after.ResourceVersion != cm.ResourceVersion || afterSec.ResourceVersion != sec.ResourceVersion {
			t.Errorf("format %q: a record of a format this driver does not read was written", found)
		}
	}
}

// TestImportedRecordsAreFormat2: only the records of imported buckets are
// written in format 2; every other record stays format 1, which a driver
// of format 1 reads the same.
func TestImportedRecordsAreFormat2(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	s := New(client, "ns")
	own, _, err := s.CreateBucket(ctx, BucketSpec{Name: "b", BucketID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	imp, _, err := s.CreateBucket(ctx, BucketSpec{Name: "legacy", BucketID: "legacy", Imported: true})
	if err != nil {
		t.Fatal(err)
	}
	for rec, want := range map[string]string{own.RecordName: "1", imp.RecordName: "2"} {
		cm, err := client.CoreV1().ConfigMaps("ns").Get(ctx, rec, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := cm.Annotations[AnnotationFormat]; got != want {
			t.Errorf("record %s is format %q, want %q", rec, got, want)
		}
	}
	if got, err := s.GetBucket(ctx, imp.RecordName); err != nil || !got.Spec.Imported {
		t.Fatalf("the imported record reads %+v, %v", got, err)
	}
}
