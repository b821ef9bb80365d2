#!/usr/bin/env bash
# make e2e-parts: a split bundle deployed to the lab's air-gapped nodes without ever being joined.
# 1. the lab's fake internet; `airgap build --split-size 64M` (only parts and the index are left);
#    the upstream stopped;
# 2. nodes.sh up 2; `airgap cluster deploy` with bundle: NAME.tar.parts (node1 control plane, node2
#    worker); checks: both nodes Ready, every node's dist directory holds the parts and the index and
#    no .tar, the node's journal shows its install read the index;
# 3. a part with one flipped byte on the jump host: deploy again is refused in one line naming it;
# nodes down (also on failure).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIT=${KIT:-$(cd "$ROOT/../shared/lab" && pwd)}
export LAB_DIR=${LAB_DIR:-/var/cache/airgap-lab}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/airgap-e2e-parts.XXXXXX")
AIRGAP=$ROOT/dist/airgap-linux-amd64
T0=$SECONDS
step() { printf '\n[e2e-parts %4ds] %s\n' "$((SECONDS - T0))" "$*"; }
fail() {
  echo "e2e-parts: FAILED at step: $1" >&2
  [[ -n ${2:-} && -f $2 ]] && { echo "--- last lines of $2:" >&2; tail -40 "$2" >&2; }
  exit 1
}
cleanup() {
  local rc=$?
  set +e
  "$KIT/upstream.sh" stop >/dev/null 2>&1
  "$KIT/nodes.sh" down >"$WORK/nodes-down.log" 2>&1 || echo "e2e-parts: nodes.sh down failed, see $WORK/nodes-down.log" >&2
  [[ $rc -eq 0 ]] && rm -rf "$WORK" || echo "e2e-parts: logs kept in $WORK" >&2
  exit "$rc"
}
trap cleanup EXIT

[[ $(id -u) -eq 0 ]] || fail "must run as root (it starts the lab's node machines)"
[[ -x $AIRGAP ]] || fail "$AIRGAP is missing: run make publish"

