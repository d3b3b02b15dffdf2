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

# The Go package to build inside each tool module.
case $tool in
  weed) pkg=github.com/seaweedfs/seaweedfs/weed ;;
  kube-apiserver) pkg=k8s.io/kubernetes/cmd/kube-apiserver ;;
  etcd) pkg=go.etcd.io/etcd/server/v3 ;;
  objectstorage-sidecar) pkg=sigs.k8s.io/container-object-storage-interface-provisioner-sidecar/cmd/objectstorage-sidecar ;;
  helm) pkg=helm.sh/helm/v3/cmd/helm ;;
  # The checksum database cannot serve chainsaw v0.2.15's go.mod; its hash is
  # pinned in the tool's go.sum instead.
  chainsaw) pkg=github.com/kyverno/chainsaw; export GONOSUMDB=github.com/kyverno/chainsaw ;;
  *) echo "unknown tool: $tool" >&2; exit 2 ;;
esac

want=$(cat "$dir/go.mod" "$dir/go.sum" "$dir/tools.go" | sha256sum | cut -d' ' -f1)
if [[ -x $bin/$tool && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi

mkdir -p "$bin/.stamps"
echo "building $tool (pin changed or missing)"
start=$SECONDS
(cd "$dir" && CGO_ENABLED=0 go build -trimpath -o "$bin/$tool.tmp" "$pkg")
mv "$bin/$tool.tmp" "$bin/$tool"
echo "$want" >"$stamp"
echo "built $tool in $((SECONDS - start))s"
