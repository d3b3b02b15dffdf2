#!/usr/bin/env bash
# Makes sure protoc, which make generate (and the check of make lint that the
# generated code is current) runs, is installed: the distribution's
# protobuf-compiler. Installs it with apt-get when it is missing; says what to
# do and exits 1 when it cannot (not root, no apt-get).
set -euo pipefail

command -v protoc >/dev/null && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "protoc missing: install it as root: sudo apt-get install -y protobuf-compiler" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "protoc missing; no apt-get here: install protoc (protobuf-compiler) with the system's package manager" >&2
  exit 1
fi
echo "installing protobuf-compiler (apt-get)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends protobuf-compiler
