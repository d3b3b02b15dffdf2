#!/usr/bin/env bash
# Makes sure the container runtime the node tests run (test/node) is
# installed: containerd, runc and the CNI plugins from the distribution's
# packages. Installs them with apt-get when they are missing; says what to do
# and exits 1 when it cannot (not root, no apt-get).
set -euo pipefail

missing=()
command -v containerd >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
command -v ctr >/dev/null || missing+=(containerd)
for p in bridge host-local loopback portmap; do
  [[ -x /usr/lib/cni/$p ]] || { missing+=(containernetworking-plugins); break; }
done
command -v nsenter >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || missing+=(iproute2)
command -v iptables >/dev/null || missing+=(iptables)
# The SeaweedFS chart's image runs weed from a shell script (test/pods).
[[ -x /bin/busybox ]] || missing+=(busybox-static)
[[ ${#missing[@]} -eq 0 ]] && exit 0

mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
if [[ $(id -u) -ne 0 ]]; then
  echo "node packages missing: ${pkgs[*]}; the node tests need root: run as root, or install them: sudo apt-get install -y ${pkgs[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "node packages missing: ${pkgs[*]}; no apt-get here: install containerd, runc and the CNI plugins (bridge, host-local, loopback, portmap in /usr/lib/cni) with the system's package manager" >&2
  exit 1
fi
echo "installing ${pkgs[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
