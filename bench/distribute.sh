#!/usr/bin/env bash
# bench/distribute.sh BUNDLE: how long one bundle takes to reach N lab nodes through the cluster deploy's
# distribute phase, over a jump-host link shaped to DIST_MBS, against that link's limit. Writes its section
# of bench/results.md (between <!-- distribution:start --> and <!-- distribution:end -->).
#
# The nodes (../shared/lab/nodes.sh) are reached over SSH; the HTTP shaping proxy cannot carry SSH, so the
# test kit's proxy runs in TCP mode: one loopback port per node (127.0.0.1:P -> 10.90.0.1x:22), all sharing
# one DIST_MBS cap per direction, i.e. the jump host's uplink. cluster.yaml names each node by its proxy port,
# and known_hosts carries each node's real host key under [127.0.0.1]:P, so host keys are still verified.
# Node-to-node traffic would not cross that link (it does not pass the proxy), as on a real site.
#
# Runs under `flock $LAB_LOCK` (default /run/lock/airgap-lab.lock; taken here, so other users of the lab wait) and always ends with `nodes.sh down`.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIG=${CONFIG:-Release}
AIRGAP=$ROOT/src/Airgap.Cli/bin/$CONFIG/net10.0/airgap
TESTKIT=$ROOT/tests/Airgap.TestKit/bin/$CONFIG/net10.0/airgap-testkit
KIT=$(cd "$ROOT/../shared/lab" && pwd)
RESULTS=$ROOT/bench/results.md
BUNDLE=${1:?usage: bench/distribute.sh BUNDLE (built with bin/airgap: make publish first)}
DIST_NODES=${DIST_NODES:-4}
DIST_MBS=${DIST_MBS:-40}   # MB/s (10^6 bytes) the jump host's link carries, all nodes together
RUNS=${RUNS:-3}
LOCK=${LAB_LOCK:-/run/lock/airgap-lab.lock}  # waited for up to LAB_WAIT (1200) s

