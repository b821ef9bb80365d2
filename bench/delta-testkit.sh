#!/usr/bin/env bash
# Delta bundles without the lab: the test kit's registry (the kubeadm v1.20.2 set, MB MiB of incompressible
# data per image) and a dl.k8s.io/GitHub-shaped file server with binaries of v1.20-like sizes. The old build
# has no Flannel (--cni none) and containerd 1.4.3 / runc rc92; the new one adds Flannel (one image) and
# takes containerd 1.4.4 / runc rc93 (two binaries). Then new in full, new as a delta of old (own cache),
# verify and push of both. Prints a Markdown section for bench/results.md. Needs `make build`.
#   bench/delta-testkit.sh [MB]     (default 20)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MB=${1:-20}
AIRGAP=${AIRGAP:-$ROOT/src/Airgap.Cli/bin/Release/net10.0/airgap}
TESTKIT=${TESTKIT:-$ROOT/tests/Airgap.TestKit/bin/Release/net10.0/airgap-testkit}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/airgap-bench-delta-tk.XXXXXX")
declare -a PIDS=()
die() { echo "delta-testkit.sh: $*" >&2; exit 1; }
cleanup() {
  local rc=$? pid
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  [[ $rc -eq 0 ]] && rm -rf "$WORK" || echo "delta-testkit.sh: logs kept in $WORK" >&2
  exit "$rc"
}
trap cleanup EXIT
for bin in "$AIRGAP" "$TESTKIT"; do [[ -x $bin ]] || die "$bin is missing; run make build"; done

# serve NAME ARGS…: a test kit server in the background; its env file's variables become NAME_VAR.
serve() {
  local name=$1 i key value; shift
  "$TESTKIT" "$@" --env-file "$WORK/$name.env" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  for ((i = 0; i < 3000; i++)); do [[ -s $WORK/$name.env ]] && break; sleep 0.1; done
  [[ -s $WORK/$name.env ]] || { cat "$WORK/$name.log" >&2; die "test kit $name did not start"; }
  while IFS='=' read -r key value; do printf -v "${name}_$key" '%s' "$value"; done <"$WORK/$name.env"
}

# Binaries at about v1.20's sizes (MiB), random bytes each, published with a .sha256 beside them.
publish() { # publish RELATIVE MIB
  local path=$WORK/www/$1
  mkdir -p "$(dirname "$path")"
  head -c "$(($2 * 1048576))" /dev/urandom >"$path"
  (cd "$(dirname "$path")" && sha256sum "$(basename "$path")" >"$(basename "$path").sha256")
}
publish release/v1.20.2/bin/linux/amd64/kubeadm 38
publish release/v1.20.2/bin/linux/amd64/kubelet 108
publish release/v1.20.2/bin/linux/amd64/kubectl 39
publish github/kubernetes-sigs/cri-tools/releases/download/v1.20.0/crictl-v1.20.0-linux-amd64.tar.gz 14
publish github/containernetworking/plugins/releases/download/v0.8.7/cni-plugins-linux-amd64-v0.8.7.tgz 37
publish github/containerd/containerd/releases/download/v1.4.3/containerd-1.4.3-linux-amd64.tar.gz 30
publish github/containerd/containerd/releases/download/v1.4.4/containerd-1.4.4-linux-amd64.tar.gz 30
publish github/opencontainers/runc/releases/download/v1.0.0-rc92/runc.amd64 10
publish github/opencontainers/runc/releases/download/v1.0.0-rc93/runc.amd64 10

serve reg registry --fill k8s-v1.20.2 --extra-layer-mb "$MB"
serve www http --root "$WORK/www"
COMMON=(--k8s v1.20.2 --image-repository "$reg_IMAGE_REPOSITORY" --mirror "quay.io=$reg_REGISTRY"
  --binaries-url "$www_HTTP_BASE" --github-mirror "$www_HTTP_BASE/github")
NEWER=(--flannel-manifest "$reg_FLANNEL_MANIFEST" --containerd-version 1.4.4 --runc-version v1.0.0-rc93)

