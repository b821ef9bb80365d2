#!/usr/bin/env bash
# Delta bundles on the lab's two releases: v1.20.2 in full, v1.20.15 in full, and v1.20.15 as a delta of
# v1.20.2 (airgap build --since), each built as e2e-cluster builds them (Flannel v0.13.0, debian-12 packages,
# binaries, the lab workload image); then verify and push of base + delta against verify and push of the
# full v1.20.15 bundle. Prints a Markdown section for bench/results.md.
# Uses the lab's upstream (shared state): run it as `flock /run/lock/airgap-lab.lock bench/delta.sh` when others share the lab, as root.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIT=${KIT:-$(cd "$ROOT/../shared/lab" && pwd)}
export LAB_DIR=${LAB_DIR:-/var/cache/airgap-lab}
AIRGAP=${AIRGAP:-$ROOT/src/Airgap.Cli/bin/Release/net10.0/airgap}
TESTKIT=${TESTKIT:-$ROOT/tests/Airgap.TestKit/bin/Release/net10.0/airgap-testkit}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/airgap-bench-delta.XXXXXX")
die() { echo "delta.sh: $*" >&2; exit 1; }
cleanup() {
  local rc=$?
  set +e
  "$KIT/upstream.sh" stop >/dev/null 2>&1
  [[ $rc -eq 0 ]] && rm -rf "$WORK" || echo "delta.sh: logs kept in $WORK" >&2
  exit "$rc"
}
trap cleanup EXIT
[[ -x $AIRGAP ]] || die "$AIRGAP is missing: run make build"

