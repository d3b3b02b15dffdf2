package seaweedfs

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// userCases are the contract's sentences about users, keys and grants.
var userCases = []contractCase{
	{"EnsureAccess creates a user with exactly the key and policy", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.User("new"), b, s3admin.ModeReadWrite)
		if !ensure(t, e, a) {
			t.Fatal("EnsureAccess of a new user reported no change")
		}
		wantExactly(t, e, a)
	}},
	{"KeyAccepted knows the key EnsureAccess returned with, not a key never issued, and writes nothing", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.User("probe"), b, s3admin.ModeWriteOnly)
		ensure(t, e, a)
		other := e.access(t, a.User, b, s3admin.ModeWriteOnly)
		noWrites(t, e, "KeyAccepted", func() {
			ok, err := e.admin.KeyAccepted(admintest.Context(t), a)
			admintest.MustNil(t, "KeyAccepted of the issued key", err)
			if !ok {
				t.Fatal("KeyAccepted: the key EnsureAccess returned with is not accepted")
			}
			ok, err = e.admin.KeyAccepted(admintest.Context(t), other)
			admintest.MustNil(t, "KeyAccepted of a key never issued", err)
			if ok {
				t.Fatal("KeyAccepted: a key never issued is accepted")
			}
		})
		bad := a
		bad.Mode = "everything"
		if _, err := e.admin.KeyAccepted(admintest.Context(t), bad); !errors.Is(err, s3admin.ErrInvalid) {
			t.Fatalf("KeyAccepted of an invalid access: %v, want ErrInvalid", err)
		}
	}},
	{"EnsureAccess twice makes no write the second time", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		for _, m := range []s3admin.Mode{s3admin.ModeReadWrite, s3admin.ModeReadOnly, s3admin.ModeWriteOnly} {
			a := e.access(t, e.User(string(m)), b, m)
			ensure(t, e, a)
			noWrites(t, e, "converged EnsureAccess", func() {
				if ensure(t, e, a) {
					t.Fatal("converged EnsureAccess reported a change")
				}
			})
		}
	}},
	{"EnsureAccess with RewritePolicy writes the policy of a converged access again, and nothing else", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.User("rewrite"), b, s3admin.ModeReadOnly)
		ensure(t, e, a)
		a.RewritePolicy = true
		before := e.bd.WriteCount()
		if !ensure(t, e, a) {
			t.Fatal("EnsureAccess with RewritePolicy reported no change")
		}
		if n := e.bd.WriteCount() - before; n != 1 {
			t.Fatalf("%d writes, want 1 (the policy)", n)
		}
		wantExactly(t, e, a)
	}},
	{"EnsureAccess replaces a different key", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.User("rekey"), b, s3admin.ModeReadOnly)
		ensure(t, e, a)
		a2 := e.access(t, a.User, b, s3admin.ModeReadOnly)
		if n := ensureRemovingUnissued(t, e, a2); n != 1 {
			t.Fatalf("removed %d other keys, want the replaced one", n)
		}
		wantExactly(t, e, a2)
	}},
	{"EnsureAccess replaces a different mode", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.User("remode"), b, s3admin.ModeReadWrite)
		ensure(t, e, a)
		a.Mode = s3admin.ModeWriteOnly
		if !ensure(t, e, a) {
			t.Fatal("no change reported")
		}
		wantExactly(t, e, a)
	}},
	{"EnsureAccess replaces a second bucket", func(t *testing.T, e *env) {
		b1, b2 := e.bucket("one"), e.bucket("two")
		createBucket(t, e, b1)
		createBucket(t, e, b2)
		a := e.access(t, e.User("move"), b1, s3admin.ModeReadWrite)
		ensure(t, e, a)
		a.Bucket = b2
		ensure(t, e, a)
		wantExactly(t, e, a)
	}},
	{"EnsureAccess removes keys and policies added behind the client's back", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.User("drift"), b, s3admin.ModeReadOnly)
		ensure(t, e, a)
		e.bd.addUserKey(t, a.User)
		wide, _ := plan.PolicyDocument(e.bucket("other"), s3admin.ModeReadWrite)
		e.bd.putUserPolicy(t, a.User, "extra", wide)
		if st := observeUser(t, e, a.User); st.PolicyExact || len(st.AccessKeyIDs) != 2 {
			t.Fatalf("drift not observed: %+v", st)
		}
		if n := ensureRemovingUnissued(t, e, a); n != 1 {
			t.Fatalf("removed %d unissued keys, want 1", n)
		}
		wantExactly(t, e, a)
	}},
	{"EnsureAccess removes a bounded number of unissued keys per call and names the user, never a key", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.User("mint"), b, s3admin.ModeReadOnly)
		ensure(t, e, a)
		extra := s3admin.MaxUnissuedKeyRemovals + 3
		var ids []string
		for range extra {
			ids = append(ids, e.bd.addUserKey(t, a.User))
		}
		_, err := e.admin.EnsureAccess(admintest.Context(t), a)
		var unissued *s3admin.UnissuedKeysError
		if !errors.As(err, &unissued) || !errors.Is(err, s3admin.ErrUnfinished) {
			t.Fatalf("EnsureAccess: %v, want an UnissuedKeysError", err)
		}
		if *unissued != (s3admin.UnissuedKeysError{User: a.User, Removed: s3admin.MaxUnissuedKeyRemovals, Remaining: 3}) {
			t.Fatalf("reported %+v, want %d removed and 3 left", unissued, s3admin.MaxUnissuedKeyRemovals)
		}
		for _, id := range append(ids, a.AccessKeyID) {
			if strings.Contains(err.Error(), id) {
				t.Fatalf("the error names a key: %v", err)
			}
		}
		if n := ensureRemovingUnissued(t, e, a); n != 3 {
			t.Fatalf("removed %d more, want 3", n)
		}
		wantExactly(t, e, a)
	}},
	{"DeleteUser of a user holding many keys costs one write per policy and one for the user", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.User("many"), b, s3admin.ModeReadOnly)
		ensure(t, e, a)
		for range s3admin.MaxUnissuedKeyRemovals + 3 {
			e.bd.addUserKey(t, a.User)
		}
		before := e.bd.WriteCount()
		admintest.MustNil(t, "DeleteUser", e.admin.DeleteUser(admintest.Context(t), a.User, ""))
		if n := e.bd.WriteCount() - before; n != 2 {
			t.Fatalf("DeleteUser made %d writes, want 2 (the policy, the user)", n)
		}
		if st := observeUser(t, e, a.User); st.Exists || len(st.AccessKeyIDs) != 0 {
			t.Fatalf("user after DeleteUser: %+v", st)
		}
	}},
	{"EnsureAccess rewrites a policy changed behind the client's back", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.User("tamper"), b, s3admin.ModeReadOnly)
		ensure(t, e, a)
		wide, _ := plan.PolicyDocument(b, s3admin.ModeReadWrite)
		e.bd.putUserPolicy(t, a.User, s3admin.PolicyName, wide)
		// The IAM query API path reads the changed grant; the filer path
		// writes its grant elsewhere and reads the user as not exact.
		if st := observeUser(t, e, a.User); st.Mode != s3admin.ModeReadWrite && st.PolicyExact {
			t.Fatalf("tampered policy not observed: %+v", st)
		}
		ensure(t, e, a)
		wantExactly(t, e, a)
	}},
	{"EnsureAccess reactivates its key deactivated behind the client's back", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.User("inactive"), b, s3admin.ModeReadOnly)
		ensure(t, e, a)
		e.bd.deactivateKey(t, a.User, a.AccessKeyID)
		if !ensure(t, e, a) {
			t.Fatal("no change reported")
		}
		noWrites(t, e, "converged EnsureAccess", func() { ensure(t, e, a) })
		wantExactly(t, e, a)
	}},
	{"EnsureAccess recreates a user deleted behind the client's back", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.User("gone"), b, s3admin.ModeReadWrite)
		ensure(t, e, a)
		e.bd.removeUser(t, a.User)
		if !ensure(t, e, a) {
			t.Fatal("no change reported")
		}
		wantExactly(t, e, a)
	}},
	{"A user re-created behind the client's back inherits the inline policies of a deleted namesake", func(t *testing.T, e *env) {
		// The store quirk DeleteUser's ordering exists for.
		name := e.User("quirk")
		e.bd.addUser(t, name)
		wide, _ := plan.PolicyDocument(e.bucket("secret"), s3admin.ModeReadWrite)
		e.bd.putUserPolicy(t, name, s3admin.PolicyName, wide)
		e.bd.removeUser(t, name)
		e.bd.addUser(t, name)
		if st := observeUser(t, e, name); st.Bucket != e.bucket("secret") || st.Mode != s3admin.ModeReadWrite {
			t.Fatalf("namesake did not inherit the policy: %+v", st)
		}
	}},
	{"EnsureAccess of a new user drops policies inherited from a deleted namesake", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		name := e.User("heir")
		e.bd.addUser(t, name)
		wide, _ := plan.PolicyDocument(e.bucket("secret"), s3admin.ModeReadWrite)
		e.bd.putUserPolicy(t, name, "leftover", wide)
		e.bd.removeUser(t, name)
		a := e.access(t, name, b, s3admin.ModeReadOnly)
		ensure(t, e, a)
		wantExactly(t, e, a)
	}},
	{"EnsureAccess on a foreign bucket returns ErrNotOwned and writes nothing", func(t *testing.T, e *env) {
		b := e.bucket("foreign")
		e.bd.addBucket(t, b, nil)
		a := e.access(t, e.User("x"), b, s3admin.ModeReadOnly)
		noWrites(t, e, "EnsureAccess on a foreign bucket", func() {
			_, err := e.admin.EnsureAccess(admintest.Context(t), a)
			admintest.MustIs(t, "EnsureAccess", err, s3admin.ErrNotOwned)
		})
		if st := observeUser(t, e, a.User); st.Exists {
			t.Fatal("user created")
		}
	}},
	{"EnsureAccess on a missing bucket returns ErrNotFound and writes nothing", func(t *testing.T, e *env) {
		a := e.access(t, e.User("x"), e.bucket("missing"), s3admin.ModeReadOnly)
		noWrites(t, e, "EnsureAccess on a missing bucket", func() {
			_, err := e.admin.EnsureAccess(admintest.Context(t), a)
			admintest.MustIs(t, "EnsureAccess", err, s3admin.ErrNotFound)
		})
	}},
	{"EnsureAccess of a user without the prefix returns ErrNotOwned and leaves it", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		name := e.foreignUser("u")
		key := e.bd.addUser(t, name)
		a := e.access(t, name, b, s3admin.ModeReadWrite)
		noWrites(t, e, "EnsureAccess of a foreign user", func() {
			_, err := e.admin.EnsureAccess(admintest.Context(t), a)
			admintest.MustIs(t, "EnsureAccess", err, s3admin.ErrNotOwned)
		})
		st := observeUser(t, e, name)
		if st.Owned || !slices.Equal(st.AccessKeyIDs, []string{key}) || st.Bucket != "" {
			t.Fatalf("foreign user changed: %+v", st)
		}
	}},
	{"EnsureAccess with a key id another user holds returns ErrAlreadyExists", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		theirs := e.bd.addUser(t, e.foreignUser("holder"))
		a := e.access(t, e.User("thief"), b, s3admin.ModeReadOnly)
		a.AccessKeyID = theirs
		_, err := e.admin.EnsureAccess(admintest.Context(t), a)
		admintest.MustIs(t, "EnsureAccess", err, s3admin.ErrAlreadyExists)
		if st := observeUser(t, e, e.foreignUser("holder")); !slices.Equal(st.AccessKeyIDs, []string{theirs}) {
			t.Fatalf("holder's keys changed: %+v", st)
		}
	}},
	{"EnsureAccess rejects invalid input with ErrInvalid and writes nothing", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		good := e.access(t, e.User("v"), b, s3admin.ModeReadOnly)
		bad := map[string]s3admin.Access{}
		a := good
		a.Mode = "admin"
		bad["mode"] = a
		a = good
		a.AccessKeyID = "AB"
		bad["short key id"] = a
		a = good
		a.AccessKeyID = "ABC-DEF"
		bad["key id punctuation"] = a
		a = good
		a.SecretAccessKey = "short"
		bad["short secret"] = a
		a = good
		a.SecretAccessKey = "has space in it"
		bad["secret with space"] = a
		a = good
		a.Bucket = "Bad_Bucket"
		bad["bucket"] = a
		a = good
		a.User = e.prefix + "a/b"
		bad["user with slash"] = a
		for what, a := range bad {
			noWrites(t, e, what, func() {
				_, err := e.admin.EnsureAccess(admintest.Context(t), a)
				admintest.MustIs(t, what, err, s3admin.ErrInvalid)
			})
		}
	}},
	{"DeleteUser of a missing user succeeds", func(t *testing.T, e *env) {
		noWrites(t, e, "DeleteUser of a missing user", func() {
			admintest.MustNil(t, "DeleteUser", e.admin.DeleteUser(admintest.Context(t), e.User("missing"), ""))
		})
	}},
	{"DeleteUser removes policies, keys and the user, so a namesake starts clean", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.User("del"), b, s3admin.ModeReadWrite)
		ensure(t, e, a)
		admintest.MustNil(t, "DeleteUser", e.admin.DeleteUser(admintest.Context(t), a.User, ""))
		if st := observeUser(t, e, a.User); st.Exists {
			t.Fatalf("user still exists: %+v", st)
		}
		// A user re-created behind our back must not inherit the old policy.
		e.bd.addUser(t, a.User)
		if st := observeUser(t, e, a.User); st.Bucket != "" || st.Mode != "" {
			t.Fatalf("new namesake inherited the old grant: %+v", st)
		}
	}},
	{"DeleteUser of a foreign user returns ErrNotOwned and leaves it", func(t *testing.T, e *env) {
		name := e.foreignUser("keep")
		key := e.bd.addUser(t, name)
		noWrites(t, e, "DeleteUser of a foreign user", func() {
			admintest.MustIs(t, "DeleteUser", e.admin.DeleteUser(admintest.Context(t), name, ""), s3admin.ErrNotOwned)
		})
		if st := observeUser(t, e, name); !st.Exists || !slices.Equal(st.AccessKeyIDs, []string{key}) {
			t.Fatalf("foreign user changed: %+v", st)
		}
	}},
	{"A user named under an earlier prefix is converged, listed and deleted when the call names that prefix, and only then", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		earlier := "was-" + e.id + "-"
		a := e.access(t, earlier+"u", b, s3admin.ModeReadWrite)
		_, err := e.admin.EnsureAccess(admintest.Context(t), a)
		admintest.MustIs(t, "EnsureAccess without the recorded prefix", err, s3admin.ErrNotOwned)
		a.UserPrefix = earlier
		ensure(t, e, a)
		noWrites(t, e, "converged EnsureAccess", func() { ensure(t, e, a) })
		users, err := e.admin.ListOwnedUsers(admintest.Context(t))
		admintest.MustNil(t, "ListOwnedUsers", err)
		if slices.ContainsFunc(users, func(u s3admin.UserState) bool { return u.Name == a.User }) {
			t.Fatal("ListOwnedUsers without the earlier prefix lists the user")
		}
		users, err = e.admin.ListOwnedUsers(admintest.Context(t), earlier)
		admintest.MustNil(t, "ListOwnedUsers", err)
		if !slices.ContainsFunc(users, func(u s3admin.UserState) bool {
			return u.Name == a.User && u.Bucket == b && slices.Equal(u.AccessKeyIDs, []string{a.AccessKeyID})
		}) {
			t.Fatalf("ListOwnedUsers with the earlier prefix: %+v, want %s", users, a.User)
		}
		admintest.MustIs(t, "DeleteUser without the recorded prefix", e.admin.DeleteUser(admintest.Context(t), a.User, ""), s3admin.ErrNotOwned)
		admintest.MustNil(t, "DeleteUser", e.admin.DeleteUser(admintest.Context(t), a.User, earlier))
		if st := observeUser(t, e, a.User); st.Exists {
			t.Fatalf("user still exists: %+v", st)
		}
	}},
	{"ListOwnedUsers lists owned users only, with their state", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a1 := e.access(t, e.User("l1"), b, s3admin.ModeReadOnly)
		a2 := e.access(t, e.User("l2"), b, s3admin.ModeWriteOnly)
		ensure(t, e, a2)
		ensure(t, e, a1)
		e.bd.addUser(t, e.foreignUser("l3"))
		users, err := e.admin.ListOwnedUsers(admintest.Context(t))
		admintest.MustNil(t, "ListOwnedUsers", err)
		if len(users) != 2 {
			t.Fatalf("owned users %+v, want 2", users)
		}
		for i, a := range []s3admin.Access{a1, a2} {
			want := s3admin.UserState{Name: a.User, Exists: true, Owned: true, AccessKeyIDs: []string{a.AccessKeyID},
				Bucket: b, Mode: a.Mode, PolicyExact: true}
			if !sameUser(users[i], want) {
				t.Errorf("user %d\n got %+v\nwant %+v", i, users[i], want)
			}
		}
	}},
	{"ObserveUser reports a foreign user as not owned", func(t *testing.T, e *env) {
		name := e.foreignUser("seen")
		key := e.bd.addUser(t, name)
		st := observeUser(t, e, name)
		want := s3admin.UserState{Name: name, Exists: true, AccessKeyIDs: []string{key}}
		if !sameUser(st, want) {
			t.Fatalf("got %+v, want %+v", st, want)
		}
	}},
}
