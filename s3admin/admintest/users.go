package admintest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// userCases are the contract's sentences about users, keys and grants.
var userCases = []contractCase{
	{"EnsureAccess creates a user with exactly the key and policy", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		a := e.Access(t, e.User("new"), b, s3admin.ModeReadWrite)
		if !Ensure(t, e, a) {
			t.Fatal("EnsureAccess of a new user reported no change")
		}
		WantExactly(t, e, a)
	}},
	{"KeyAccepted knows the key EnsureAccess returned with, not a key never issued, and writes nothing", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		a := e.Access(t, e.User("probe"), b, s3admin.ModeWriteOnly)
		Ensure(t, e, a)
		other := e.Access(t, a.User, b, s3admin.ModeWriteOnly)
		NoWrites(t, e, "KeyAccepted", func() {
			ok, err := e.Admin.KeyAccepted(Context(t), a)
			MustNil(t, "KeyAccepted of the issued key", err)
			if !ok {
				t.Fatal("KeyAccepted: the key EnsureAccess returned with is not accepted")
			}
			ok, err = e.Admin.KeyAccepted(Context(t), other)
			MustNil(t, "KeyAccepted of a key never issued", err)
			if ok {
				t.Fatal("KeyAccepted: a key never issued is accepted")
			}
		})
		bad := a
		bad.Mode = "everything"
		if _, err := e.Admin.KeyAccepted(Context(t), bad); !errors.Is(err, s3admin.ErrInvalid) {
			t.Fatalf("KeyAccepted of an invalid access: %v, want ErrInvalid", err)
		}
	}},
	{"EnsureAccess twice makes no write the second time", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		for _, m := range []s3admin.Mode{s3admin.ModeReadWrite, s3admin.ModeReadOnly, s3admin.ModeWriteOnly} {
			a := e.Access(t, e.User(string(m)), b, m)
			Ensure(t, e, a)
			NoWrites(t, e, "converged EnsureAccess", func() {
				if Ensure(t, e, a) {
					t.Fatal("converged EnsureAccess reported a change")
				}
			})
		}
	}},
	{"EnsureAccess with RewritePolicy writes the policy of a converged access again, and nothing else", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		a := e.Access(t, e.User("rewrite"), b, s3admin.ModeReadOnly)
		Ensure(t, e, a)
		a.RewritePolicy = true
		before := e.Backdoor.WriteCount()
		if !Ensure(t, e, a) {
			t.Fatal("EnsureAccess with RewritePolicy reported no change")
		}
		if n := e.Backdoor.WriteCount() - before; n != 1 {
			t.Fatalf("%d writes, want 1 (the policy)", n)
		}
		WantExactly(t, e, a)
	}},
	{"EnsureAccess replaces a different key", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		a := e.Access(t, e.User("rekey"), b, s3admin.ModeReadOnly)
		Ensure(t, e, a)
		a2 := e.Access(t, a.User, b, s3admin.ModeReadOnly)
		if n := EnsureRemovingUnissued(t, e, a2); n != 1 {
			t.Fatalf("removed %d other keys, want the replaced one", n)
		}
		WantExactly(t, e, a2)
	}},
	{"EnsureAccess replaces a different mode", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		a := e.Access(t, e.User("remode"), b, s3admin.ModeReadWrite)
		Ensure(t, e, a)
		a.Mode = s3admin.ModeWriteOnly
		if !Ensure(t, e, a) {
			t.Fatal("no change reported")
		}
		WantExactly(t, e, a)
	}},
	{"EnsureAccess replaces a second bucket", func(t *testing.T, e *Env) {
		b1, b2 := e.Bucket("one"), e.Bucket("two")
		CreateBucket(t, e, b1)
		CreateBucket(t, e, b2)
		a := e.Access(t, e.User("move"), b1, s3admin.ModeReadWrite)
		Ensure(t, e, a)
		a.Bucket = b2
		Ensure(t, e, a)
		WantExactly(t, e, a)
	}},
	{"EnsureAccess removes keys and policies added behind the client's back", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		a := e.Access(t, e.User("drift"), b, s3admin.ModeReadOnly)
		Ensure(t, e, a)
		e.Backdoor.AddUserKey(t, a.User)
		wide, _ := plan.PolicyDocument(e.Bucket("other"), s3admin.ModeReadWrite)
		e.Backdoor.PutUserPolicy(t, a.User, "extra", wide)
		if st := ObserveUser(t, e, a.User); st.PolicyExact || len(st.AccessKeyIDs) != 2 {
			t.Fatalf("drift not observed: %+v", st)
		}
		if n := EnsureRemovingUnissued(t, e, a); n != 1 {
			t.Fatalf("removed %d unissued keys, want 1", n)
		}
		WantExactly(t, e, a)
	}},
	{"EnsureAccess removes a bounded number of unissued keys per call and names the user, never a key", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		a := e.Access(t, e.User("mint"), b, s3admin.ModeReadOnly)
		Ensure(t, e, a)
		extra := s3admin.MaxUnissuedKeyRemovals + 3
		var ids []string
		for range extra {
			ids = append(ids, e.Backdoor.AddUserKey(t, a.User))
		}
		_, err := e.Admin.EnsureAccess(Context(t), a)
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
		if n := EnsureRemovingUnissued(t, e, a); n != 3 {
			t.Fatalf("removed %d more, want 3", n)
		}
		WantExactly(t, e, a)
	}},
	{"DeleteUser of a user holding many keys costs one write per policy and one for the user", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		a := e.Access(t, e.User("many"), b, s3admin.ModeReadOnly)
		Ensure(t, e, a)
		for range s3admin.MaxUnissuedKeyRemovals + 3 {
			e.Backdoor.AddUserKey(t, a.User)
		}
		before := e.Backdoor.WriteCount()
		MustNil(t, "DeleteUser", e.Admin.DeleteUser(Context(t), a.User, ""))
		if n := e.Backdoor.WriteCount() - before; n != 2 {
			t.Fatalf("DeleteUser made %d writes, want 2 (the policy, the user)", n)
		}
		if st := ObserveUser(t, e, a.User); st.Exists || len(st.AccessKeyIDs) != 0 {
			t.Fatalf("user after DeleteUser: %+v", st)
		}
	}},
	{"EnsureAccess rewrites a policy changed behind the client's back", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		a := e.Access(t, e.User("tamper"), b, s3admin.ModeReadOnly)
		Ensure(t, e, a)
		wide, _ := plan.PolicyDocument(b, s3admin.ModeReadWrite)
		e.Backdoor.PutUserPolicy(t, a.User, s3admin.PolicyName, wide)
		// The IAM query API path reads the changed grant; the filer path
		// writes its grant elsewhere and reads the user as not exact.
		if st := ObserveUser(t, e, a.User); st.Mode != s3admin.ModeReadWrite && st.PolicyExact {
			t.Fatalf("tampered policy not observed: %+v", st)
		}
		Ensure(t, e, a)
		WantExactly(t, e, a)
	}},
	{"EnsureAccess reactivates its key deactivated behind the client's back", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		a := e.Access(t, e.User("inactive"), b, s3admin.ModeReadOnly)
		Ensure(t, e, a)
		e.Backdoor.DeactivateKey(t, a.User, a.AccessKeyID)
		if !Ensure(t, e, a) {
			t.Fatal("no change reported")
		}
		NoWrites(t, e, "converged EnsureAccess", func() { Ensure(t, e, a) })
		WantExactly(t, e, a)
	}},
	{"EnsureAccess recreates a user deleted behind the client's back", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		a := e.Access(t, e.User("gone"), b, s3admin.ModeReadWrite)
		Ensure(t, e, a)
		e.Backdoor.RemoveUser(t, a.User)
		if !Ensure(t, e, a) {
			t.Fatal("no change reported")
		}
		WantExactly(t, e, a)
	}},
	{"A user re-created behind the client's back inherits the inline policies of a deleted namesake", func(t *testing.T, e *Env) {
		// The store quirk DeleteUser's ordering exists for.
		name := e.User("quirk")
		e.Backdoor.AddUser(t, name)
		wide, _ := plan.PolicyDocument(e.Bucket("secret"), s3admin.ModeReadWrite)
		e.Backdoor.PutUserPolicy(t, name, s3admin.PolicyName, wide)
		e.Backdoor.RemoveUser(t, name)
		e.Backdoor.AddUser(t, name)
		if st := ObserveUser(t, e, name); st.Bucket != e.Bucket("secret") || st.Mode != s3admin.ModeReadWrite {
			t.Fatalf("namesake did not inherit the policy: %+v", st)
		}
	}},
	{"EnsureAccess of a new user drops policies inherited from a deleted namesake", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		name := e.User("heir")
		e.Backdoor.AddUser(t, name)
		wide, _ := plan.PolicyDocument(e.Bucket("secret"), s3admin.ModeReadWrite)
		e.Backdoor.PutUserPolicy(t, name, "leftover", wide)
		e.Backdoor.RemoveUser(t, name)
		a := e.Access(t, name, b, s3admin.ModeReadOnly)
		Ensure(t, e, a)
		WantExactly(t, e, a)
	}},
	{"EnsureAccess on a foreign bucket returns ErrNotOwned and writes nothing", func(t *testing.T, e *Env) {
		b := e.Bucket("foreign")
		e.Backdoor.AddBucket(t, b, nil)
		a := e.Access(t, e.User("x"), b, s3admin.ModeReadOnly)
		NoWrites(t, e, "EnsureAccess on a foreign bucket", func() {
			_, err := e.Admin.EnsureAccess(Context(t), a)
			MustIs(t, "EnsureAccess", err, s3admin.ErrNotOwned)
		})
		if st := ObserveUser(t, e, a.User); st.Exists {
			t.Fatal("user created")
		}
	}},
	{"EnsureAccess on a missing bucket returns ErrNotFound and writes nothing", func(t *testing.T, e *Env) {
		a := e.Access(t, e.User("x"), e.Bucket("missing"), s3admin.ModeReadOnly)
		NoWrites(t, e, "EnsureAccess on a missing bucket", func() {
			_, err := e.Admin.EnsureAccess(Context(t), a)
			MustIs(t, "EnsureAccess", err, s3admin.ErrNotFound)
		})
	}},
	{"EnsureAccess of a user without the prefix returns ErrNotOwned and leaves it", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		name := e.ForeignUser("u")
		key := e.Backdoor.AddUser(t, name)
		a := e.Access(t, name, b, s3admin.ModeReadWrite)
		NoWrites(t, e, "EnsureAccess of a foreign user", func() {
			_, err := e.Admin.EnsureAccess(Context(t), a)
			MustIs(t, "EnsureAccess", err, s3admin.ErrNotOwned)
		})
		st := ObserveUser(t, e, name)
		if st.Owned || !slices.Equal(st.AccessKeyIDs, []string{key}) || st.Bucket != "" {
			t.Fatalf("foreign user changed: %+v", st)
		}
	}},
	{"EnsureAccess with a key id another user holds returns ErrAlreadyExists", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		theirs := e.Backdoor.AddUser(t, e.ForeignUser("holder"))
		a := e.Access(t, e.User("thief"), b, s3admin.ModeReadOnly)
		a.AccessKeyID = theirs
		_, err := e.Admin.EnsureAccess(Context(t), a)
		MustIs(t, "EnsureAccess", err, s3admin.ErrAlreadyExists)
		if st := ObserveUser(t, e, e.ForeignUser("holder")); !slices.Equal(st.AccessKeyIDs, []string{theirs}) {
			t.Fatalf("holder's keys changed: %+v", st)
		}
	}},
	{"EnsureAccess rejects invalid input with ErrInvalid and writes nothing", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		good := e.Access(t, e.User("v"), b, s3admin.ModeReadOnly)
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
		a.User = e.Prefix + "a/b"
		bad["user with slash"] = a
		for what, a := range bad {
			NoWrites(t, e, what, func() {
				_, err := e.Admin.EnsureAccess(Context(t), a)
				MustIs(t, what, err, s3admin.ErrInvalid)
			})
		}
	}},
	{"DeleteUser of a missing user succeeds", func(t *testing.T, e *Env) {
		NoWrites(t, e, "DeleteUser of a missing user", func() {
			MustNil(t, "DeleteUser", e.Admin.DeleteUser(Context(t), e.User("missing"), ""))
		})
	}},
	{"DeleteUser removes policies, keys and the user, so a namesake starts clean", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		a := e.Access(t, e.User("del"), b, s3admin.ModeReadWrite)
		Ensure(t, e, a)
		MustNil(t, "DeleteUser", e.Admin.DeleteUser(Context(t), a.User, ""))
		if st := ObserveUser(t, e, a.User); st.Exists {
			t.Fatalf("user still exists: %+v", st)
		}
		// A user re-created behind our back must not inherit the old policy.
		e.Backdoor.AddUser(t, a.User)
		if st := ObserveUser(t, e, a.User); st.Bucket != "" || st.Mode != "" {
			t.Fatalf("new namesake inherited the old grant: %+v", st)
		}
	}},
	{"DeleteUser of a foreign user returns ErrNotOwned and leaves it", func(t *testing.T, e *Env) {
		name := e.ForeignUser("keep")
		key := e.Backdoor.AddUser(t, name)
		NoWrites(t, e, "DeleteUser of a foreign user", func() {
			MustIs(t, "DeleteUser", e.Admin.DeleteUser(Context(t), name, ""), s3admin.ErrNotOwned)
		})
		if st := ObserveUser(t, e, name); !st.Exists || !slices.Equal(st.AccessKeyIDs, []string{key}) {
			t.Fatalf("foreign user changed: %+v", st)
		}
	}},
	{"A user named under an earlier prefix is converged, listed and deleted when the call names that prefix, and only then", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		earlier := "was-" + e.ID + "-"
		a := e.Access(t, earlier+"u", b, s3admin.ModeReadWrite)
		_, err := e.Admin.EnsureAccess(Context(t), a)
		MustIs(t, "EnsureAccess without the recorded prefix", err, s3admin.ErrNotOwned)
		a.UserPrefix = earlier
		Ensure(t, e, a)
		NoWrites(t, e, "converged EnsureAccess", func() { Ensure(t, e, a) })
		users, err := e.Admin.ListOwnedUsers(Context(t))
		MustNil(t, "ListOwnedUsers", err)
		if slices.ContainsFunc(users, func(u s3admin.UserState) bool { return u.Name == a.User }) {
			t.Fatal("ListOwnedUsers without the earlier prefix lists the user")
		}
		users, err = e.Admin.ListOwnedUsers(Context(t), earlier)
		MustNil(t, "ListOwnedUsers", err)
		if !slices.ContainsFunc(users, func(u s3admin.UserState) bool {
			return u.Name == a.User && u.Bucket == b && slices.Equal(u.AccessKeyIDs, []string{a.AccessKeyID})
		}) {
			t.Fatalf("ListOwnedUsers with the earlier prefix: %+v, want %s", users, a.User)
		}
		MustIs(t, "DeleteUser without the recorded prefix", e.Admin.DeleteUser(Context(t), a.User, ""), s3admin.ErrNotOwned)
		MustNil(t, "DeleteUser", e.Admin.DeleteUser(Context(t), a.User, earlier))
		if st := ObserveUser(t, e, a.User); st.Exists {
			t.Fatalf("user still exists: %+v", st)
		}
	}},
	{"ListOwnedUsers lists owned users only, with their state", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		a1 := e.Access(t, e.User("l1"), b, s3admin.ModeReadOnly)
		a2 := e.Access(t, e.User("l2"), b, s3admin.ModeWriteOnly)
		Ensure(t, e, a2)
		Ensure(t, e, a1)
		e.Backdoor.AddUser(t, e.ForeignUser("l3"))
		users, err := e.Admin.ListOwnedUsers(Context(t))
		MustNil(t, "ListOwnedUsers", err)
		if len(users) != 2 {
			t.Fatalf("owned users %+v, want 2", users)
		}
		for i, a := range []s3admin.Access{a1, a2} {
			want := s3admin.UserState{Name: a.User, Exists: true, Owned: true, AccessKeyIDs: []string{a.AccessKeyID},
				Bucket: b, Mode: a.Mode, PolicyExact: true}
			if !SameUser(users[i], want) {
				t.Errorf("user %d\n got %+v\nwant %+v", i, users[i], want)
			}
		}
	}},
	{"ListOwnedUsersWindow names every owned user and observes at least its window, the next window after Last", func(t *testing.T, e *Env) {
		b := e.Bucket("b")
		CreateBucket(t, e, b)
		want := map[string]s3admin.UserState{}
		var all []string
		for _, n := range []string{"w1", "w2", "w3"} {
			a := e.Access(t, e.User(n), b, s3admin.ModeReadWrite)
			Ensure(t, e, a)
			want[a.User] = s3admin.UserState{Name: a.User, Exists: true, Owned: true, AccessKeyIDs: []string{a.AccessKeyID},
				Bucket: b, Mode: a.Mode, PolicyExact: true}
			all = append(all, a.User)
		}
		slices.Sort(all)
		e.Backdoor.AddUser(t, e.ForeignUser("w4"))
		observed := map[string]bool{}
		w := s3admin.UserWindow{Limit: 2}
		for pass := range 2 {
			l, err := e.Admin.ListOwnedUsersWindow(Context(t), w)
			MustNil(t, "ListOwnedUsersWindow", err)
			if !slices.Equal(l.Names, all) {
				t.Fatalf("pass %d names %v, want %v", pass+1, l.Names, all)
			}
			for _, n := range w.Pick(all) {
				if !slices.ContainsFunc(l.Users, func(u s3admin.UserState) bool { return u.Name == n }) {
					t.Errorf("pass %d (window after %q): %s not observed in %+v", pass+1, w.After, n, l.Users)
				}
			}
			for _, u := range l.Users {
				if !SameUser(u, want[u.Name]) {
					t.Errorf("pass %d observed\n %+v\nwant %+v", pass+1, u, want[u.Name])
				}
				observed[u.Name] = true
			}
			w.After = l.Last
		}
		if len(observed) != len(all) {
			t.Fatalf("two windows of 2 observed %v of %v", observed, all)
		}
	}},
	{"ObserveUser reports a foreign user as not owned", func(t *testing.T, e *Env) {
		name := e.ForeignUser("seen")
		key := e.Backdoor.AddUser(t, name)
		st := ObserveUser(t, e, name)
		want := s3admin.UserState{Name: name, Exists: true, AccessKeyIDs: []string{key}}
		if !SameUser(st, want) {
			t.Fatalf("got %+v, want %+v", st, want)
		}
	}},
}
