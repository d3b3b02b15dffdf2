#!/usr/bin/env bash
# The steps of the kind CI jobs (.github/workflows/ci.yaml), one per
# subcommand, so that the workflow holds no logic of its own:
#
#   test/cluster/kind.sh cluster     create the kind cluster (test/cluster/kind.yaml)
#   test/cluster/kind.sh cosi        install the COSI CRDs and controller v0.2.2
#   test/cluster/kind.sh seaweedfs   install SeaweedFS (test/cluster/seaweedfs.yaml) with a fresh admin identity
#   test/cluster/kind.sh image       build the driver image (make image) and load it into the cluster
#   test/cluster/kind.sh install     helm install the chart (test/cluster/values.yaml) --wait, then helm test
#   test/cluster/kind.sh e2e         the e2e suite in cluster mode, chainsaw tests (s3-connectivity too) included
#   test/cluster/kind.sh recovery    the tests that delete the driver's and the COSI controller's pods mid-flow
#   test/cluster/kind.sh logs        what an operator would look at, for a failed run
#   test/cluster/kind.sh delete      delete the cluster
#
# Needs docker, kubectl and Go; kind and helm are built from their pins
# (test/tools/build.sh). KIND_CLUSTER names the cluster (default
# cosi-seaweedfs); its kubeconfig is written to KIND_DIR (default .kind/).
set -euo pipefail

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

# COSI v0.2.2, pinned: upstream main is v1alpha2, which this driver does not serve.
COSI_REF=v0.2.2
COSI_KUSTOMIZATION="github.com/kubernetes-sigs/container-object-storage-interface?ref=$COSI_REF"
COSI_NAMESPACE=container-object-storage-system
COSI_CONTROLLER=container-object-storage-controller

CLUSTER=${KIND_CLUSTER:-cosi-seaweedfs}
DIR=${KIND_DIR:-$root/.kind}
export KUBECONFIG=$DIR/kubeconfig
RELEASE=cosi-seaweedfs
NAMESPACE=seaweedfs           # the driver runs beside SeaweedFS: it mounts its admin Secret
IMAGE=cosi-seaweedfs.local/cosi-seaweedfs
IMAGE_TAG=ci                  # test/cluster/values.yaml names this image
S3_LOCAL=http://127.0.0.1:30333   # SeaweedFS's NodePort, mapped to loopback by test/cluster/kind.yaml
TIMEOUT=${KIND_TIMEOUT:-5m}

# KIND_BIN and HELM_BIN replace the pinned builds (test/cluster's tests run
# every step with stand-ins that record what they are asked to do).
kind() {
  if [[ -n ${KIND_BIN:-} ]]; then "$KIND_BIN" "$@"; return; fi
  test/tools/build.sh kind >&2
  bin/kind "$@"
}
helm() {
  if [[ -n ${HELM_BIN:-} ]]; then "$HELM_BIN" "$@"; return; fi
  test/tools/build.sh helm >&2
  bin/helm "$@"
}

admin_key() {
  kubectl -n "$NAMESPACE" get secret seaweedfs-s3-secret -o "jsonpath={.data.$1}" | base64 -d
}

# The e2e suite's environment for cluster mode (test/e2e/README.md).
e2e_env() {
  E2E_KUBECONFIG=$KUBECONFIG
  E2E_S3_ENDPOINT=$S3_LOCAL
  E2E_S3_ADMIN_ACCESS_KEY_ID=$(admin_key admin_access_key_id)
  E2E_S3_ADMIN_SECRET_ACCESS_KEY=$(admin_key admin_secret_access_key)
  E2E_DRIVER_NAMESPACE=$NAMESPACE
  E2E_CONTROLLER_NAMESPACE=$COSI_NAMESPACE
  export E2E_KUBECONFIG E2E_S3_ENDPOINT E2E_S3_ADMIN_ACCESS_KEY_ID E2E_S3_ADMIN_SECRET_ACCESS_KEY \
    E2E_DRIVER_NAMESPACE E2E_CONTROLLER_NAMESPACE
}

step=${1:-help}
case $step in
  cluster)
    mkdir -p "$DIR"
    kind create cluster --name "$CLUSTER" --config test/cluster/kind.yaml --kubeconfig "$KUBECONFIG" --wait "$TIMEOUT"
    kubectl get nodes -o wide
    ;;
  cosi)
    kubectl create -k "$COSI_KUSTOMIZATION"
    kubectl -n "$COSI_NAMESPACE" rollout status "deployment/$COSI_CONTROLLER" --timeout "$TIMEOUT"
    ;;
  seaweedfs)
    kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f -
    # A fresh admin identity per cluster; the driver and the suite read it
    # from the Secret.
    kubectl -n "$NAMESPACE" create secret generic seaweedfs-s3-secret \
      --from-literal=admin_access_key_id="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
      --from-literal=admin_secret_access_key="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    kubectl apply -f test/cluster/seaweedfs.yaml
    kubectl -n "$NAMESPACE" rollout status deployment/seaweedfs --timeout "$TIMEOUT"
    ;;
  image)
    make image IMAGE="$IMAGE" VERSION="$IMAGE_TAG"
    kind load docker-image --name "$CLUSTER" "$IMAGE:$IMAGE_TAG"
    ;;
  install)
    helm upgrade --install "$RELEASE" charts/cosi-seaweedfs --namespace "$NAMESPACE" \
      --values test/cluster/values.yaml --wait --timeout "$TIMEOUT"
    helm test "$RELEASE" --namespace "$NAMESPACE" --logs --timeout "$TIMEOUT"
    ;;
  e2e)
    e2e_env
    go test -count=1 -timeout 40m -v ./test/e2e/
    ;;
  recovery)
    e2e_env
    go test -count=1 -timeout 30m -v -run 'TestControllerAndDriverReplacedMidFlow|TestRestartChangesNothing' ./test/e2e/
    ;;
  logs)
    kubectl get pods,deployments,events -A -o wide || true
    kubectl get bucketclaims,bucketaccesses -A -o yaml || true
    kubectl get buckets -o yaml || true
    kubectl -n "$NAMESPACE" logs "deployment/$RELEASE" -c driver --tail=-1 || true
    kubectl -n "$NAMESPACE" logs "deployment/$RELEASE" -c objectstorage-sidecar --tail=-1 || true
    kubectl -n "$COSI_NAMESPACE" logs "deployment/$COSI_CONTROLLER" --tail=-1 || true
    kubectl -n "$NAMESPACE" logs deployment/seaweedfs --tail=500 || true
    ;;
  delete)
    kind delete cluster --name "$CLUSTER"
    ;;
  help|-h|--help)
    sed -n '2,/^set -euo/p' "$self" | sed -e '$d' -e 's/^# \{0,1\}//'
    ;;
  *)
    echo "kind.sh: unknown step $step (see test/cluster/kind.sh help)" >&2
    exit 2
    ;;
esac
