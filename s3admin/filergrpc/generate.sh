#!/usr/bin/env bash
# Generates the Go types and gRPC client stubs of the SeaweedFS messages the
# driver exchanges with the filer, from the .proto files of the SeaweedFS
# version test/tools/weed pins (the version the tests run), into packages of
# this module: filerpb (filer.proto), iampb (iam.proto) and s3pb (s3.proto,
# whose BucketMetadata holds a bucket's tags). The .proto files are read from
# the module cache, not copied here.
#
# Usage: generate.sh [dir]; dir (default: this directory) receives filerpb/,
# iampb/ and s3pb/. make lint generates into a temporary directory and
# compares.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here}
mkdir -p "$out"
out=$(cd "$out" && pwd)

"$root/test/tools/protoc.sh"
"$root/test/tools/build.sh" protoc-gen-go
"$root/test/tools/build.sh" protoc-gen-go-grpc

mod=github.com/seaweedfs/seaweedfs
src=$(cd "$root/test/tools/weed" && go mod download "$mod" && go list -m -f '{{.Dir}}' "$mod")/weed/pb

pkg=github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc
# Each .proto file's Go package is one of ours, not SeaweedFS's go_package.
maps=("Mfiler.proto=$pkg/filerpb;filerpb" "Miam.proto=$pkg/iampb;iampb" "Ms3.proto=$pkg/s3pb;s3pb")
go_opts=(--go_opt=module=$pkg)
grpc_opts=(--go-grpc_opt=module=$pkg)
for m in "${maps[@]}"; do
  go_opts+=(--go_opt="$m")
  grpc_opts+=(--go-grpc_opt="$m")
done

rm -rf "$out/filerpb" "$out/iampb" "$out/s3pb"
cd "$src"
# The filer's and the IAM service's clients; of s3.proto only the messages
# (its service is the filer's, calling the S3 gateways).
protoc --plugin=protoc-gen-go="$root/bin/protoc-gen-go" --plugin=protoc-gen-go-grpc="$root/bin/protoc-gen-go-grpc" \
  --go_out="$out" "${go_opts[@]}" --go-grpc_out="$out" "${grpc_opts[@]}" filer.proto iam.proto
protoc --plugin=protoc-gen-go="$root/bin/protoc-gen-go" --go_out="$out" "${go_opts[@]}" s3.proto
