#!/usr/bin/env bash
# The steps of the release workflow (.github/workflows/release.yaml), one per
# call, for a tag vX.Y.Z; test/release runs each with stand-ins for docker,
# helm and git.
#
#   test/release/release.sh check  vX.Y.Z   the tag is Chart.yaml's version and appVersion, and CHANGELOG.md has it
#   test/release/release.sh images vX.Y.Z   build the driver for linux/amd64 and linux/arm64 and push IMAGE:X.Y.Z
#   test/release/release.sh chart  vX.Y.Z   package the chart and push it to oci://CHART_REGISTRY
#                                           (logged in as REGISTRY_USER with REGISTRY_TOKEN when set)
#
# IMAGE defaults to the chart's image.repository, so the chart's defaults name
# what the release pushes; CHART_REGISTRY to that registry's charts path.
set -euo pipefail
cd "$(dirname "$0")/../.."

step=${1:?usage: release.sh check|images|chart vX.Y.Z}
tag=${2:?usage: release.sh $step vX.Y.Z}
if [[ ! $tag =~ ^v([0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?)$ ]]; then
  echo "release: tag $tag is not vMAJOR.MINOR.PATCH[-PRE]" >&2
  exit 1
fi
version=${BASH_REMATCH[1]}
chart=charts/cosi-seaweedfs
HELM_BIN=${HELM_BIN:-bin/helm}
DOCKER_BIN=${DOCKER_BIN:-docker}

# chart_field prints a top-level field of Chart.yaml, unquoted.
chart_field() { sed -n "s/^$1: *\"\{0,1\}\([^\"]*\)\"\{0,1\} *$/\1/p" "$chart/Chart.yaml"; }
# The image the chart installs by default: image.repository in values.yaml.
default_image() { awk '/^image:/{f=1; next} f && /^  repository:/{print $2; exit}' "$chart/values.yaml"; }

IMAGE=${IMAGE:-$(default_image)}
CHART_REGISTRY=${CHART_REGISTRY:-${IMAGE%/*}/charts}

case $step in
  check)
    fail=0
    for f in version appVersion; do
      if [[ $(chart_field "$f") != "$version" ]]; then
        echo "release: $chart/Chart.yaml $f is $(chart_field "$f"), the tag $tag needs $version" >&2
        fail=1
      fi
    done
    if ! grep -q "^## \[$version\]" CHANGELOG.md; then
      echo "release: CHANGELOG.md has no section '## [$version]'" >&2
      fail=1
    fi
    exit $fail
    ;;
  images)
    # The Dockerfile cross-compiles in its build stage (BUILDPLATFORM →
    # TARGETARCH), so no emulation is needed for arm64.
    "$DOCKER_BIN" buildx build --platform linux/amd64,linux/arm64 \
      --build-arg VERSION="$tag" --build-arg REVISION="$(git rev-parse HEAD)" \
      -t "$IMAGE:$version" -f Dockerfile --push .
    ;;
  chart)
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    # The token goes to helm on standard input, never on a command line.
    if [[ -n ${REGISTRY_TOKEN:-} ]]; then
      printf '%s' "$REGISTRY_TOKEN" | "$HELM_BIN" registry login "${CHART_REGISTRY%%/*}" --username "${REGISTRY_USER:?REGISTRY_USER names the registry user}" --password-stdin
    fi
    "$HELM_BIN" package "$chart" --version "$version" --app-version "$version" --destination "$out"
    "$HELM_BIN" push "$out/cosi-seaweedfs-$version.tgz" "oci://$CHART_REGISTRY"
    ;;
  *)
    echo "release: unknown step $step (check, images, chart)" >&2
    exit 2
    ;;
esac
