#!/usr/bin/env bash
# make bench: airgap against skopeo on the same image set from the same local registry.
#
# The registry (Debian's docker-registry, started by airgap-testkit) holds the v1.20.2 kubeadm set plus
# flannel, every image multi-arch, with EXTRA_LAYER_MB MiB of incompressible data per image and arch so
# the amd64 set is about the size of the real one (~300 MB compressed). Then, interleaved, RUNS times:
#   airgap: one `airgap build --arch amd64` with a fresh (cold) cache, under /usr/bin/time -v;
#   skopeo: one `skopeo copy --override-arch amd64` per image into one OCI layout, sequentially,
#           each under /usr/bin/time -v; wall time of the whole loop, peak RSS = max over copies.
# Plus one warm-cache airgap rebuild, and airgap on a small set (SMALL_EXTRA_LAYER_MB) to show whether
# peak RSS grows with bundle size. Then what an operator waits on (issue 16):
#   far:  the same set through airgap-testkit's shaping proxy (FAR_DELAY_MS per request and per new
#         connection, FAR_CONN_MBS per connection, FAR_TOTAL_MBS in total), airgap and skopeo alternating,
#         against the physical limit (bytes ÷ total cap + the unavoidable round trips);
#   huge: a HUGE_EXTRA_LAYER_MB set (~2 GB) on loopback: peak RSS of build, verify, install's images phase
#         (into the test kit's containerd, in a private mount namespace), push and serve, against the 300 MB
#         bundle's figures;
#   distribution (DISTRIBUTION=1, needs the lab): the cluster deploy's distribute phase to 4 lab nodes
#         through a TCP-shaped jump-host link — see bench/distribute.sh.
# Writes bench/results.md. Needs `make deps build` (make bench does both).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIG=${CONFIG:-Release}
AIRGAP=$ROOT/src/Airgap.Cli/bin/$CONFIG/net10.0/airgap
TESTKIT=$ROOT/tests/Airgap.TestKit/bin/$CONFIG/net10.0/airgap-testkit
RESULTS=$ROOT/bench/results.md
RUNS=${RUNS:-3}
EXTRA_LAYER_MB=${EXTRA_LAYER_MB:-36}            # 8 images x 36 MiB + base layer = ~303 MB of amd64 blobs
SMALL_EXTRA_LAYER_MB=${SMALL_EXTRA_LAYER_MB:-2} # ~18 MB of amd64 blobs
K8S=v1.20.2
FAR_DELAY_MS=${FAR_DELAY_MS:-80}        # a mirror far away: one round trip per request (and per new connection)
FAR_CONN_MBS=${FAR_CONN_MBS:-4}         # MB/s (10^6 bytes) per connection, as such mirrors throttle
FAR_TOTAL_MBS=${FAR_TOTAL_MBS:-40}      # MB/s for all connections together: the link
HUGE_EXTRA_LAYER_MB=${HUGE_EXTRA_LAYER_MB:-256}  # 8 images x 256 MiB = ~2.1 GB of amd64 blobs
RSS_RUNS=${RSS_RUNS:-3}
RSS_LIMIT_MB=150
# The image set the testkit fills, as kubeadm v1.20.2 lists it (source path under the registry | name kept).
KUBEADM_IMAGES=(kube-apiserver:v1.20.2 kube-controller-manager:v1.20.2 kube-scheduler:v1.20.2
  kube-proxy:v1.20.2 pause:3.2 etcd:3.4.13-0 coredns:1.7.0)
# Size targets: bundle within 1% of the unique blobs; RSS "not growing": big-set peak at most 25% above small-set peak.
SIZE_TOLERANCE_PCT=1
RSS_TOLERANCE_PCT=25

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

for bin in "$AIRGAP" "$TESTKIT"; do [[ -x $bin ]] || die "$bin is missing; run 'make build' first"; done
for tool in skopeo /usr/bin/time; do command -v "$tool" >/dev/null || die "$tool is missing; run 'make deps'"; done

