#!/usr/bin/env bash
# Builds one pinned tool from its module under test/tools/<tool> into bin/<tool>.
# The build is skipped when bin/.stamps/<tool> matches the hash of the tool's pin
# (go.mod, go.sum, tools.go), so a second `make tools` costs nothing.
set -euo pipefail

tool=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$root/test/tools/$tool
bin=$root/bin
stamp=$bin/.stamps/$tool

# The Go package to build inside each tool module, and its link flags.
ldflags=""
case $tool in
  weed) pkg=github.com/seaweedfs/seaweedfs/weed ;;
  # Without a version stamped in, /version reports v0.0.0-master+$Format:%H$,
  # which clients that parse it (the COSI sidecar v0.1.0) panic on.
  # The node's components build from the same k8s.io/kubernetes pin with the
  # same version stamp, so the kubelet and the API server agree on v1.34.3.
  kube-apiserver|kubelet|kube-controller-manager|kube-scheduler|kube-proxy|kubectl)
    pkg=k8s.io/kubernetes/cmd/$tool
    v=k8s.io/component-base/version
    ldflags="-X $v.gitVersion=v1.34.3 -X $v.gitMajor=1 -X $v.gitMinor=34 -X $v.gitTreeState=clean" ;;
  etcd) pkg=go.etcd.io/etcd/server/v3 ;;
  objectstorage-sidecar) pkg=sigs.k8s.io/container-object-storage-interface-provisioner-sidecar/cmd/objectstorage-sidecar ;;
  helm) pkg=helm.sh/helm/v3/cmd/helm ;;
  # The checksum database cannot serve chainsaw v0.2.15's go.mod; its hash is
  # pinned in the tool's go.sum instead.
  chainsaw) pkg=github.com/kyverno/chainsaw; export GONOSUMDB=github.com/kyverno/chainsaw ;;
  actionlint) pkg=github.com/rhysd/actionlint/cmd/actionlint ;;
  kind) pkg=sigs.k8s.io/kind ;;
  coredns) pkg=github.com/coredns/coredns ;;
  golangci-lint) pkg=github.com/golangci/golangci-lint/v2/cmd/golangci-lint ;;
  protoc-gen-go) pkg=google.golang.org/protobuf/cmd/protoc-gen-go ;;
  protoc-gen-go-grpc) pkg=google.golang.org/grpc/cmd/protoc-gen-go-grpc ;;
  *) echo "unknown tool: $tool" >&2; exit 2 ;;
esac

# The stamp covers the link flags too, so changing them rebuilds the tool.
want=$({ cat "$dir/go.mod" "$dir/go.sum" "$dir/tools.go"; [[ -z $ldflags ]] || echo "$ldflags"; } | sha256sum | cut -d' ' -f1)
if [[ -x $bin/$tool && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi

mkdir -p "$bin/.stamps"
echo "building $tool (pin changed or missing)"
start=$SECONDS
(cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/$tool.tmp" "$pkg")
mv "$bin/$tool.tmp" "$bin/$tool"
echo "$want" >"$stamp"
echo "built $tool in $((SECONDS - start))s"
