#!/usr/bin/env bash
# Installs what mcuprune needs to build, test and run its demo on Debian 12.
# Idempotent: packages already installed are skipped; prints what it installs.
set -euo pipefail

# Debian packages the build, tests and demo need.
APT_PACKAGES=(
  build-essential cmake make pkg-config
  libtorch-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev
  googletest libgtest-dev
  libstb-dev
  zlib1g-dev
  dataset-fashion-mnist
  python3-torch
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#APT_PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: error: need root (or sudo) to install: ${missing[*]}" >&2
    echo "install-deps: run as root, or install those packages and re-run" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update -q; then
  echo "install-deps: error: 'apt-get update' failed; check the network/apt sources" >&2
  exit 1
fi
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  echo "install-deps: error: 'apt-get install' failed for: ${missing[*]}" >&2
  echo "install-deps: see apt's message above; on a non-Debian-12 system install the equivalents by hand" >&2
  exit 1
fi
echo "install-deps: done"
