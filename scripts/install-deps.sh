#!/usr/bin/env bash
# Installs what mcuprune needs to build, test and run its demo on Debian 12.
# Idempotent: packages already installed are skipped; prints what it installs.
set -euo pipefail

# Debian packages the build, tests and demo need.
APT_PACKAGES=(
  build-essential cmake make pkg-config
  libtorch-dev libgloo-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev
  googletest libgtest-dev
  libstb-dev
  zlib1g-dev
  dataset-fashion-mnist
  python3-torch
  libflatbuffers-dev
  libonnx-dev libprotobuf-dev
  libarmnntfliteparser-dev libarmnn-cpuref-backend22
  gnuplot-nox
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
  strace
  clang libclang-rt-14-dev
  libsndfile1-dev libsamplerate0-dev libzip-dev libfftw3-dev libssl-dev
  espeak-ng sox
  chromium
)
# Node.js and npm run the ONNX verification (onnxruntime-node from the npm registry).
# Only installed from apt when no `node`/`npm` is on PATH (a NodeSource install counts).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  APT_PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

install_apt() {
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
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#APT_PACKAGES[@]} packages already installed"
else
  install_apt
fi

# onnxruntime-node, pinned by tools/ort/package-lock.json. ONNXRUNTIME_NODE_INSTALL=skip:
# the CPU runtime ships in the package; its install step would only try a download.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORT_DIR="$ROOT/tools/ort"
if [ -f "$ORT_DIR/node_modules/onnxruntime-node/package.json" ]; then
  echo "install-deps: onnxruntime-node already installed in tools/ort"
else
  echo "install-deps: installing onnxruntime-node into tools/ort (npm registry)"
  if ! (cd "$ORT_DIR" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund); then
    echo "install-deps: error: 'npm ci' failed in tools/ort; check access to the npm registry" >&2
    exit 1
  fi
fi
# The report pages' chart library (Apache ECharts, compiled into the binary) and the browser
# driver of their test (playwright-core, which drives Debian's chromium), pinned by
# tools/report/package-lock.json. No browser is downloaded.
REPORT_DIR="$ROOT/tools/report"
if [ -f "$REPORT_DIR/node_modules/echarts/dist/echarts.min.js" ] && [ -f "$REPORT_DIR/node_modules/playwright-core/package.json" ]; then
  echo "install-deps: echarts and playwright-core already installed in tools/report"
else
  echo "install-deps: installing echarts and playwright-core into tools/report (npm registry)"
  if ! (cd "$REPORT_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund); then
    echo "install-deps: error: 'npm ci' failed in tools/report; check access to the npm registry" >&2
    exit 1
  fi
fi
echo "install-deps: done"