step "lab: Kubernetes v1.20.2 build, upstream"
"$KIT/build-k8s.sh" >"$WORK/build-k8s.log" 2>&1 || fail "build-k8s.sh" "$WORK/build-k8s.log"
"$KIT/upstream.sh" start >"$WORK/upstream.log" 2>&1 || fail "upstream.sh start" "$WORK/upstream.log"
# shellcheck disable=SC1091
. "$LAB_DIR/upstream.env"
OS_MIRROR=$(grep -hoE '^URIs: +https?://[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -1)
[[ -n $OS_MIRROR ]] || OS_MIRROR=$(grep -hoE '^deb +https?://[^ ]+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1)
[[ -n $OS_MIRROR ]] || fail "cannot read the host's Debian mirror from its apt sources"

step "airgap build --split-size 64M"
CI=1 "$AIRGAP" build --k8s v1.20.2 --os debian-12 --cni flannel:v0.13.0 \
  --flannel-manifest "$LAB_FLANNEL_MANIFEST_URL" --flannel-manifest-sha256 526baa6f631ce5cb452117f49207350db60612dfcce9e475fe5f94075e98fd4b \
  --mirror "quay.io=$LAB_REGISTRY" --image-repository "$LAB_IMAGE_REPOSITORY" \
  --k8s-repo "$LAB_APT_URL" --k8s-repo-key "$LAB_APT_KEY" --os-mirror "$OS_MIRROR" \
  --binaries-url "$LAB_DL_URL" --github-mirror "$LAB_GITHUB_MIRROR" \
  --output "$WORK/out" --cache-dir "$WORK/cache" --split-size 64M >"$WORK/build.log" 2>&1 || fail "airgap build" "$WORK/build.log"
"$KIT/upstream.sh" stop >/dev/null 2>&1
rm -rf "$WORK/cache"
NAME=airgap-k8s-v1.20.2-linux-amd64.tar
INDEX=$WORK/out/$NAME.parts
[[ -f $INDEX && ! -e $WORK/out/$NAME ]] || fail "build --split-size did not leave only parts and an index" "$WORK/build.log"
PARTS=$(grep -c '^# part ' "$INDEX")
((PARTS >= 2)) || fail "the bundle made only $PARTS part"
(cd "$WORK/out" && sha256sum --strict -c "$NAME.parts" >"$WORK/sums.log" 2>&1) || fail "sha256sum -c of the index" "$WORK/sums.log"
echo "$PARTS parts: $(ls "$WORK/out" | tr '\n' ' ')"

step "lab nodes: 2 air-gapped machines"
"$KIT/nodes.sh" up 2 >"$WORK/nodes-up.log" 2>&1 || fail "nodes.sh up 2" "$WORK/nodes-up.log"
eval "$("$KIT/nodes.sh" env)"
read -r N1 N2 _ <<<"$LAB_NODES"
SSH=(-i "$LAB_NODE_SSH_KEY" -o UserKnownHostsFile="$LAB_NODE_KNOWN_HOSTS" -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10)
on() { local h=$1; shift; ssh "${SSH[@]}" "root@$h" "$@"; }
cat >"$WORK/cluster.yaml" <<YAML
name: parts
bundle: $INDEX
hosts:
  - {name: node1, address: $N1}
  - {name: node2, address: $N2}
roleGroups:
  controlPlane: [node1]
  worker: [node2]
network:
  podNetworkCidr: 10.244.0.0/16
  cni: flannel
ssh:
  privateKeyPath: $LAB_NODE_SSH_KEY
  knownHosts: $LAB_NODE_KNOWN_HOSTS
YAML

step "airgap cluster deploy from the parts"
"$AIRGAP" cluster deploy -f "$WORK/cluster.yaml" --kubeconfig "$WORK/admin.conf" >"$WORK/deploy.log" 2>&1 || fail "airgap cluster deploy" "$WORK/deploy.log"
for n in node1 node2; do
  kubectl --kubeconfig "$WORK/admin.conf" get node "$n" --no-headers | grep -qw Ready || fail "$n is not Ready"
done
for n in $N1 $N2; do
  on "$n" ls /var/lib/airgap/dist >"$WORK/dist-$n.txt"
  grep -qx "$NAME.parts" "$WORK/dist-$n.txt" || fail "$n has no index in /var/lib/airgap/dist" "$WORK/dist-$n.txt"
  [[ $(grep -c "^$NAME.part-[0-9]*$" "$WORK/dist-$n.txt") -eq $PARTS ]] || fail "$n does not have all $PARTS parts" "$WORK/dist-$n.txt"
  grep -qx "$NAME" "$WORK/dist-$n.txt" && fail "$n holds a joined $NAME" "$WORK/dist-$n.txt"
  on "$n" "cd /var/lib/airgap/dist && sha256sum --strict -c $NAME.parts" >/dev/null || fail "$n's parts do not match the index"
done
grep -q "bundle $NAME.part-001 sent" "$WORK/deploy.log" || fail "the deploy log does not show the parts being sent" "$WORK/deploy.log"
echo "both nodes Ready; each holds $(cat "$WORK/dist-$N1.txt" | tr '\n' ' ')"

step "a part with one flipped byte on the jump host is refused in one line"
part=$WORK/out/$NAME.part-002
printf '\x01' | dd of="$part" bs=1 seek=12345 conv=notrunc status=none
rc=0
"$AIRGAP" cluster deploy -f "$WORK/cluster.yaml" --kubeconfig "$WORK/admin.conf" >"$WORK/bad.out" 2>"$WORK/bad.err" || rc=$?
[[ $rc -ne 0 ]] || fail "a deploy with a damaged part succeeded"
[[ $(grep -c '^error: ' "$WORK/bad.err") -eq 1 ]] || fail "a damaged part did not give exactly one error line" "$WORK/bad.err"
grep '^error: ' "$WORK/bad.err" | grep -qF "part $part has sha256" || fail "the error does not name $part" "$WORK/bad.err"
grep '^error: ' "$WORK/bad.err"

step "done"
