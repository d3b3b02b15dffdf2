package s3admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The errors the reconciler acts on. Errors returned by this package wrap one
// of them where it applies, so errors.Is works; the underlying SDK error stays
// in the chain too.
var (
	// ErrNotFound: the bucket or user does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the name is taken by an object this driver does not
	// own (or an access key id is in use by another identity).
	ErrAlreadyExists = errors.New("already exists")
	// ErrNotOwned: the object exists but was not created by this driver; it
	// is left untouched.
	ErrNotOwned = errors.New("not owned by this driver")
	// ErrNotEmpty: the bucket still holds objects, versions or uploads.
	ErrNotEmpty = errors.New("bucket not empty")
	// ErrAccessDenied: the store refused the admin credentials or the
	// operation, including IAM writes disabled on the server.
	ErrAccessDenied = errors.New("access denied")
	// ErrTransient: a timeout, 5xx, throttling or connection error; retrying
	// later may succeed.
	ErrTransient = errors.New("transient backend error")
	// ErrInvalid: the request itself is invalid (name, mode or key format);
	// retrying cannot help.
	ErrInvalid = errors.New("invalid request")
	// ErrAnonymousAllowed: the store accepts unauthenticated requests.
	ErrAnonymousAllowed = errors.New("store accepts anonymous requests")
	// ErrUnfinished: the call made progress and stopped at its bound, to
	// leave the store to others for a while; call it again soon.
	ErrUnfinished = errors.New("unfinished")
	// ErrKeyPending: everything the access needs is written, but the
	// store's S3 authentication does not know its key yet (SeaweedFS's
	// gateways take IAM changes in asynchronously, after a reload that grows
	// with the number of identities). Writing again cannot help and only
	// queues another reload: ask KeyAccepted until it does.
	ErrKeyPending = errors.New("access key not yet accepted")
	// ErrRevocationPending: the user of a revoked access is deleted, but the
	// store's S3 authentication still accepts its key (its gateways reload
	// identities asynchronously, as for ErrKeyPending). Deleting again
	// cannot help: ask KeyAccepted until it refuses the key.
	ErrRevocationPending = errors.New("revoked access key still accepted")
	// ErrUnsupported: the store, or this client's way of reaching it,
	// cannot do what was asked (a quota without the filer). Retrying cannot
	// help.
	ErrUnsupported = errors.New("not supported by this client")
)

// MaxUnissuedKeyRemovals bounds how many access keys one EnsureAccess call
// removes that the driver did not issue. A SeaweedFS user may mint keys for
// itself, as many as it likes; each removal is one IAM write, and IAM
// writes are serialized, so removing hundreds in one go would hold up every
// other grant and revoke.
const MaxUnissuedKeyRemovals = 8

// UnissuedKeysError reports that EnsureAccess removed access keys the driver
// did not issue for the access (minted by the user itself, added by hand, or
// replaced by the access's current key). It wraps
// ErrUnfinished: the caller reports it and calls again, Remaining > 0 or not,
// to confirm the user converged. It names the user, never a key.
type UnissuedKeysError struct {
	User      string
	Removed   int
	Remaining int
}

func (e *UnissuedKeysError) Error() string {
	return fmt.Sprintf("EnsureAccess: removed %d access keys of user %q other than the one issued for the access, %d left", e.Removed, e.User, e.Remaining)
}

func (e *UnissuedKeysError) Unwrap() error { return ErrUnfinished }

// IsTransient reports whether err is worth retrying unchanged.
func IsTransient(err error) bool { return errors.Is(err, ErrTransient) }

// HintIAMWritesDisabled is the Hint of an IAM write refused with
// AccessDenied. SeaweedFS serves its IAM API read-only by default and says so
// only in the message text, which is not a stable contract, so the hint names
// both possible causes.
const HintIAMWritesDisabled = "IAM writes are disabled by default in SeaweedFS: start the gateway with " +
	"-s3.iam.readOnly=false (weed server/filer) or -iam.readOnly=false (weed s3); with the SeaweedFS Helm chart " +
	"s3.extraArgs={-iam.readOnly=false}, or filer.extraArgs={-s3.iam.readOnly=false} when the filer serves S3; " +
	"and use admin credentials"

// Error is a classified backend error: Kind is one of the sentinels above (or
// nil when the error fits none), Op the backend operation, Code the error
// code the store returned and Status its HTTP status, when known.
type Error struct {
	Op     string
	Kind   error
	Code   string
	Status int
	// Hint explains a known cause, e.g. the server flag that must be set.
	Hint string
	Err  error
}

