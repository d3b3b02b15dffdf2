package store

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
)

// ReasonRecordCorrupt (PhaseFailed): the record was changed through the API
// server into something this driver cannot trust (see CorruptError). Nothing
// is changed in SeaweedFS for it, and no credential is returned from it,
// until it is repaired or deleted.
const ReasonRecordCorrupt = "RecordCorrupt"

// Problems a CorruptError names: constant phrases, never a field's value
// (an access record's fields hold credentials).
const (
	ProblemMissing    = "is missing or empty"
	ProblemNotJSON    = "is not valid JSON"
	ProblemWrongKind  = "does not say this kind of record"
	ProblemNotDerived = "does not derive from the record's name"
)

// CorruptError is the answer for a record whose content this driver cannot
// trust: a label, spec field or credential missing, or a field that does not
// decode (a record edited through the API server). Such a record is never
// taken as absent, nor as whatever it said before: nothing is revoked, created
// or returned because of it. Its message names the record and the field,
// never a value.
type CorruptError struct {
	// Kind is KindBucket or KindAccess: a ConfigMap at a bucket record's
	// name is a bucket record whatever its labels say, a Secret at an access
	// record's name an access record.
	Kind   string
	Record string
	UID    types.UID
	// Field names what is wrong: "spec", "spec.user", "accessKeyID",
	// "label cosi-seaweedfs.io/kind", "status" and so on.
	Field   string
	Problem string
	// Deleting: the record is marked for deletion (Delete or Revoke asked
	// for it to go).
	Deleting bool
	// User (access records) is the user the record's spec names, when the
	// spec reads and the user derives from the record's name; empty
	// otherwise.
	User string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s record %s is corrupt: %s %s", e.Kind, e.Record, e.Field, e.Problem)
}

// checkLabels finds what a record's labels lack: a record that lost a label
// is corrupt, never another kind of object or no record at all.
func checkLabels(labels map[string]string, kind string) (field, problem string) {
	for _, k := range []string{LabelManagedBy, LabelKind} {
		v, ok := labels[k]
		switch {
		case !ok || v == "":
			return "label " + k, ProblemMissing
		case v != recordLabels(kind)[k]:
			return "label " + k, ProblemWrongKind
		}
	}
	return "", ""
}

// bucketCorruption finds the first thing wrong with a bucket record; spec
// and st are what decoded.
func bucketCorruption(cm *corev1.ConfigMap, spec *BucketSpec, st *Status) *CorruptError {
	e := &CorruptError{Kind: KindBucket, Record: cm.Name, UID: cm.UID, Deleting: cm.DeletionTimestamp != nil}
	if f, p := checkLabels(cm.Labels, KindBucket); f != "" {
		e.Field, e.Problem = f, p
		return e
	}
	e.Field, e.Problem = decodeField(keySpec, []byte(cm.Data[keySpec]), spec)
	switch {
	case e.Field != "":
	case spec.Name == "":
		e.Field, e.Problem = "spec.name", ProblemMissing
	case spec.BucketID == "":
		e.Field, e.Problem = "spec.bucketID", ProblemMissing
	case names.BucketRecord(spec.BucketID) != cm.Name:
		e.Field, e.Problem = "spec.bucketID", ProblemNotDerived
	default:
		e.Field, e.Problem = decodeStatusField([]byte(cm.Data[keyStatus]), st)
	}
	if e.Field == "" {
		return nil
	}
	return e
}