log() { printf '[distribute %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Take the lab lock for the whole run (re-exec under flock), unless already holding it.
if [[ ${DIST_LOCKED:-} != 1 ]]; then
  log "waiting for $LOCK"
  DIST_LOCKED=1 exec flock -w "${LAB_WAIT:-1200}" "$LOCK" bash "$0" "$@"
fi

WORK=$(mktemp -d /tmp/airgap-distribute.XXXXXX)
PROXY_PID=
cleanup() {
  local rc=$?
  [[ -n $PROXY_PID ]] && { kill -TERM "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; }
  "$KIT/nodes.sh" down >"$WORK/down.log" 2>&1 || log "nodes.sh down failed: $(tail -n 3 "$WORK/down.log")"
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

part_start=$(date +%s)
up_start=$(date +%s)
"$KIT/nodes.sh" up "$DIST_NODES" >"$WORK/up.log" 2>&1 || { tail -n 20 "$WORK/up.log" >&2; die "nodes.sh up $DIST_NODES"; }
UP_S=$(($(date +%s) - up_start))
eval "$("$KIT/nodes.sh" env)"
read -ra IPS <<<"$LAB_NODES"
log "nodes up in ${UP_S}s: ${IPS[*]}"

targets=$(printf '%s:22,' "${IPS[@]}")
"$TESTKIT" shape --tcp true --target "${targets%,}" --total-mb-s "$DIST_MBS" --env-file "$WORK/shape.env" >"$WORK/shape.log" 2>&1 &
PROXY_PID=$!
for ((i = 0; i < 100; i++)); do [[ -f $WORK/shape.env ]] && break; sleep 0.1; done
[[ -f $WORK/shape.env ]] || die "shaping proxy did not start: $(cat "$WORK/shape.log")"
read -ra PORTS <<<"$(sed -n 's/^PROXIES=//p' "$WORK/shape.env" | sed 's/127\.0\.0\.1://g')"

: >"$WORK/known_hosts"
hosts=""
for i in "${!IPS[@]}"; do
  awk -v ip="${IPS[$i]}" -v p="${PORTS[$i]}" '$1 == ip { $1 = "[127.0.0.1]:" p; print }' "$LAB_NODE_KNOWN_HOSTS" >>"$WORK/known_hosts"
  hosts+="  - {name: node$((i + 1)), address: 127.0.0.1, port: ${PORTS[$i]}}"$'\n'
done
cat >"$WORK/cluster.yaml" <<YAML
name: bench
bundle: $BUNDLE
hosts:
${hosts}roleGroups:
  controlPlane: [node1]
  worker: [$(seq -s ', ' -f 'node%g' 2 "$DIST_NODES")]
controlPlaneEndpoint:
  loadBalancer: builtin
network:
  podNetworkCidr: 10.244.0.0/16
  cni: flannel
ssh:
  privateKeyPath: $LAB_NODE_SSH_KEY
  knownHosts: $WORK/known_hosts
YAML

SKIP=preflight,load-balancer,init,control-planes,settle,workers,kubeconfig,ready
BUNDLE_BYTES=$(stat -c %s "$BUNDLE")
INSTALLER_BYTES=$(tar -tvf "$BUNDLE" bin/airgap | awk '{ print $3 }')
WALLS=() PHASES=()
for ((run = 1; run <= RUNS; run++)); do
  for ip in "${IPS[@]}"; do
    ssh -i "$LAB_NODE_SSH_KEY" -o UserKnownHostsFile="$LAB_NODE_KNOWN_HOSTS" -o StrictHostKeyChecking=yes -o BatchMode=yes \
      "root@$ip" 'rm -rf /var/lib/airgap/dist' || die "clearing node $ip"
  done
  start=$EPOCHREALTIME
  "$AIRGAP" cluster deploy -f "$WORK/cluster.yaml" --skip-phases "$SKIP" -o json >"$WORK/deploy.$run.json" 2>"$WORK/deploy.$run.log" ||
    { tail -n 20 "$WORK/deploy.$run.log" >&2; die "cluster deploy (distribute) failed"; }
  WALLS+=("$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')")
  PHASES+=("$(jq -r '.phases[] | select(.phase == "distribute") | .seconds' "$WORK/deploy.$run.json" | awk '{ printf "%.1f", $1 }')")
  log "run $run: distribute ${PHASES[-1]}s (whole command ${WALLS[-1]}s)"
done
kill -TERM "$PROXY_PID" 2>/dev/null || true
wait "$PROXY_PID" 2>/dev/null || true
PROXY_PID=
sed -n 's/^/    /p' "$WORK/shape.log" | grep -v -e '^    ready' -e '^    stopping' >"$WORK/proxy.txt" || true

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
MED=$(median "${PHASES[@]}")
LO=$(printf '%s\n' "${PHASES[@]}" | sort -g | head -1) HI=$(printf '%s\n' "${PHASES[@]}" | sort -g | tail -1)
# Through one link, parallel streams from the jump host cannot beat N copies of everything ÷ the link;
# nodes passing the bundle on to each other could approach one copy ÷ the link.
PER_NODE=$((BUNDLE_BYTES + INSTALLER_BYTES))
LIMIT_STREAMS=$(awk -v b="$PER_NODE" -v n="$DIST_NODES" -v r="$DIST_MBS" 'BEGIN { printf "%.1f", b * n / (r * 1e6) }')
LIMIT_RELAY=$(awk -v b="$PER_NODE" -v r="$DIST_MBS" 'BEGIN { printf "%.1f", b / (r * 1e6) }')
R_STREAMS=$(awk -v m="$MED" -v l="$LIMIT_STREAMS" 'BEGIN { printf "%.2f", m / l }')
R_RELAY=$(awk -v m="$MED" -v l="$LIMIT_RELAY" 'BEGIN { printf "%.2f", m / l }')
PART_S=$(($(date +%s) - part_start))

section=$WORK/section.md
cat >"$section" <<EOF
<!-- distribution:start -->
## Distribution: one bundle onto $DIST_NODES lab nodes (bench/distribute.sh)

Produced by \`bash bench/distribute.sh BUNDLE\` (make bench with DISTRIBUTION=1) on $(date -u '+%Y-%m-%d %H:%M UTC'), under
\`flock $LOCK\`, ending with \`nodes.sh down\`; this part took ${PART_S} s (\`nodes.sh up $DIST_NODES\`: ${UP_S} s).
\`airgap cluster deploy --skip-phases $SKIP\` (connect, then distribute: bundle and bin/airgap to /var/lib/airgap/dist,
sha256-checked on each node), each run onto nodes cleared of the previous copy. The jump host's link is the test kit's
proxy in TCP mode (SSH cannot pass the HTTP one): a loopback port per node, all sharing **${DIST_MBS} MB/s** per direction.

| | figure |
|---|---|
| bundle + bin/airgap per node | $BUNDLE_BYTES + $INSTALLER_BYTES B |
| distribute phase, median of $RUNS | **${MED} s** (spread ${LO}–${HI} s; each: $(printf '%s, ' "${PHASES[@]}" | sed 's/, $//')) |
| whole command (SSH logins, connect, distribute) | $(printf '%s, ' "${WALLS[@]}" | sed 's/, $//') s |
| limit for parallel streams from the jump host: $DIST_NODES × bytes ÷ link | ${LIMIT_STREAMS} s (measured ${R_STREAMS}×) |
| limit if nodes passed the bundle on to each other: bytes ÷ link | ${LIMIT_RELAY} s (measured ${R_RELAY}×) |

What the deploy does: one SFTP stream per node, ssh.maxParallel (4) at once, all from the jump host, so the link
carries the bundle $DIST_NODES times; it does not (yet) let nodes pass it on to each other, which is what would bring
the time towards ${LIMIT_RELAY} s. The proxy's own counts:

$(cat "$WORK/proxy.txt")
<!-- distribution:end -->
EOF
tmp=$RESULTS.tmp
if grep -q '<!-- distribution:start -->' "$RESULTS"; then
  awk -v f="$section" '/<!-- distribution:start -->/ { while ((getline l < f) > 0) print l; skip = 1 } !skip { print } /<!-- distribution:end -->/ { skip = 0 }' "$RESULTS" >"$tmp"
else
  { cat "$RESULTS"; echo; cat "$section"; } >"$tmp"
fi
mv "$tmp" "$RESULTS"
log "wrote the distribution section of $RESULTS: median ${MED}s, ${R_STREAMS}x the parallel-stream limit"
