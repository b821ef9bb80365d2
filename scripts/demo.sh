#!/usr/bin/env bash
# make demo: the main job, with no internet.
#
# Starts Debian's docker-registry on 127.0.0.1 holding a v1.20.2-shaped image set (the kubeadm images
# under google_containers/, aliyun style, and coreos/flannel), then does exactly what an operator does
# against real mirrors: `airgap build` with --image-repository and --mirror quay.io=..., then
# `airgap verify` and `airgap inspect` on the bundle it wrote into bundles/.
# Needs `make deps build` first (the Makefile's demo target does both).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIG=${CONFIG:-Release}
AIRGAP=$ROOT/src/Airgap.Cli/bin/$CONFIG/net10.0/airgap
TESTKIT=$ROOT/tests/Airgap.TestKit/bin/$CONFIG/net10.0/airgap-testkit
K8S=v1.20.2
OUTPUT=bundles

for bin in "$AIRGAP" "$TESTKIT"; do
  [[ -x $bin ]] || { echo "demo: $bin is missing; run 'make build' first" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/airgap-demo.XXXXXX")
REGISTRY_PID=""
cleanup() {
  local rc=$?
  if [[ -n $REGISTRY_PID ]] && kill -0 "$REGISTRY_PID" 2>/dev/null; then
    kill -TERM "$REGISTRY_PID" 2>/dev/null || true   # SIGTERM: the testkit then removes its registry
    wait "$REGISTRY_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints a command the way an operator would type it ("airgap" for the built binary), then runs it.
run() {
  local shown=("$@")
  [[ ${shown[0]} == "$AIRGAP" ]] && shown[0]=airgap
  printf '\n+'; printf ' %q' "${shown[@]}"; printf '\n'
  "$@"
}

section() { printf '\n== %s\n' "$*"; }

section "starting a local registry with a $K8S image set (stands in for registry.aliyuncs.com and a quay.io mirror)"
"$TESTKIT" registry --fill k8s-v1.20.2 --env-file "$WORK/registry.env" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
for ((i = 0; i < 600; i++)); do
  [[ -f $WORK/registry.env ]] && break
  if ! kill -0 "$REGISTRY_PID" 2>/dev/null; then
    echo "demo: the test registry exited before it was ready:" >&2
    cat "$WORK/registry.log" >&2
    exit 1
  fi
  sleep 0.2
done
[[ -f $WORK/registry.env ]] || { echo "demo: the test registry was not ready after 120 s" >&2; cat "$WORK/registry.log" >&2; exit 1; }

REGISTRY="" IMAGE_REPOSITORY="" FLANNEL_MANIFEST="" FLANNEL_IMAGE=""
while IFS='=' read -r key value; do
  case $key in
    REGISTRY | IMAGE_REPOSITORY | FLANNEL_MANIFEST | FLANNEL_IMAGE) printf -v "$key" '%s' "$value" ;;
  esac
done <"$WORK/registry.env"
echo "registry:          $REGISTRY"
echo "image repository:  $IMAGE_REPOSITORY   (kubeadm's images, flat names)"
echo "flannel manifest:  $FLANNEL_MANIFEST   (names $FLANNEL_IMAGE, pulled through --mirror quay.io=$REGISTRY)"

# A fresh cache, so every blob below is really pulled (an operator's builds share ~/.cache/airgap).
CACHE=$WORK/cache

# airgap also bundles kubeadm, kubelet, kubectl, crictl, CNI plugins, containerd and runc, from dl.k8s.io
# and GitHub releases (or --binaries-url / --github-mirror). This demo has no internet and no such mirror,
# so it bundles the images only.
# airgap also bundles kubeadm, kubelet, kubectl, crictl, CNI plugins, containerd and runc, from dl.k8s.io
# and GitHub releases (or --binaries-url / --github-mirror). This demo has no internet and no such mirror,
# so it bundles the images only.
EXTRA=(--no-binaries)
echo "binaries:          left out (--no-binaries): they come from dl.k8s.io and GitHub, out of reach here"

section "building the bundle"
cd "$ROOT"
run "$AIRGAP" build --k8s "$K8S" \
  --image-repository "$IMAGE_REPOSITORY" \
  --flannel-manifest "$FLANNEL_MANIFEST" \
  --mirror "quay.io=$REGISTRY" \
  --output "$OUTPUT" --cache-dir "$CACHE" "${EXTRA[@]}"

BUNDLE=$OUTPUT/airgap-k8s-$K8S-linux-amd64.tar
[[ -f $BUNDLE ]] || { echo "demo: airgap build succeeded but $BUNDLE is missing" >&2; exit 1; }

section "verifying it"
run "$AIRGAP" verify "$BUNDLE"

section "what is in it"
run "$AIRGAP" inspect "$BUNDLE"

size=$(stat -c %s "$BUNDLE")
cat <<EOF

== done
Built $BUNDLE ($(numfmt --to=iec-i --suffix=B "$size")): Kubernetes $K8S for linux/amd64,
the kubeadm images under the names kubeadm expects (k8s.gcr.io/...) plus Flannel and its manifest$([[ ${#EXTRA[@]} -gt 0 ]] && printf ' (no binaries)').
The test registry and the temporary cache are removed on exit; the bundle stays in $ROOT/$OUTPUT.

On the isolated host (as root):
  mkdir b && tar -xf $(basename "$BUNDLE") -C b && (cd b && sha256sum -c SHA256SUMS)
  tar -C b/images -cf - . | ctr -n k8s.io images import -
  kubectl apply -f b/manifests/kube-flannel.yml   # after kubeadm init
or let airgap do all of it, with a bundle built with --os <profile> by a published airgap
(make publish; the bundle then carries bin/airgap): see make e2e and the README:
  tar -xf BUNDLE.tar bin/airgap && ./bin/airgap install --bundle BUNDLE.tar --single-node

Against real mirrors, the same build is (add --binaries-url / --github-mirror where dl.k8s.io and
GitHub are out of reach):
  airgap build --k8s $K8S --image-repository registry.aliyuncs.com/google_containers \\
               --mirror quay.io=quay.mirrors.ustc.edu.cn
EOF
