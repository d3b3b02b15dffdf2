// Package resilience runs the driver binary built with crash points
// (bin/cosi-seaweedfs-crashpoints, `make build-crashpoints`) as a process
// against the real kube-apiserver and SeaweedFS of test/stack, drives a
// workload over its unix socket as the COSI sidecar does, and ends the
// process, SeaweedFS or the Kubernetes API at the worst moments:
//
//   - TestCrashAtEveryPoint: a crash on the first and on the second hit of
//     every point of crashpoint.QueryAPINames() and, with users written
//     through the filer, of crashpoint.FilerNames() (the test fails if one is never
//     reached);
//   - TestRandomKills: SIGKILL at random moments, seeded
//     (COSI_RESILIENCE_SEED replays a seed, COSI_RESILIENCE_SEEDS runs more);
//   - TestCrashLoop: a crash-looping pod, on both user paths: a create
//     crashed after SeaweedFS made the bucket converges while every process
//     lives 1.2 s, and a round goes through kills every 0.3–1.5 s;
//   - TestOutages: SeaweedFS and the kube-apiserver stopped mid-workload;
//   - TestLeaderHandover: two replicas, the leader killed.
//
// After each of them the state must converge to the model the workload kept:
// SeaweedFS holds exactly the buckets and users asked for, every user exactly
// the key the caller got, every returned key works on its bucket only and
// every revoked one is rejected, no record is stuck in deletion, repeats
// answer identically, and no secret appears in the driver's logs.
package resilience