// accessCorruption is bucketCorruption for access records. The credentials
// are checked as present only: their values never leave the record but in a
// grant's answer.
func accessCorruption(sec *corev1.Secret, spec *AccessSpec, st *Status) *CorruptError {
	e := &CorruptError{Kind: KindAccess, Record: sec.Name, UID: sec.UID, Deleting: sec.DeletionTimestamp != nil}
	id, named := names.AccessIDOfRecord(sec.Name)
	specField, specProblem := decodeField(keySpec, sec.Data[keySpec], spec)
	if specField == "" && named {
		if _, userID, ok := names.AccessIDOf(spec.User); ok && userID == id {
			e.User = spec.User
		}
	}
	if f, p := checkLabels(sec.Labels, KindAccess); f != "" {
		e.Field, e.Problem = f, p
		return e
	}
	e.Field, e.Problem = specField, specProblem
	switch {
	case e.Field != "":
	case spec.Name == "":
		e.Field, e.Problem = "spec.name", ProblemMissing
	case names.AccessRecord(names.AccessID(spec.Name)) != sec.Name:
		e.Field, e.Problem = "spec.name", ProblemNotDerived
	case spec.BucketID == "":
		e.Field, e.Problem = "spec.bucketID", ProblemMissing
	case spec.User == "":
		e.Field, e.Problem = "spec.user", ProblemMissing
	case e.User == "":
		e.Field, e.Problem = "spec.user", ProblemNotDerived
	case sec.Labels[LabelBucketRecord] == "":
		e.Field, e.Problem = "label "+LabelBucketRecord, ProblemMissing
	case sec.Labels[LabelBucketRecord] != names.BucketRecord(spec.BucketID):
		e.Field, e.Problem = "label "+LabelBucketRecord, ProblemNotDerived
	case len(sec.Data[keyAccessKeyID]) == 0:
		e.Field, e.Problem = keyAccessKeyID, ProblemMissing
	case len(sec.Data[keySecretAccessKey]) == 0:
		e.Field, e.Problem = keySecretAccessKey, ProblemMissing
	default:
		e.Field, e.Problem = decodeStatusField(sec.Data[keyStatus], st)
	}
	if e.Field == "" {
		return nil
	}
	return e
}

// decodeField decodes a record's JSON field into v; it names the field when
// it is missing or does not decode.
func decodeField(key string, data []byte, v any) (field, problem string) {
	if len(data) == 0 {
		return key, ProblemMissing
	}
	if err := json.Unmarshal(data, v); err != nil {
		return key, ProblemNotJSON
	}
	return "", ""
}

// decodeStatusField decodes a record's status (which may be absent: the
// reconciler has not written it yet). A status saying the record was
// corrupt, on a record that reads again, says nothing of what the record
// was before: it reads as pending, so that the record is converged from the
// start again (PlanBucket trusts a bucket it does not mark as Ready only
// when SeaweedFS says the driver created it).
func decodeStatusField(data []byte, st *Status) (field, problem string) {
	decoded, err := decodeStatus(string(data))
	if err != nil {
		return keyStatus, ProblemNotJSON
	}
	if decoded.Phase == PhaseFailed && decoded.Reason == ReasonRecordCorrupt {
		decoded.Phase, decoded.Reason, decoded.Message = PhasePending, "", ""
	}
	*st = decoded
	return "", ""
}

// corruptStatusOf is the encoded status to record on a corrupt record whose
// status reads raw, and whether it differs. A status that cannot be read is
// left as it is, for whoever repairs the record.
func corruptStatusOf(raw string, ce *CorruptError) (enc []byte, changed bool, err error) {
	old, err := decodeStatus(raw)
	if err != nil {
		return nil, false, nil
	}
	st := withTransition(old, corruptStatus(old, ce))
	if old == st {
		return nil, false, nil
	}
	enc, err = json.Marshal(st)
	return enc, err == nil, err
}

// corruptStatus is the status recorded on a corrupt record: Failed, the
// reason, and a message naming the field; whatever else the status held is
// kept (a bucket's marks and counts must survive the record's repair).
func corruptStatus(old Status, ce *CorruptError) Status {
	st := old
	st.Phase, st.Reason = PhaseFailed, ReasonRecordCorrupt
	st.Message = fmt.Sprintf("the record's %s %s; repair the record or delete the object it was made for", ce.Field, ce.Problem)
	return st
}