timed() { # timed NAME CMD…: sets SECS
  local name=$1; shift
  local start=$SECONDS
  CI=1 "$@" >"$WORK/$name.log" 2>&1 || { tail -n 30 "$WORK/$name.log" >&2; die "$name failed"; }
  SECS=$((SECONDS - start))
}
timed old "$AIRGAP" build "${COMMON[@]}" --cni none --output "$WORK/old" --cache-dir "$WORK/cache"
OLD=$WORK/old/airgap-k8s-v1.20.2-linux-amd64.tar
timed new "$AIRGAP" build "${COMMON[@]}" "${NEWER[@]}" --output "$WORK/new" --cache-dir "$WORK/cache"; NEW_BUILD=$SECS
NEW=$WORK/new/airgap-k8s-v1.20.2-linux-amd64.tar
timed delta "$AIRGAP" build "${COMMON[@]}" "${NEWER[@]}" --since "$OLD" --output "$WORK/delta" --cache-dir "$WORK/delta-cache"; DELTA_BUILD=$SECS
DELTA=$WORK/delta/airgap-k8s-v1.20.2-linux-amd64.tar
timed verify-full "$AIRGAP" verify "$NEW"; VERIFY_FULL=$SECS
timed verify-delta "$AIRGAP" verify "$DELTA" --base "$OLD"; VERIFY_DELTA=$SECS

push_digests() { "$AIRGAP" push "$@" -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); print("\n".join(sorted(i["name"]+" "+i["digest"] for i in d["images"])))'; }
serve full registry
serve part registry
FULL_PUSH=$(push_digests "$NEW" --registry "$full_REGISTRY/site")
DELTA_PUSH=$(push_digests "$DELTA" --base "$OLD" --registry "$part_REGISTRY/site")
SAME_PUSH=$([[ -n $FULL_PUSH && $FULL_PUSH == "$DELTA_PUSH" ]] && echo "yes, $(wc -l <<<"$FULL_PUSH") images" || echo NO)

size() { stat -c %s "$1"; }
mib() { python3 -c "print(f'{$1/1048576:.1f}')"; }
FROM_BASE=$("$AIRGAP" inspect "$DELTA" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["fromBase"])')
FILES=$("$AIRGAP" inspect "$NEW" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"])')
HELD=$(tar -tf "$DELTA" | grep -vcE '^(bundle.yaml|SHA256SUMS)$')

cat <<EOF
### Delta bundles on test-kit builds (\`bench/delta-testkit.sh $MB\`, $(date -u +%Y-%m-%d))

The test kit's registry with the kubeadm v1.20.2 set ($MB MiB of incompressible data per image) and a
dl.k8s.io/GitHub-shaped server with binaries of v1.20-like sizes (random bytes). Old: \`--cni none\`,
containerd 1.4.3, runc rc92. New: Flannel added (one image), containerd 1.4.4 and runc rc93 (two binaries).
Delta: the new build with \`--since OLD\` and an empty cache of its own.

| | size | members |
|---|---|---|
| old (full) | $(mib "$(size "$OLD")") MiB | |
| new (full) | $(mib "$(size "$NEW")") MiB | $FILES |
| new as a delta of old | **$(mib "$(size "$DELTA")") MiB** ($(python3 -c "print(f'{100*$(size "$DELTA")/$(size "$NEW"):.1f}')") % of the full) | $HELD held, $FROM_BASE left to the base |

- Build of the new bundle in full (cache warm from the old build): ${NEW_BUILD} s; as a delta with an empty cache: ${DELTA_BUILD} s,
  which downloaded $(mib "$(du -sb "$WORK/delta-cache" | cut -f1)") MiB (the full build's cache holds $(mib "$(du -sb "$WORK/cache" | cut -f1)") MiB for both).
- \`airgap verify\` of the full bundle: ${VERIFY_FULL} s; of the delta with \`--base\`: ${VERIFY_DELTA} s (the same members hashed).
- \`airgap push\` into an empty registry, full bundle vs base + delta, same names and digests: ${SAME_PUSH}.
EOF
