package plan

// Identity is an iam_pb.Identity as far as the driver reads and writes it.
// Fields the driver does not manage are kept as encoded (keep) and written
// back unchanged.
type Identity struct {
	Name        string
	Credentials []Credential
	Actions     []string
	PolicyNames []string
	// Disabled: SeaweedFS refuses the identity's requests.
	Disabled bool
	// Others holds fields that grant nothing by themselves (account, tags),
	// still encoded, written back as they were.
	Others []byte
	// ServiceAccounts are ids of the user's service accounts, each a key of
	// its own.
	ServiceAccounts []string
}

// Credential is an iam_pb.Credential. The secret is never logged or put in
// an error.
type Credential struct {
	AccessKey, SecretKey, Status string
}

func (c Credential) Active() bool { return c.Status == "" || c.Status == "Active" }