# Work on the repo's filesystem (bench/work is git-ignored and removed by `make clean`), not a tmpfs.
mkdir -p "$ROOT/bench/work"
WORK=$(mktemp -d "$ROOT/bench/work/run.XXXXXX")
PIDS=()
cleanup() {
  local rc=$?
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
  rmdir "$ROOT/bench/work" 2>/dev/null || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers

# start_registry NAME MB: starts a filled registry in the background; wait_registry NAME loads its env
# file into variables NAME_REGISTRY, NAME_IMAGE_REPOSITORY, ...
declare -A REG_PID
start_registry() {
  local name=$1 mb=$2
  shift 2
  mkdir -p "$WORK/$name"
  "$TESTKIT" registry --fill k8s-v1.20.2 --extra-layer-mb "$mb" --env-file "$WORK/$name/env" "$@" \
    >"$WORK/$name/testkit.log" 2>&1 &
  REG_PID[$name]=$!
  PIDS+=($!)
}
wait_registry() {
  local name=$1 i key value
  for ((i = 0; i < 3000; i++)); do
    [[ -f $WORK/$name/env ]] && break
    kill -0 "${REG_PID[$name]}" 2>/dev/null || { cat "$WORK/$name/testkit.log" >&2; die "registry '$name' exited before it was ready"; }
    sleep 0.1
  done
  [[ -f $WORK/$name/env ]] || die "registry '$name' not ready after 300 s"
  while IFS='=' read -r key value; do
    [[ -n $key ]] && printf -v "${name}_${key}" '%s' "$value"
  done <"$WORK/$name/env"
}

# elapsed_s FILE / max_rss_kb FILE: fields of a /usr/bin/time -v report.
elapsed_s() {
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1"
}
max_rss_kb() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$1"; }

# median / min of numbers given as arguments
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
minimum() { printf '%s\n' "$@" | sort -g | head -1; }
maximum() { printf '%s\n' "$@" | sort -g | tail -1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
mb_of_kb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# airgap_build REG OUT CACHE TAG: one `airgap build --arch amd64` against registry REG; sets WALL, RSS.
airgap_build() {
  local reg=$1 out=$2 cache=$3 tag=$4
  local registry_var=${reg}_REGISTRY repo_var=${reg}_IMAGE_REPOSITORY manifest_var=${reg}_FLANNEL_MANIFEST
  local start
  sync # earlier runs' dirty pages are written back outside the timed section
  start=$EPOCHREALTIME
  # Each output line is stamped with the time it appeared (bash builtin clock, no fork), to split the run
  # into phases: start-up and image resolution, pulling (until "writing ..."), writing the bundle.
  CI=1 /usr/bin/time -v -o "$WORK/$tag.time" \
    "$AIRGAP" build --k8s "$K8S" --arch amd64 "${NO_BINARIES[@]}" \
    --image-repository "${!repo_var}" --flannel-manifest "${!manifest_var}" --mirror "quay.io=${!registry_var}" \
    --output "$out" --cache-dir "$cache" 2>&1 | stamp >"$WORK/$tag.log" ||
    { tail -n 30 "$WORK/$tag.log" >&2; die "airgap build failed ($tag)"; }
  WALL=$(elapsed_s "$WORK/$tag.time")
  RSS=$(max_rss_kb "$WORK/$tag.time")
  # START_S: to the first line (start-up, image list); PULL_S: from there to the last "pull ..." line (one is
  # printed per finished blob); WRITE_S: from there to the last line (the bundle written, synced and renamed).
  read -r START_S PULL_S WRITE_S < <(awk -v s="$start" 'NR == 1 { f = p = $1 } $2 == "pull" || $2 == "fetched" { p = $1 } { last = $1 }
    END { printf "%.2f %.2f %.2f\n", f - s, p - f, last - p }' "$WORK/$tag.log")
  log "$tag: ${WALL}s (start-up ${START_S}s, pull ${PULL_S}s, bundle write ${WRITE_S}s), peak RSS $(mb_of_kb "$RSS") MiB"
}
stamp() {
  local line
  while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done
}

# Images only, as skopeo copies them: airgap versions that also bundle kubeadm & co. (from dl.k8s.io by
# default, which this offline bench cannot reach) are told to leave the binaries out.
NO_BINARIES=(--no-binaries)   # binaries come from dl.k8s.io/GitHub, out of reach here; the bench measures images

# skopeo_copy LAYOUT TAG: one skopeo copy per image into one OCI layout, in sequence; sets WALL, RSS.
POLICY=()
[[ -f /etc/containers/policy.json || -f $HOME/.config/containers/policy.json ]] || POLICY=(--insecure-policy)
skopeo_copy() {
  local layout=$1 tag=$2 reg=${3:-big} i=0 src name start end r
  local registry_var=${reg}_REGISTRY repo_var=${reg}_IMAGE_REPOSITORY
  local sources=() names=()
  for img in "${KUBEADM_IMAGES[@]}"; do sources+=("${!repo_var}/$img"); names+=("k8s.gcr.io/$img"); done
  sources+=("${!registry_var}/${big_FLANNEL_IMAGE#quay.io/}"); names+=("$big_FLANNEL_IMAGE")
  RSS=0
  sync
  start=$(date +%s%N)
  for i in "${!sources[@]}"; do
    src=${sources[$i]} name=${names[$i]}
    /usr/bin/time -v -o "$WORK/$tag.$i.time" \
      skopeo "${POLICY[@]}" copy --src-tls-verify=false --override-arch amd64 "docker://$src" "oci:$layout:$name" \
      >>"$WORK/$tag.log" 2>&1 || { tail -n 30 "$WORK/$tag.log" >&2; die "skopeo copy $src failed ($tag)"; }
    r=$(max_rss_kb "$WORK/$tag.$i.time")
    if ((r > RSS)); then RSS=$r; fi
  done
  end=$(date +%s%N)
  WALL=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
  log "$tag: ${WALL}s, peak RSS $(mb_of_kb "$RSS") MiB (max of ${#sources[@]} copies)"
}

# ---------------------------------------------------------------- registries

bench_start=$(date +%s)
log "starting registries: big (--extra-layer-mb $EXTRA_LAYER_MB) and small (--extra-layer-mb $SMALL_EXTRA_LAYER_MB)"
start_registry big "$EXTRA_LAYER_MB"
start_registry small "$SMALL_EXTRA_LAYER_MB"
start_registry huge "$HUGE_EXTRA_LAYER_MB" --arches amd64
wait_registry big
wait_registry small
log "big registry $big_REGISTRY: $(mib "$big_UNIQUE_BLOB_BYTES_AMD64") MiB of unique amd64 blobs; small $small_REGISTRY: $(mib "$small_UNIQUE_BLOB_BYTES_AMD64") MiB"

# Manifest bytes a single-arch bundle must carry besides the blobs: the amd64 manifest of each image.
MANIFEST_BYTES=""
if command -v jq >/dev/null; then
  MANIFEST_BYTES=0
  for src in "${KUBEADM_IMAGES[@]/#/$big_IMAGE_REPOSITORY/}" "$big_REGISTRY/${big_FLANNEL_IMAGE#quay.io/}"; do
    n=$(skopeo "${POLICY[@]}" inspect --raw --tls-verify=false "docker://$src" |
      jq '[.manifests[] | select(.platform.architecture == "amd64" and .platform.os == "linux") | .size] | add')
    MANIFEST_BYTES=$((MANIFEST_BYTES + n))
  done
fi

# ---------------------------------------------------------------- runs

A_WALL=() A_RSS=() A_START=() A_PULL=() A_WRITE=() S_WALL=() S_RSS=() S_TAR=() A_SHA=()
for ((run = 1; run <= RUNS; run++)); do
  rm -rf "$WORK/cache.$run" "$WORK/out.$run"
  airgap_build big "$WORK/out.$run" "$WORK/cache.$run" "airgap-cold-$run"
  A_WALL+=("$WALL") A_RSS+=("$RSS") A_START+=("$START_S") A_PULL+=("$PULL_S") A_WRITE+=("$WRITE_S")
  bundle=$WORK/out.$run/airgap-k8s-$K8S-linux-amd64.tar
  [[ -f $bundle ]] || die "airgap build did not write $bundle"
  A_SHA+=("$(sha256sum "$bundle" | cut -d' ' -f1)")
  if ((run == 1)); then
    BUNDLE=$bundle
  else
    rm -rf "$WORK/out.$run"
  fi
  if ((run < RUNS)); then rm -rf "$WORK/cache.$run"; fi # the last cache is kept for the warm rebuild

  rm -rf "$WORK/oci.$run"
  skopeo_copy "$WORK/oci.$run" "skopeo-$run"
  S_WALL+=("$WALL") S_RSS+=("$RSS")
  SKOPEO_LAYOUT_BYTES=$(du -sb "$WORK/oci.$run" | cut -f1)
  # Not part of the comparison: what carrying skopeo's layout as one file would add (tar, like airgap's output).
  sync
  tar_start=$EPOCHREALTIME
  tar -cf "$WORK/oci.$run.tar" -C "$WORK/oci.$run" .
  S_TAR+=("$(awk -v a="$tar_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')")
  log "skopeo-$run: tar of the layout ${S_TAR[-1]}s (informational)"
  rm -rf "$WORK/oci.$run" "$WORK/oci.$run.tar"
done

airgap_build big "$WORK/out.warm" "$WORK/cache.$RUNS" "airgap-warm"
WARM_WALL=$WALL WARM_RSS=$RSS WARM_START=$START_S WARM_WRITE=$WRITE_S
WARM_SHA=$(sha256sum "$WORK/out.warm/airgap-k8s-$K8S-linux-amd64.tar" | cut -d' ' -f1)
rm -rf "$WORK/out.warm" "$WORK/cache.$RUNS"

SM_WALL=() SM_RSS=()
for ((run = 1; run <= RUNS; run++)); do
  rm -rf "$WORK/small-cache.$run" "$WORK/small-out.$run"
  airgap_build small "$WORK/small-out.$run" "$WORK/small-cache.$run" "airgap-small-$run"
  SM_WALL+=("$WALL") SM_RSS+=("$RSS")
  SMALL_BUNDLE_BYTES=$(stat -c %s "$WORK/small-out.$run/airgap-k8s-$K8S-linux-amd64.tar")
  rm -rf "$WORK/small-cache.$run" "$WORK/small-out.$run"
done

sync
verify_start=$(date +%s%N)
CI=1 "$AIRGAP" verify "$BUNDLE" >"$WORK/verify.log" 2>&1 && VERIFY=OK || VERIFY=FAILED
VERIFY_S=$(awk -v a="$verify_start" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
log "airgap verify: $VERIFY in ${VERIFY_S}s"

# ---------------------------------------------------------------- far mirror (shaped)

# The same registry behind the test kit's shaping proxy: every request waits FAR_DELAY_MS (one round trip),
# so does every new connection (its handshake), each connection gets FAR_CONN_MBS, all together FAR_TOTAL_MBS.
far_start=$(date +%s)
mkdir -p "$WORK/far"
"$TESTKIT" shape --target "$big_REGISTRY" --request-delay-ms "$FAR_DELAY_MS" --connect-delay-ms "$FAR_DELAY_MS" \
  --per-connection-mb-s "$FAR_CONN_MBS" --total-mb-s "$FAR_TOTAL_MBS" --env-file "$WORK/far/env" >"$WORK/far/shape.log" 2>&1 &
FAR_PID=$!
PIDS+=($FAR_PID)
for ((i = 0; i < 300; i++)); do [[ -f $WORK/far/env ]] && break; sleep 0.1; done
[[ -f $WORK/far/env ]] || { cat "$WORK/far/shape.log" >&2; die "shaping proxy did not start"; }
far_PROXY=$(sed -n 's/^PROXY=//p' "$WORK/far/env")
far_REGISTRY=$far_PROXY
far_IMAGE_REPOSITORY=$far_PROXY/google_containers
far_FLANNEL_MANIFEST=$big_FLANNEL_MANIFEST
log "far mirror: $far_PROXY -> $big_REGISTRY (${FAR_DELAY_MS} ms per request, ${FAR_CONN_MBS} MB/s per connection, ${FAR_TOTAL_MBS} MB/s total)"

F_WALL=() F_RSS=() FS_WALL=()
for ((run = 1; run <= RUNS; run++)); do
  rm -rf "$WORK/far-cache" "$WORK/far-out"
  airgap_build far "$WORK/far-out" "$WORK/far-cache" "far-airgap-$run"
  F_WALL+=("$WALL") F_RSS+=("$RSS")
  # Not byte-identical to the loopback bundle (bundle.yaml names the proxy as the source): checked instead.
  ((run > 1)) || CI=1 "$AIRGAP" verify "$WORK/far-out/airgap-k8s-$K8S-linux-amd64.tar" >"$WORK/far-verify.log" 2>&1 ||
    die "the bundle built through the shaping proxy does not verify: $(tail -n 3 "$WORK/far-verify.log")"
  rm -rf "$WORK/far-cache" "$WORK/far-out" "$WORK/far-oci"
  skopeo_copy "$WORK/far-oci" "far-skopeo-$run" far
  FS_WALL+=("$WALL")
  rm -rf "$WORK/far-oci"
done
kill -TERM "$FAR_PID" 2>/dev/null || true
wait "$FAR_PID" 2>/dev/null || true
FAR_S=$(($(date +%s) - far_start))

# The physical limit: every byte through the total cap, plus the round trips no client can overlap: a new
# connection, the tag's index, the platform's manifest, then the blobs (all at once at best).
FAR_BYTES=$((big_UNIQUE_BLOB_BYTES_AMD64 + ${MANIFEST_BYTES:-0}))
FAR_RTTS=4
FAR_LIMIT=$(awk -v b="$FAR_BYTES" -v r="$FAR_TOTAL_MBS" -v n="$FAR_RTTS" -v d="$FAR_DELAY_MS" 'BEGIN { printf "%.2f", b / (r * 1e6) + n * d / 1000 }')
# What a client that takes each blob over one connection cannot beat: the largest blob at the per-connection cap.
LARGEST_BLOB=$(( (EXTRA_LAYER_MB * 1048576) ))
FAR_ONE_CONN=$(awk -v b="$LARGEST_BLOB" -v c="$FAR_CONN_MBS" -v n="$FAR_RTTS" -v d="$FAR_DELAY_MS" 'BEGIN { printf "%.2f", b / (c * 1e6) + n * d / 1000 }')
F_MED=$(median "${F_WALL[@]}") FS_MED=$(median "${FS_WALL[@]}")
F_RATIO=$(awk -v a="$F_MED" -v l="$FAR_LIMIT" 'BEGIN { printf "%.2f", a / l }')
FS_RATIO=$(awk -v a="$FS_MED" -v l="$FAR_LIMIT" 'BEGIN { printf "%.2f", a / l }')
F_VS_S=$(awk -v a="$F_MED" -v s="$FS_MED" 'BEGIN { printf "%.2f", a / s }')
F_LIMIT_OK=$(awk -v r="$F_RATIO" 'BEGIN { print (r <= 1.15) ? 1 : 0 }')
F_SKOPEO_OK=$(awk -v r="$F_VS_S" 'BEGIN { print (r <= 0.5) ? 1 : 0 }')
spread() { awk -v lo="$(minimum "$@")" -v hi="$(maximum "$@")" 'BEGIN { printf "%s–%s", lo, hi }'; }
log "far: airgap ${F_MED}s (${F_RATIO}x the ${FAR_LIMIT}s limit), skopeo ${FS_MED}s; part took ${FAR_S}s"

# ---------------------------------------------------------------- huge set: memory

# Peak RSS of every command that streams a bundle, for the 300 MB bundle and a ~2 GB one. Each under
# /usr/bin/time -v; for install and serve the figure is the largest process of the tree (airgap, or ctr /
# skopeo beside it: the max over waited-for children, as getrusage reports it).
huge_start=$(date +%s)
wait_registry huge
log "huge registry $huge_REGISTRY: $(mib "$huge_UNIQUE_BLOB_BYTES_AMD64") MiB of unique amd64 blobs"

# timed TAG CMD...: runs CMD under /usr/bin/time -v; sets WALL and RSS (KiB).
timed() {
  local tag=$1
  shift
  sync
  /usr/bin/time -v -o "$WORK/$tag.time" "$@" >"$WORK/$tag.log" 2>&1 || { tail -n 20 "$WORK/$tag.log" >&2; die "$tag failed: $*"; }
  WALL=$(elapsed_s "$WORK/$tag.time")
  RSS=$(max_rss_kb "$WORK/$tag.time")
  log "$tag: ${WALL}s, peak RSS $(mb_of_kb "$RSS") MiB"
}

# start_bg NAME ENVFILE CMD...: a test kit server in the background; waits for its env file.
start_bg() {
  local name=$1 env=$2 i
  shift 2
  "$@" >"$WORK/$name.log" 2>&1 &
  BG_PID=$!
  PIDS+=($BG_PID)
  for ((i = 0; i < 600; i++)); do
    [[ -f $env ]] && return 0
    kill -0 "$BG_PID" 2>/dev/null || { cat "$WORK/$name.log" >&2; die "$name exited before it was ready"; }
    sleep 0.1
  done
  die "$name not ready after 60 s"
}
stop_bg() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# serve_rss TAG BUNDLE: airgap serve under /usr/bin/time, every image pulled through it by skopeo; sets WALL RSS.
serve_rss() {
  local tag=$1 bundle=$2 port img start i child
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  /usr/bin/time -v -o "$WORK/$tag.time" "$AIRGAP" serve "$bundle" --address "127.0.0.1:$port" >"$WORK/$tag.log" 2>&1 &
  local tpid=$!
  PIDS+=($tpid)
  for ((i = 0; i < 300; i++)); do
    curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  start=$EPOCHREALTIME
  rm -rf "$WORK/$tag.oci"
  for img in "${KUBEADM_IMAGES[@]/#/k8s.gcr.io/}" "$big_FLANNEL_IMAGE"; do
    skopeo "${POLICY[@]}" copy --src-tls-verify=false "docker://127.0.0.1:$port/$img" "oci:$WORK/$tag.oci:$img" >>"$WORK/$tag.pull.log" 2>&1 ||
      { tail -n 20 "$WORK/$tag.pull.log" "$WORK/$tag.log" >&2; die "pulling $img from airgap serve failed ($tag)"; }
  done
  WALL=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  rm -rf "$WORK/$tag.oci"
  child=$(pgrep -P "$tpid" || true)
  [[ -n $child ]] && kill -TERM "$child"
  wait "$tpid" 2>/dev/null || true
  RSS=$(max_rss_kb "$WORK/$tag.time")
  log "$tag: all images pulled through it in ${WALL}s, peak RSS $(mb_of_kb "$RSS") MiB"
}

# memory_of SET BUNDLE: build (cold) is measured by the caller; here verify, install's images phase, push, serve.
declare -A MEM
memory_of() {
  local set=$1 bundle=$2 run=$3 reg
  timed "$set-verify-$run" "$AIRGAP" verify "$bundle"
  MEM[$set,verify]+="$RSS " MEM[$set,verify,t]+="$WALL "
  rm -f "$WORK/ctd.env"
  start_bg "$set-containerd-$run" "$WORK/ctd.env" "$TESTKIT" containerd --env-file "$WORK/ctd.env"
  local ctd=$BG_PID
  mkdir -p "$WORK/state"
  # install's journal lives in /var/lib/airgap: a private mount namespace keeps this host's own untouched.
  CONTAINERD_ADDRESS=$(sed -n 's/^CONTAINERD_ADDRESS=//p' "$WORK/ctd.env") \
    timed "$set-install-images-$run" unshare --mount --propagation private \
    sh -c "mount --bind '$WORK/state' /var/lib && exec '$AIRGAP' install phase images --bundle '$bundle'"
  MEM[$set,install]+="$RSS " MEM[$set,install,t]+="$WALL "
  stop_bg "$ctd"
  rm -rf "$WORK/state" "$WORK/push.env"
  start_bg "$set-push-registry-$run" "$WORK/push.env" "$TESTKIT" registry --env-file "$WORK/push.env"
  reg=$BG_PID
  timed "$set-push-$run" "$AIRGAP" push "$bundle" --registry "$(sed -n 's/^REGISTRY=//p' "$WORK/push.env")/site"
  MEM[$set,push]+="$RSS " MEM[$set,push,t]+="$WALL "
  stop_bg "$reg"
  serve_rss "$set-serve-$run" "$bundle"
  MEM[$set,serve]+="$RSS " MEM[$set,serve,t]+="$WALL "
}

for ((run = 1; run <= RSS_RUNS; run++)); do
  memory_of big "$BUNDLE" "$run"
  rm -rf "$WORK/huge-cache" "$WORK/huge-out"
  airgap_build huge "$WORK/huge-out" "$WORK/huge-cache" "huge-build-$run"
  MEM[huge,build]+="$RSS " MEM[huge,build,t]+="$WALL "
  rm -rf "$WORK/huge-cache"
  HUGE_BUNDLE=$WORK/huge-out/airgap-k8s-$K8S-linux-amd64.tar
  HUGE_BYTES=$(stat -c %s "$HUGE_BUNDLE")
  memory_of huge "$HUGE_BUNDLE" "$run"
  rm -rf "$WORK/huge-out"
done
MEM[big,build]="${A_RSS[*]}" MEM[big,build,t]="${A_WALL[*]}"
HUGE_S=$(($(date +%s) - huge_start))

# ---------------------------------------------------------------- numbers and targets

BUNDLE_BYTES=$(stat -c %s "$BUNDLE")
A_MED=$(median "${A_WALL[@]}") A_MIN=$(minimum "${A_WALL[@]}")
S_MED=$(median "${S_WALL[@]}") S_MIN=$(minimum "${S_WALL[@]}")
A_RSS_MED=$(median "${A_RSS[@]}") A_RSS_MAX=$(maximum "${A_RSS[@]}")
S_RSS_MED=$(median "${S_RSS[@]}") S_RSS_MAX=$(maximum "${S_RSS[@]}")
SM_RSS_MED=$(median "${SM_RSS[@]}") SM_RSS_MAX=$(maximum "${SM_RSS[@]}")
SM_MED=$(median "${SM_WALL[@]}")
SPEEDUP=$(awk -v a="$A_MED" -v s="$S_MED" 'BEGIN { printf "%.2f", s / a }')

REF_BYTES=$((big_UNIQUE_BLOB_BYTES_AMD64 + ${MANIFEST_BYTES:-0}))
OVERHEAD_PCT=$(awk -v b="$BUNDLE_BYTES" -v r="$REF_BYTES" 'BEGIN { printf "%.3f", (b - r) * 100 / r }')
RATIO=$(awk -v b="$BUNDLE_BYTES" -v r="$REF_BYTES" 'BEGIN { printf "%.5f", b / r }')
OVER_BLOBS_PCT=$(awk -v b="$BUNDLE_BYTES" -v r="$big_UNIQUE_BLOB_BYTES_AMD64" 'BEGIN { printf "%.3f", (b - r) * 100 / r }')
RSS_GROWTH_PCT=$(awk -v b="$A_RSS_MAX" -v s="$SM_RSS_MAX" 'BEGIN { printf "%.1f", (b - s) * 100 / s }')
DATA_GROWTH=$(awk -v b="$BUNDLE_BYTES" -v s="$SMALL_BUNDLE_BYTES" 'BEGIN { printf "%.1f", b / s }')

verdict() { if [[ $1 == 1 ]]; then echo "**met**"; else echo "**not met**"; fi; }
FASTER=$(awk -v a="$A_MED" -v s="$S_MED" 'BEGIN { print (a < s) ? 1 : 0 }')
# Whether the two tools' run times overlap, i.e. the difference is inside this machine's run-to-run noise.
if awk -v amin="$A_MIN" -v amax="$(maximum "${A_WALL[@]}")" -v smin="$S_MIN" -v smax="$(maximum "${S_WALL[@]}")" \
  'BEGIN { exit !(amin <= smax && smin <= amax) }'; then
  NOISE="; the runs' ranges overlap, so the difference is within run-to-run noise"
else
  NOISE="; the runs' ranges do not overlap"
fi
SIZE_OK=$(awk -v o="$OVERHEAD_PCT" -v t="$SIZE_TOLERANCE_PCT" 'BEGIN { o = o < 0 ? -o : o; print (o <= t) ? 1 : 0 }')
RSS_OK=$(awk -v g="$RSS_GROWTH_PCT" -v t="$RSS_TOLERANCE_PCT" 'BEGIN { print (g <= t) ? 1 : 0 }')
IDENTICAL=$(printf '%s\n' "${A_SHA[@]}" "$WARM_SHA" | sort -u | wc -l)
[[ $IDENTICAL == 1 ]] && IDENTICAL="yes (sha256 ${A_SHA[0]:0:16}…)" || IDENTICAL="**no** ($(printf '%s ' "${A_SHA[@]}" "$WARM_SHA"))"
BENCH_S=$(($(date +%s) - bench_start))

if [[ -n $MANIFEST_BYTES ]]; then
  REF_TEXT="unique amd64 blobs + amd64 manifests = $big_UNIQUE_BLOB_BYTES_AMD64 + $MANIFEST_BYTES B"
else
  REF_TEXT="unique amd64 blobs = $big_UNIQUE_BLOB_BYTES_AMD64 B (manifests not counted: jq missing)"
fi
list() { printf '%s, ' "$@" | sed 's/, $//'; }
kb_list() { local k out=(); for k in "$@"; do out+=("$(mb_of_kb "$k")"); done; list "${out[@]}"; }
mem_total=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}")

tmp=$RESULTS.tmp
cat >"$tmp" <<EOF
# airgap vs skopeo

Produced by \`make bench\` (\`bash bench/run.sh\`, RUNS=$RUNS, EXTRA_LAYER_MB=$EXTRA_LAYER_MB, SMALL_EXTRA_LAYER_MB=$SMALL_EXTRA_LAYER_MB)
on $(date -u '+%Y-%m-%d %H:%M UTC'); the whole bench took ${BENCH_S}s.

| machine | |
|---|---|
| CPU | ${cpu:-unknown}, nproc $(nproc) |
| memory | $mem_total |
| OS / kernel | $os / $(uname -r) |
| dotnet | $(dotnet --version 2>/dev/null || echo unknown) |
| airgap | $("$AIRGAP" version 2>/dev/null || echo unknown) ($CONFIG build) |
| skopeo | $(skopeo --version) |
| registry | docker-registry $(dpkg-query -W -f '${Version}' docker-registry 2>/dev/null || echo unknown) on 127.0.0.1 (airgap-testkit) |

## Setup

One local registry holds the kubeadm $K8S image set (7 images under google_containers/) plus
coreos/flannel:v0.13.0, every tag a linux/amd64 + linux/arm64 list, each image with its own
$EXTRA_LAYER_MB MiB layer of incompressible data per arch: $(mib "$big_UNIQUE_BLOB_BYTES_AMD64") MiB ($big_UNIQUE_BLOB_BYTES_AMD64 B)
of unique amd64 blobs, 8 images. Runs alternate airgap and skopeo.

- **airgap**: \`CI=1 airgap build --k8s $K8S --arch amd64${NO_BINARIES[*]:+ ${NO_BINARIES[*]}} --image-repository \$REGISTRY/google_containers
  --flannel-manifest kube-flannel.yml --mirror quay.io=\$REGISTRY --output DIR --cache-dir FRESH_DIR\`
  under \`/usr/bin/time -v\`: pulls, digest-checks, writes one tarball with bundle.yaml and SHA256SUMS.
- **skopeo**: for each of the 8 images, in sequence, \`skopeo copy --src-tls-verify=false --override-arch amd64
  docker://\$REGISTRY/REPO:TAG oci:DIR:NAME\` into one shared OCI layout (fresh per run), each under
  \`/usr/bin/time -v\`; time = the whole loop, peak RSS = the largest of the 8. Its output is an OCI
  directory ($(mib "$SKOPEO_LAYOUT_BYTES") MiB), not yet a tarball.
- Wall times are seconds; RSS is "Maximum resident set size" in MiB.
- airgap writes every blob twice (into its cache, then into the tarball, hashing it again on the
  way); skopeo writes each blob once into its directory. The phase split below shows the cost.

## Results

| | airgap (cold cache) | skopeo (8 copies) |
|---|---|---|
| wall time, median of $RUNS | **${A_MED} s** | **${S_MED} s** |
| wall time, min | ${A_MIN} s | ${S_MIN} s |
| wall time, each run | $(list "${A_WALL[@]}") | $(list "${S_WALL[@]}") |
| peak RSS, median | $(mb_of_kb "$A_RSS_MED") MiB | $(mb_of_kb "$S_RSS_MED") MiB |
| peak RSS, each run | $(kb_list "${A_RSS[@]}") | $(kb_list "${S_RSS[@]}") |

Not in the comparison: skopeo's output is a directory; \`tar -cf\` of it, to carry it as one file
like airgap's bundle, took $(list "${S_TAR[@]}") s more (no checksums file, no manifest of versions).

| airgap, other runs | |
|---|---|
| warm cache rebuild (cache of cold run $RUNS) | ${WARM_WALL} s, peak RSS $(mb_of_kb "$WARM_RSS") MiB |
| cold runs split by airgap's own output: start-up and image list / pulling manifests and blobs into the cache / writing the bundle from the cache | $(list "${A_START[@]}") / $(list "${A_PULL[@]}") / $(list "${A_WRITE[@]}") s |
| warm run split the same way (blobs all in the cache) | ${WARM_START} s start-up, then ${WARM_WRITE} s to resolve the manifests and write the bundle |
| small set (--extra-layer-mb $SMALL_EXTRA_LAYER_MB, $(mib "$SMALL_BUNDLE_BYTES") MiB bundle), cold, median of $RUNS | ${SM_MED} s, peak RSS $(kb_list "${SM_RSS[@]}") MiB |
| big set ($(mib "$BUNDLE_BYTES") MiB bundle, ${DATA_GROWTH}x the small one), cold | peak RSS $(kb_list "${A_RSS[@]}") MiB |
| \`airgap verify\` of the big bundle | $VERIFY in ${VERIFY_S} s |
| all cold and warm bundles byte-identical | $IDENTICAL |

| size | bytes |
|---|---|
| bundle (.tar) | $BUNDLE_BYTES ($(mib "$BUNDLE_BYTES") MiB) |
| reference: $REF_TEXT | $REF_BYTES |
| bundle / reference | $RATIO (overhead ${OVERHEAD_PCT} %; ${OVER_BLOBS_PCT} % over the blobs alone) |

## A mirror far away (shaped)

The same registry behind \`airgap-testkit shape\` (tests/Airgap.TestKit/Servers/ShapingProxy.cs): ${FAR_DELAY_MS} ms before
every request is passed on and on every new connection (a round trip each), ${FAR_CONN_MBS} MB/s per connection and
${FAR_TOTAL_MBS} MB/s in total (MB = 10^6 bytes), each direction; its accuracy is checked in \`make test\`
(ShapingProxyTests: bytes ÷ cap within 5 %). Same commands as above with the proxy's address for the registry;
runs alternate airgap / skopeo. This part took ${FAR_S} s.

| | airgap | skopeo (8 copies) | physical limit |
|---|---|---|---|
| wall time, median of $RUNS | **${F_MED} s** | **${FS_MED} s** | **${FAR_LIMIT} s** |
| spread (min–max) | $(spread "${F_WALL[@]}") s | $(spread "${FS_WALL[@]}") s | |
| each run | $(list "${F_WALL[@]}") | $(list "${FS_WALL[@]}") | |
| ratio to the limit | ${F_RATIO}× | ${FS_RATIO}× | 1 |
| airgap / skopeo | ${F_VS_S}× | | |
| peak RSS, each run | $(kb_list "${F_RSS[@]}") MiB | | |

The limit: ${FAR_BYTES} B (blobs + amd64 manifests) ÷ ${FAR_TOTAL_MBS} MB/s, plus ${FAR_RTTS} round trips nothing can overlap
(a connection, the tag's index, the platform's manifest, the blobs). A client that takes each blob over one
connection cannot beat the largest blob (${EXTRA_LAYER_MB} MiB) at ${FAR_CONN_MBS} MB/s: ${FAR_ONE_CONN} s.

## Memory: a 300 MB and a 2 GB bundle

Peak RSS ("Maximum resident set size" of \`/usr/bin/time -v\`, MiB), median of $RSS_RUNS runs (each run's figure in
brackets), loopback, for the bundle above ($(mib "$BUNDLE_BYTES") MiB) and one of $(mib "${HUGE_BYTES:-0}") MiB
(\`--extra-layer-mb $HUGE_EXTRA_LAYER_MB\`, amd64 only). This part took ${HUGE_S} s.

- build: \`airgap build\` as above, cold cache;
- verify: \`airgap verify BUNDLE\`;
- install images: \`airgap install phase images --bundle BUNDLE\` with \`CONTAINERD_ADDRESS\` set to the test kit's own
  containerd (\`airgap-testkit containerd\`), in a private mount namespace so its journal in /var/lib/airgap stays
  off this host; the figure is the largest of airgap and the \`ctr import\` it streams into;
- push: \`airgap push BUNDLE --registry REGISTRY/site\` into an empty docker-registry;
- serve: \`airgap serve BUNDLE\` while skopeo pulls all 8 images from it, one after another.

| command | 300 MB: peak RSS | 2 GB: peak RSS | growth | 300 MB: time | 2 GB: time |
|---|---|---|---|---|---|
$(for c in build verify install push serve; do
  b=$(median ${MEM[big,$c]}) h=$(median ${MEM[huge,$c]})
  printf '| %s | %s (%s) | %s (%s) | %s %% | %s s | %s s |\n' "$c" "$(mb_of_kb "$b")" "$(kb_list ${MEM[big,$c]})" \
    "$(mb_of_kb "$h")" "$(kb_list ${MEM[huge,$c]})" "$(awk -v b="$b" -v h="$h" 'BEGIN { printf "%+.1f", (h - b) * 100 / b }')" \
    "$(median ${MEM[big,$c,t]})" "$(median ${MEM[huge,$c,t]})"
done)

## Targets

| target | rule | measured | |
|---|---|---|---|
| faster than skopeo | airgap median < skopeo median | ${A_MED} s vs ${S_MED} s (skopeo/airgap = ${SPEEDUP}x${NOISE}) | $(verdict "$FASTER") |
| size within 1% of unique blobs | \|bundle − reference\| ≤ ${SIZE_TOLERANCE_PCT} % of reference | ${OVERHEAD_PCT} % | $(verdict "$SIZE_OK") |
| RSS not growing with bundle size | max peak RSS on the big set ≤ ${RSS_TOLERANCE_PCT} % above the small set's, for ${DATA_GROWTH}x the data | $(mb_of_kb "$SM_RSS_MAX") → $(mb_of_kb "$A_RSS_MAX") MiB (${RSS_GROWTH_PCT} %) | $(verdict "$RSS_OK") |
| far mirror: near the physical limit | airgap median ≤ 1.15 × limit | ${F_MED} s vs ${FAR_LIMIT} s (${F_RATIO}×) | $(verdict "$F_LIMIT_OK") |
| far mirror: at most half of skopeo's time | airgap median ≤ 0.5 × skopeo median | ${F_MED} s vs ${FS_MED} s (${F_VS_S}×) | $(verdict "$F_SKOPEO_OK") |
$(for c in build verify install push serve; do
  b=$(median ${MEM[big,$c]}) h=$(median ${MEM[huge,$c]})
  ok=$(awk -v b="$b" -v h="$h" -v l="$RSS_LIMIT_MB" -v t="$RSS_TOLERANCE_PCT" 'BEGIN { print (h / 1024 < l && h <= b * (1 + t / 100)) ? 1 : 0 }')
  printf '| 2 GB: %s memory | peak RSS < %s MiB and ≤ %s %% above the 300 MB bundle'"'"'s | %s → %s MiB | %s |\n' "$c" "$RSS_LIMIT_MB" "$RSS_TOLERANCE_PCT" \
    "$(mb_of_kb "$b")" "$(mb_of_kb "$h")" "$(verdict "$ok")"
done)
EOF
# What follows the bench's own part (distribution, make e2e's and e2e-cluster's timings, crash figures) is
# written by other scripts or by hand: carry it over. Before this marker existed it began at "## What CI costs".
echo "<!-- bench:end -->" >>"$tmp"
if [[ -f $RESULTS ]]; then
  if grep -q '^<!-- bench:end -->' "$RESULTS"; then
    sed '1,/^<!-- bench:end -->/d' "$RESULTS" >>"$tmp"
  else
    sed -n '/^## What CI costs/,$p' "$RESULTS" | sed '1s/^/\n/' >>"$tmp"
  fi
fi
# bench/parts.sh keeps its section in the same file too; it runs last, below.
if [[ -f $RESULTS ]] && grep -q '<!-- parts:start -->' "$RESULTS"; then
  { echo; sed -n '/<!-- parts:start -->/,/<!-- parts:end -->/p' "$RESULTS"; } >>"$tmp"
fi
mv "$tmp" "$RESULTS"
log "wrote $RESULTS"

# ---------------------------------------------------------------- distribution (lab nodes)

# A bundle with bin/airgap (the deploy sends it to every node) from the same registry, then bench/distribute.sh,
# which takes the lab lock ($LAB_LOCK, default /run/lock/airgap-lab.lock) itself and always ends with nodes.sh down. DISTRIBUTION=0 leaves it out.
if [[ ${DISTRIBUTION:-1} != 0 ]]; then
  [[ -x $ROOT/dist/airgap-linux-amd64 ]] || die "dist/airgap-linux-amd64 is missing: make publish (make bench does)"
  [[ -x $ROOT/../shared/lab/nodes.sh ]] || die "the lab (../shared/lab) is missing; DISTRIBUTION=0 to leave distribution out"
  CI=1 "$AIRGAP" build --k8s "$K8S" --arch amd64 --no-binaries --image-repository "$big_IMAGE_REPOSITORY" \
    --flannel-manifest "$big_FLANNEL_MANIFEST" --mirror "quay.io=$big_REGISTRY" --installer-dir "$ROOT/dist" \
    --output "$WORK/dist-out" --cache-dir "$WORK/dist-cache" >"$WORK/dist-build.log" 2>&1 ||
    { tail -n 20 "$WORK/dist-build.log" >&2; die "build of the distribution bundle failed"; }
  rm -rf "$WORK/dist-cache"
  RUNS=$RUNS bash "$ROOT/bench/distribute.sh" "$WORK/dist-out/airgap-k8s-$K8S-linux-amd64.tar"
fi
[[ $VERIFY == OK ]] || die "airgap verify failed on the bench bundle: $(cat "$WORK/verify.log")"
# Split bundles (issue 14): install and push from 300 MB parts of a ~1.2 GB bundle, disk and memory.
bash "$ROOT/bench/parts.sh"
