package plan

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// Actions per mode. Only named actions: wildcards such as s3:Put* would also
// grant PutBucketPolicy and PutBucketAcl, letting a bucket user make its
// bucket public. SeaweedFS rejects s3:ListBucketMultipartUploads and
// s3:ListMultipartUploadParts as malformed and uses s3:ListMultipartUploads
// and s3:ListParts instead.
var modeActions = map[s3admin.Mode][]string{
	s3admin.ModeReadWrite: {
		"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket",
		"s3:AbortMultipartUpload", "s3:ListMultipartUploads", "s3:ListParts", "s3:GetBucketLocation",
	},
	s3admin.ModeReadOnly: {
		"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation",
	},
	// Write-only can upload (also in parts, which needs listing and aborting
	// its uploads) but can neither read nor list objects nor delete them.
	s3admin.ModeWriteOnly: {
		"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploads", "s3:ListParts",
		"s3:GetBucketLocation",
	},
}

const policyVersion = "2012-10-17"

type policyDoc struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
}

// PolicyDocument returns the JSON policy granting mode on exactly one bucket:
// resources arn:aws:s3:::<bucket> and arn:aws:s3:::<bucket>/*, never a
// wildcard bucket, so a bucket whose name merely starts with this one is not
// covered.
func PolicyDocument(bucket string, mode s3admin.Mode) (string, error) {
	if err := s3admin.ValidateBucketName(bucket); err != nil {
		return "", err
	}
	actions, ok := modeActions[mode]
	if !ok {
		return "", fmt.Errorf("%w: mode %q", s3admin.ErrInvalid, mode)
	}
	doc := policyDoc{
		Version: policyVersion,
		Statement: []policyStatement{{
			Effect:   "Allow",
			Action:   slices.Clone(actions),
			Resource: []string{"arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"},
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("marshal policy: %w", err)
	}
	return string(b), nil
}

// canonicalPolicy is a policy reduced to what matters for comparison: every
// statement as a sorted, de-duplicated set of actions and resources. Any
// element this client never writes (Condition, Principal, NotAction, Deny,
// ...) makes the policy unrecognised.
type canonicalPolicy struct {
	statements []string
}

func (c canonicalPolicy) equal(o canonicalPolicy) bool {
	return slices.Equal(c.statements, o.statements)
}

// parsePolicy reads a policy document as the store returns it. SeaweedFS
// 4.39 returns plain JSON; AWS returns it URL-encoded, which is accepted too.
// ok is false for a document this client would never write.
func parsePolicy(doc string) (c canonicalPolicy, ok bool) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		decoded, uerr := url.QueryUnescape(doc)
		if uerr != nil || json.Unmarshal([]byte(decoded), &raw) != nil {
			return c, false
		}
	}
	for k := range raw {
		if k != "Version" && k != "Statement" && k != "Id" {
			return c, false
		}
	}
	var version string
	if v, ok := raw["Version"]; ok && json.Unmarshal(v, &version) != nil {
		return c, false
	}
	if version != policyVersion {
		return c, false
	}
	var stmts []map[string]json.RawMessage
	if err := json.Unmarshal(raw["Statement"], &stmts); err != nil {
		// A single statement may be an object rather than an array.
		var one map[string]json.RawMessage
		if json.Unmarshal(raw["Statement"], &one) != nil {
			return c, false
		}
		stmts = []map[string]json.RawMessage{one}
	}
	if len(stmts) == 0 {
		return c, false
	}
	for _, st := range stmts {
		var effect string
		var actions, resources []string
		for k, v := range st {
			switch k {
			case "Sid":
			case "Effect":
				if json.Unmarshal(v, &effect) != nil {
					return c, false
				}
			case "Action":
				if actions, ok = stringOrSlice(v); !ok {
					return c, false
				}
			case "Resource":
				if resources, ok = stringOrSlice(v); !ok {
					return c, false
				}
			default:
				if string(v) == "null" || string(v) == "{}" || string(v) == `""` {
					continue // an empty optional field, as some encoders emit
				}
				return c, false
			}
		}
		if effect != "Allow" || len(actions) == 0 || len(resources) == 0 {
			return c, false
		}
		slices.Sort(actions)
		slices.Sort(resources)
		c.statements = append(c.statements,
			strings.Join(slices.Compact(actions), ",")+"|"+strings.Join(slices.Compact(resources), ","))
	}
	slices.Sort(c.statements)
	c.statements = slices.Compact(c.statements)
	return c, true
}

func stringOrSlice(v json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(v, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(v, &many) == nil {
		return many, true
	}
	return nil, false
}

// RecognisePolicy reports which bucket and mode a stored policy document
// grants, if it is exactly one this client writes.
func RecognisePolicy(doc string) (bucket string, mode s3admin.Mode, ok bool) {
	got, ok := parsePolicy(doc)
	if !ok || len(got.statements) != 1 {
		return "", "", false
	}
	// The bucket is the resource without "/*"; rebuild each mode's policy for
	// it and compare semantically.
	_, res, _ := strings.Cut(got.statements[0], "|")
	for _, r := range strings.Split(res, ",") {
		b, found := strings.CutPrefix(r, "arn:aws:s3:::")
		if !found || strings.Contains(b, "/") {
			continue
		}
		for _, m := range []s3admin.Mode{s3admin.ModeReadWrite, s3admin.ModeReadOnly, s3admin.ModeWriteOnly} {
			want, err := PolicyDocument(b, m)
			if err != nil {
				continue
			}
			if w, _ := parsePolicy(want); w.equal(got) {
				return b, m, true
			}
		}
	}
	return "", "", false
}
