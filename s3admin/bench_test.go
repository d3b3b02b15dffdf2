package s3admin

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// BenchmarkEnsureAccess measures one new grant (EnsureAccess for a user that
// does not exist: CreateUser, PutUserPolicy, CreateAccessKey and the
// observations around them), a converged EnsureAccess (reads only), and a
// revoke (DeleteUser), with 0, 100 and 300 other users on the server.
//
// SeaweedFS rewrites every identity on each IAM mutation except CreateUser,
// so write cost grows with the number of identities, not with what they
// hold: the other users are created bare (CreateUser is a targeted, cheap
// write), which keeps populating 300 of them to seconds. The benchmark runs
// on a SeaweedFS of its own, discarded afterwards.
func BenchmarkEnsureAccess(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	sw, err := stack.StartSeaweed(ctx, stack.SeaweedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sw.Stop()
	admin, err := NewSeaweedFS(Config{
		Endpoint: sw.Endpoint, Region: sw.Region, AccessKeyID: sw.AccessKey, SecretAccessKey: sw.SecretKey,
		CallTimeout: time.Minute,
	})
	if err != nil {
		b.Fatal(err)
	}
	rawIAM := iam.New(iam.Options{Region: sw.Region, BaseEndpoint: aws.String(sw.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(sw.AccessKey, sw.SecretKey, "")})
	const bucket = "bench-bucket"
	if err := admin.CreateBucket(ctx, bucket, testOwn); err != nil {
		b.Fatal(err)
	}
	newAccess := func(i int) Access {
		id, secret, err := GenerateCredentials()
		if err != nil {
			b.Fatal(err)
		}
		return Access{User: fmt.Sprintf("cosi-bench-%05d", i), Bucket: bucket, Mode: ModeReadWrite, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: testOwn}
	}

	others, next := 0, 0
	var granted []Access
	for _, size := range []int{0, 100, 300} {
		start := time.Now()
		for ; others < size; others++ {
			if _, err := rawIAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(fmt.Sprintf("other-%05d", others))}); err != nil {
				b.Fatal(err)
			}
		}
		if d := time.Since(start); d > time.Second {
			b.Logf("populated %d other users in %s", size, d.Round(time.Millisecond))
		}

		b.Run(fmt.Sprintf("new-grant/users=%d", size), func(b *testing.B) {
			w0, c0 := admin.writes.Load(), admin.calls.Load()
			n := 0
			for b.Loop() {
				a := newAccess(next)
				next++
				if _, err := admin.EnsureAccess(ctx, a); err != nil {
					b.Fatal(err)
				}
				granted = append(granted, a)
				n++
			}
			b.ReportMetric(float64(admin.writes.Load()-w0)/float64(n), "writes/op")
			b.ReportMetric(float64(admin.calls.Load()-c0)/float64(n), "calls/op")
		})

		b.Run(fmt.Sprintf("converged/users=%d", size), func(b *testing.B) {
			a := granted[len(granted)-1]
			w0, c0 := admin.writes.Load(), admin.calls.Load()
			n := 0
			for b.Loop() {
				changed, err := admin.EnsureAccess(ctx, a)
				if err != nil {
					b.Fatal(err)
				}
				if changed {
					b.Fatal("converged EnsureAccess wrote")
				}
				n++
			}
			if w := admin.writes.Load() - w0; w != 0 {
				b.Fatalf("converged EnsureAccess made %d writes", w)
			}
			b.ReportMetric(0, "writes/op")
			b.ReportMetric(float64(admin.calls.Load()-c0)/float64(n), "calls/op")
		})

		b.Run(fmt.Sprintf("revoke/users=%d", size), func(b *testing.B) {
			w0, c0 := admin.writes.Load(), admin.calls.Load()
			var setupW, setupC int64
			n := 0
			for b.Loop() {
				if len(granted) == 0 {
					// Grant one more outside the timer and outside the counts.
					b.StopTimer()
					w, c := admin.writes.Load(), admin.calls.Load()
					a := newAccess(next)
					next++
					if _, err := admin.EnsureAccess(ctx, a); err != nil {
						b.Fatal(err)
					}
					granted = append(granted, a)
					setupW += admin.writes.Load() - w
					setupC += admin.calls.Load() - c
					b.StartTimer()
				}
				a := granted[len(granted)-1]
				granted = granted[:len(granted)-1]
				if err := admin.DeleteUser(ctx, a.User, ""); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(admin.writes.Load()-w0-setupW)/float64(n), "writes/op")
			b.ReportMetric(float64(admin.calls.Load()-c0-setupC)/float64(n), "calls/op")
		})
	}
}
