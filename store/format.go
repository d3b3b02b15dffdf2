package store

import (
	"fmt"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AnnotationFormat on every record names the format its spec and status are
// written in. Records without it were written before formats were numbered
// and are format 1, which is what they are.
//
// The policy (README, "Upgrades and rollbacks"): a driver reads every format
// up to Format and writes Format. Format grows only when a driver of the
// previous format would misread a record (a field whose absence changes the
// meaning, a renamed key); new optional fields that older drivers can ignore
// keep the format. A driver that meets a newer format refuses to touch the
// record: it cannot tell what a field it does not know means, and writing the
// record back would drop that field.
const AnnotationFormat = "cosi-seaweedfs.io/format"

// Format is the newest record format this driver reads.
//
// Format 2 is the format of the records of imported buckets
// (BucketSpec.Imported), and only of those: a driver of format 1 would read
// one as a bucket of its own to create when it is missing. Every other
// record is still written in format 1, which drivers of format 1 read
// exactly as this one does, so that a rollback keeps every record but
// those.
const Format = 2

// formatOf is the format a new record is written in.
func formatOf(imported bool) int {
	if imported {
		return 2
	}
	return 1
}

// FormatError is the answer for a record written in a format this driver does
// not understand (by a newer driver, or edited by hand). Nothing about the
// record is changed, in the Kubernetes API or in SeaweedFS.
type FormatError struct {
	Record string
	Found  string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("record %s is in format %q; this driver understands formats 1 to %d", e.Record, e.Found, Format)
}

// formatAnnotations are the annotations a record of format is created with.
func formatAnnotations(format int) map[string]string {
	return map[string]string{AnnotationFormat: strconv.Itoa(format)}
}

// checkFormat refuses a record whose format is not one this driver reads.
func checkFormat(meta *metav1.ObjectMeta) error {
	v, ok := meta.Annotations[AnnotationFormat]
	if !ok {
		return nil // written before formats were numbered: format 1
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= Format {
		return nil
	}
	return &FormatError{Record: meta.Name, Found: v}
}