func (e *Error) Error() string {
	msg := e.Op
	if e.Kind != nil {
		msg += ": " + e.Kind.Error()
	}
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes both the sentinel and the underlying error to errors.Is and
// errors.As.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Error codes as SeaweedFS 4.39 and AWS return them. Classification uses
// APIError.ErrorCode() first and the HTTP status only when the code is not
// one of these, because SeaweedFS answers some failures with generic errors
// the SDK does not model for that operation.
var (
	notFoundCodes = set("NoSuchEntity", "NoSuchBucket", "NotFound", "NoSuchKey", "NoSuchUpload")
	existsCodes   = set("EntityAlreadyExists", "BucketAlreadyExists", "BucketAlreadyOwnedByYou")
	notEmptyCodes = set("BucketNotEmpty")
	deniedCodes   = set("AccessDenied", "AccessDeniedException", "InvalidAccessKeyId",
		"SignatureDoesNotMatch", "InvalidClientTokenId", "UnrecognizedClientException",
		"AllAccessDisabled", "ExpiredToken")
	transientCodes = set("Throttling", "ThrottlingException", "SlowDown", "RequestLimitExceeded",
		"TooManyRequestsException", "RequestTimeout", "RequestTimeoutException",
		"ServiceUnavailable", "InternalError", "InternalFailure", "ServiceFailure",
		"OperationAborted")
	invalidCodes = set("InvalidInput", "MalformedPolicyDocument", "ValidationError",
		"InvalidBucketName", "InvalidArgument", "InvalidTag", "MalformedXML")
	// Definite refusals that fit no kind; their HTTP status (403, 409) must
	// not reclassify them.
	otherCodes = set("LimitExceeded", "DeleteConflict")
)

func set(codes ...string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

// Classify wraps err from backend operation op into an *Error with its kind:
// by its S3 or IAM error code and HTTP status (the SDK's calls), or by its
// gRPC status code (the filer's). It is the one place where a backend's
// answer becomes one of this package's kinds. A nil err stays nil; an error
// classified already is returned as it is.
func Classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var classified *Error
	if errors.As(err, &classified) {
		return err
	}
	e := &Error{Op: op, Err: err}
	if st, ok := status.FromError(err); ok {
		grpcKind(e, st.Code(), err)
		return e
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code = ae.ErrorCode()
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		e.Status = re.HTTPStatusCode()
	}
	e.Kind = kindOf(err, e.Code, e.Status)
	return e
}

// grpcKind sorts a gRPC error by its status code: still in progress or
// unreachable is transient, the rest is final.
func grpcKind(e *Error, code codes.Code, err error) {
	e.Code = code.String()
	switch code {
	case codes.NotFound:
		e.Kind = ErrNotFound
	case codes.AlreadyExists:
		e.Kind = ErrAlreadyExists
	case codes.Unauthenticated, codes.PermissionDenied:
		e.Kind = ErrAccessDenied
		e.Hint = "the filer refused this client: check its client certificate or token signing key against the filer's security.toml"
	case codes.InvalidArgument:
		e.Kind = ErrInvalid
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.ResourceExhausted, codes.Internal, codes.Unknown:
		// SeaweedFS answers a failed filer write with Internal or a bare
		// (Unknown) error: the filer or its store may be busy.
		e.Kind = ErrTransient
	case codes.Canceled:
		if errors.Is(err, context.DeadlineExceeded) {
			e.Kind = ErrTransient
		}
	}
}

func kindOf(err error, code string, status int) error {
	switch {
	case notFoundCodes[code]:
		return ErrNotFound
	case existsCodes[code]:
		return ErrAlreadyExists
	case notEmptyCodes[code]:
		return ErrNotEmpty
	case deniedCodes[code]:
		return ErrAccessDenied
	case transientCodes[code]:
		return ErrTransient
	case invalidCodes[code]:
		return ErrInvalid
	case otherCodes[code]:
		return nil
	}
	switch {
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		return ErrAccessDenied
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return ErrTransient
	case status == http.StatusBadRequest:
		return ErrInvalid
	case status != 0:
		// Any other answered status (e.g. an unknown 409) is a definite
		// refusal that retrying will not change.
		return nil
	}
	// No HTTP answer at all: the request never completed.
	var rse *smithyhttp.RequestSendError
	var netErr net.Error
	var qe *retry.MaxAttemptsError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		// Our per-call timeout (or the caller's deadline) expired: the store
		// is slow or unreachable, which may pass.
		return ErrTransient
	case errors.Is(err, context.Canceled):
		// The caller gave up; not a property of the store.
		return nil
	case errors.As(err, &rse), errors.As(err, &netErr), errors.As(err, &qe):
		return ErrTransient
	}
	return nil
}

// NewError builds an *Error that did not come from the SDK.
func NewError(op string, kind error, format string, args ...any) error {
	return &Error{Op: op, Kind: kind, Err: fmt.Errorf(format, args...)}
}