"$KIT/build-k8s.sh" >"$WORK/build-k8s.log" 2>&1 || die "build-k8s.sh failed, see $WORK/build-k8s.log"
"$KIT/upstream.sh" start >"$WORK/upstream.log" 2>&1 || die "upstream.sh start failed, see $WORK/upstream.log"
# shellcheck disable=SC1091
. "$LAB_DIR/upstream.env"
OS_MIRROR=$(grep -hoE '^URIs: +https?://[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -1)
[[ -n $OS_MIRROR ]] || OS_MIRROR=$(grep -hoE '^deb +https?://[^ ]+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1)
[[ -n $OS_MIRROR ]] || die "cannot read the host's Debian mirror from its apt sources"

ARGS=(--os debian-12 --cni flannel:v0.13.0
  --flannel-manifest "$LAB_FLANNEL_MANIFEST_URL" --flannel-manifest-sha256 526baa6f631ce5cb452117f49207350db60612dfcce9e475fe5f94075e98fd4b
  --mirror "quay.io=$LAB_REGISTRY" --image-repository "$LAB_IMAGE_REPOSITORY" --image "$LAB_WORKLOAD_IMAGE"
  --k8s-repo "$LAB_APT_URL" --k8s-repo-key "$LAB_APT_KEY" --os-mirror "$OS_MIRROR"
  --binaries-url "$LAB_DL_URL" --github-mirror "$LAB_GITHUB_MIRROR")

# timed NAME CMD…: runs CMD with its output in $WORK/NAME.log; sets SECS.
timed() {
  local name=$1; shift
  local start=$SECONDS
  CI=1 "$@" >"$WORK/$name.log" 2>&1 || { tail -n 30 "$WORK/$name.log" >&2; die "$name failed"; }
  SECS=$((SECONDS - start))
}

timed old "$AIRGAP" build --k8s "$LAB_UPGRADE_FROM" "${ARGS[@]}" --output "$WORK/old" --cache-dir "$WORK/cache"
OLD=$WORK/old/airgap-k8s-$LAB_UPGRADE_FROM-linux-amd64.tar
timed new "$AIRGAP" build --k8s "$LAB_UPGRADE_TO" "${ARGS[@]}" --output "$WORK/new" --cache-dir "$WORK/cache"
NEW=$WORK/new/airgap-k8s-$LAB_UPGRADE_TO-linux-amd64.tar
# The delta with a cache of its own: what it downloads is what the base does not have.
timed delta "$AIRGAP" build --k8s "$LAB_UPGRADE_TO" "${ARGS[@]}" --since "$OLD" --output "$WORK/delta" --cache-dir "$WORK/delta-cache"
DELTA_BUILD=$SECS
DELTA=$WORK/delta/airgap-k8s-$LAB_UPGRADE_TO-linux-amd64.tar
DELTA_CACHE=$(du -sb "$WORK/delta-cache" | cut -f1)
NEW_CACHE=$(du -sb "$WORK/cache" | cut -f1)

timed verify-full "$AIRGAP" verify "$NEW"; VERIFY_FULL=$SECS
timed verify-delta "$AIRGAP" verify "$DELTA" --base "$OLD"; VERIFY_DELTA=$SECS

# Push both into empty registries (the test kit's docker-registry) and compare the names and digests pushed.
push_digests() { "$AIRGAP" push "$@" -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); print("\n".join(sorted(i["name"]+" "+i["digest"] for i in d["images"])))'; }
digests_of() {
  local name=$1; shift
  "$TESTKIT" registry --env-file "$WORK/$name.env" >"$WORK/$name.registry.log" 2>&1 &
  local pid=$! i
  for ((i = 0; i < 600; i++)); do [[ -s $WORK/$name.env ]] && break; sleep 0.1; done
  local registry
  registry=$(sed -n 's/^REGISTRY=//p' "$WORK/$name.env")
  [[ -n $registry ]] || { kill "$pid"; die "test kit registry $name did not start"; }
  push_digests "$@" --registry "$registry/site"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
[[ -x $TESTKIT ]] || die "$TESTKIT is missing: run make build"
FULL_PUSH=$(digests_of push-full "$NEW")
DELTA_PUSH=$(digests_of push-delta "$DELTA" --base "$OLD")
SAME_PUSH=$([[ -n $FULL_PUSH && $FULL_PUSH == "$DELTA_PUSH" ]] && echo "yes ($(wc -l <<<"$FULL_PUSH") images)" || echo NO)

members() { "$AIRGAP" inspect "$1" -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["files"], d.get("fromBase", 0))'; }
read -r NEW_FILES _ <<<"$(members "$NEW")"
read -r _ FROM_BASE <<<"$(members "$DELTA")"
size() { stat -c %s "$1"; }
mib() { python3 -c "print(f'{$1/1048576:.1f}')"; }
HELD=$(tar -tf "$DELTA" | grep -vcE '^(bundle.yaml|SHA256SUMS)$')

cat <<EOF
### Delta bundles: $LAB_UPGRADE_FROM → $LAB_UPGRADE_TO on the lab (\`bench/delta.sh\`, $(date -u +%Y-%m-%d))

Each bundle built as e2e-cluster builds it: \`airgap build --k8s VERSION --os debian-12 --cni flannel:v0.13.0
--flannel-manifest … --mirror quay.io=\$LAB_REGISTRY --image-repository \$LAB_IMAGE_REPOSITORY --image \$LAB_WORKLOAD_IMAGE
--k8s-repo \$LAB_APT_URL --k8s-repo-key … --os-mirror … --binaries-url \$LAB_DL_URL --github-mirror \$LAB_GITHUB_MIRROR\`
(no bin/airgap in any of them: the Release build has no self-contained installer beside it); the delta adds
\`--since $(basename "$OLD")\` and has a cache of its own.

| | size | members |
|---|---|---|
| $(basename "$OLD") (full) | $(mib "$(size "$OLD")") MiB | |
| $(basename "$NEW") (full) | $(mib "$(size "$NEW")") MiB | $NEW_FILES |
| $(basename "$NEW") as a delta of $LAB_UPGRADE_FROM | **$(mib "$(size "$DELTA")") MiB** ($(python3 -c "print(f'{100*$(size "$DELTA")/$(size "$NEW"):.1f}')") % of the full) | $HELD held, $FROM_BASE left to the base |

- Delta build with an empty cache: ${DELTA_BUILD} s; it downloaded $(mib "$DELTA_CACHE") MiB into its cache
  (the full $LAB_UPGRADE_TO build's cache, shared with $LAB_UPGRADE_FROM's: $(mib "$NEW_CACHE") MiB). Image layers, configs, binaries and apt packages the base holds are not downloaded.
- \`airgap verify\` of the full $LAB_UPGRADE_TO bundle: ${VERIFY_FULL} s; of the delta with \`--base\`: ${VERIFY_DELTA} s (it hashes the same members).
- \`airgap push\` into an empty registry, full bundle vs base + delta: same names and digests: ${SAME_PUSH}.
EOF
