package s3admin

// identity is an iam_pb.Identity as far as the driver reads and writes it.
// Fields the driver does not manage are kept as encoded (keep) and written
// back unchanged.
type identity struct {
	name        string
	credentials []credential
	actions     []string
	policyNames []string
	// disabled: SeaweedFS refuses the identity's requests.
	disabled bool
	// others holds fields that grant nothing by themselves (account, tags),
	// still encoded, written back as they were.
	others []byte
	// serviceAccounts are ids of the user's service accounts, each a key of
	// its own.
	serviceAccounts []string
}

// credential is an iam_pb.Credential. The secret is never logged or put in
// an error.
type credential struct {
	accessKey, secretKey, status string
}

func (c credential) active() bool { return c.status == "" || c.status == "Active" }
