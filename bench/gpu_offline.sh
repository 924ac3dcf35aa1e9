#!/usr/bin/env bash
# bench/gpu_check.sh on a GPU machine that cannot install packages (no network, not Debian):
# everything the build needs besides LibTorch travels in .gpudeps/ (git ignores it).
#
#   bench/gpu_offline.sh prepare        here, on Debian 12 with apt: downloads the build's
#                                       libraries and headers (.deb, unpacked, no static
#                                       libraries), Fashion-MNIST with its training set cut to
#                                       10,000 samples (to travel light; the test set whole) and
#                                       the report pages' chart library into .gpudeps/
#   bench/gpu_offline.sh run [python]   there: points CMake, pkg-config, the loader and
#                                       MCUPRUNE_DATA at .gpudeps/ and runs bench/gpu_check.sh
#                                       with that python's CUDA torch (default: python3)
# env (run): OUT (a folder that receives the logs and results), and gpu_check.sh's.
set -euo pipefail
cd "$(dirname "$0")/.."
D="$PWD/.gpudeps"
LIB=usr/lib/x86_64-linux-gnu
PACKAGES=(libonnx-dev libonnx1 libonnxifi libprotobuf-dev libprotobuf32 libflatbuffers-dev libflatbuffers2 nlohmann-json3-dev
  libcli11-dev libstb-dev libsndfile1-dev libsndfile1 libflac-dev libflac12 libogg-dev libogg0 libvorbis-dev
  libvorbis0a libvorbisenc2 libopus-dev libopus0 libmpg123-dev libmpg123-0 libmp3lame-dev libmp3lame0
  libsamplerate0-dev libsamplerate0 libfftw3-dev libfftw3-double3 libzip-dev libzip4 libssl-dev libssl3
  zlib1g-dev zlib1g libbz2-1.0 pkgconf pkgconf-bin libpkgconf3)

prepare() {
  rm -rf "$D"
  mkdir -p "$D/debs" "$D/root" "$D/gloo" "$D/data/fashion-mnist" "$D/report"
  (cd "$D/debs" && apt-get download "${PACKAGES[@]}" libgloo-dev)
  for f in "$D"/debs/*.deb; do
    case "$f" in *libgloo-dev*) dpkg -x "$f" "$D/gloo" ;; *) dpkg -x "$f" "$D/root" ;; esac
  done
  rm -rf "$D/debs" "$D"/root/usr/share/{doc,man,info,lintian} "$D/gloo/usr/share"
  # Static libraries stay out, but for those that FlatBuffers' and ONNX's CMake targets name.
  find "$D" -name '*.a' ! -name libflatbuffers.a ! -name libonnxifi_loader.a -delete
  # Absolute links (libz.so -> /lib/...) would point outside the tree there.
  find "$D/root" -type l | while read -r l; do
    t=$(readlink "$l")
    if [[ "$t" == /* ]]; then ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$D/root$t")" "$l"; fi
  done
  /usr/bin/python3 - "$D/data/fashion-mnist" <<'PY'
import gzip, shutil, struct, sys
src, dst, n = "/usr/share/datasets/fashion-mnist/", sys.argv[1] + "/", 10000
for name, head in (("train-images-idx3-ubyte.gz", 16), ("train-labels-idx1-ubyte.gz", 8)):
    b = gzip.open(src + name).read()
    dims = struct.unpack(">%dI" % (head // 4), b[:head])
    size = 1
    for d in dims[2:]: size *= d
    gzip.open(dst + name, "wb").write(struct.pack(">%dI" % (head // 4), dims[0], n, *dims[2:]) + b[head:head + n * size])
for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
    shutil.copy(src + name, dst + name)
PY
  (cd tools/report/node_modules && for f in echarts/dist/echarts.common.min.js echarts/package.json echarts/LICENSE \
      echarts/NOTICE echarts/licenses/LICENSE-d3 zrender/LICENSE tslib/LICENSE.txt; do
     mkdir -p "$D/report/$(dirname "$f")" && cp "$f" "$D/report/$f"; done)
  du -sh "$D"
}

run() {
  local py="${1:-python3}" out="${OUT:-$PWD/bench/work/gpu_offline}"
  [ -d "$D/root" ] || { echo "gpu_offline: $D missing: run 'bench/gpu_offline.sh prepare' where apt works" >&2; exit 1; }
  mkdir -p "$out" tools/report/node_modules
  cp -r "$D"/report/* tools/report/node_modules/
  [ -x /usr/bin/python3 ] || ln -s "$(command -v "$py")" /usr/bin/python3  # the CLI tests' JSON reader
  export LD_LIBRARY_PATH="$D/root/$LIB:$D/root/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export PKG_CONFIG_LIBDIR="$D/root/$LIB/pkgconfig:$D/root/usr/share/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D/root"
  command -v pkg-config > /dev/null || export PKG_CONFIG="$D/root/usr/bin/pkgconf"
  export MCUPRUNE_DATA="$D/data"
  export CMAKE_EXTRA="-DBUILD_TESTING=OFF -DMCUPRUNE_WITH_VERIFIERS=OFF -DGLOO_FALLBACK_DIR=$D/gloo/usr/include"
  export CMAKE_DEPS_PREFIX="$D/root/usr"
  { nvidia-smi || true; "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'; uname -a
    grep PRETTY /etc/os-release || true; cmake --version | head -1; c++ --version | head -1; nproc; } > "$out/machine.txt" 2>&1
  local rc=0
  BUILD_LOG="$out/build.log" bash bench/gpu_check.sh "$py" > "$out/gpu_check.log" 2>&1 || rc=$?
  cp bench/results/gpu_check.md bench/results/gpu_check.json bench/results/gpu_prune_speed.md "$out/" 2> /dev/null || true
  tail -40 "$out/gpu_check.log"
  return $rc
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) echo "usage: bench/gpu_offline.sh prepare | run [python]" >&2; exit 2 ;;
esac
