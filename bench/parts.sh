#!/usr/bin/env bash
# Split bundles (issue 14): a ~1.2 GB bundle cut into 300 MB parts is verified, install-dry-run and
# pushed from its parts, and each run is compared with the same command on the whole tar:
# wall time, peak RSS (/usr/bin/time -v), and the disk the command adds (sampled every 0.2 s: the
# bundle's directory, TMPDIR and the airgap cache, so a joined copy anywhere there would show).
# A small bundle split the same way shows whether peak RSS grows with the bundle.
# Writes its section of bench/results.md between <!-- parts:start --> and <!-- parts:end -->.
# Run by `make bench` (bench/run.sh) at its end, or alone: bash bench/parts.sh (after make build).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIG=${CONFIG:-Release}
AIRGAP=$ROOT/src/Airgap.Cli/bin/$CONFIG/net10.0/airgap
TESTKIT=$ROOT/tests/Airgap.TestKit/bin/$CONFIG/net10.0/airgap-testkit
RESULTS=$ROOT/bench/results.md
PARTS_LAYER_MB=${PARTS_LAYER_MB:-145}       # 8 images x 145 MiB + base layers = ~1.2 GB bundle
# The small bundle's layers stay above push's 32 MiB chunk size, so both sizes run the same (chunked) upload path.
PARTS_SMALL_LAYER_MB=${PARTS_SMALL_LAYER_MB:-40}
PART_SIZE=${PART_SIZE:-300M}
SMALL_PART_SIZE=${SMALL_PART_SIZE:-100M}
DISK_TOLERANCE=1.1
RSS_TOLERANCE_PCT=25        # big parts vs small parts
PARTS_RSS_TOLERANCE_PCT=10  # parts vs the whole tar, same bundle
K8S=v1.20.2

log() { printf '[bench-parts %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
for bin in "$AIRGAP" "$TESTKIT"; do [[ -x $bin ]] || die "$bin is missing; run 'make build' first"; done
command -v /usr/bin/time >/dev/null || die "/usr/bin/time is missing; run 'make deps'"

mkdir -p "$ROOT/bench/work"
WORK=$(mktemp -d "$ROOT/bench/work/parts.XXXXXX")
PIDS=()
cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
  rmdir "$ROOT/bench/work" 2>/dev/null || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

max_rss_kb() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$1"; }
elapsed_s() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
mb_of_kb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# registry NAME [fill args…]: starts airgap-testkit's registry; loads its env file as NAME_KEY variables.
registry() {
  local name=$1 i key value
  shift
  mkdir -p "$WORK/$name"
  "$TESTKIT" registry "$@" --env-file "$WORK/$name/env" >"$WORK/$name/testkit.log" 2>&1 &
  PIDS+=($!)
  for ((i = 0; i < 3000; i++)); do
    [[ -f $WORK/$name/env ]] && break
    kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$WORK/$name/testkit.log" >&2; die "registry '$name' exited before it was ready"; }
    sleep 0.1
  done
  while IFS='=' read -r key value; do [[ -n $key ]] && printf -v "${name}_${key}" '%s' "$value"; done <"$WORK/$name/env"
}

# build NAME OUT: a bundle of registry NAME's set, images only.
build() {
  local name=$1 out=$2 repo=${1}_IMAGE_REPOSITORY manifest=${1}_FLANNEL_MANIFEST reg=${1}_REGISTRY
  CI=1 "$AIRGAP" build --k8s "$K8S" --arch amd64 --no-binaries --image-repository "${!repo}" \
    --flannel-manifest "${!manifest}" --mirror "quay.io=${!reg}" --output "$out" --cache-dir "$WORK/cache-$name" \
    >"$WORK/build-$name.log" 2>&1 || { tail -n 20 "$WORK/build-$name.log" >&2; die "airgap build failed ($name)"; }
  rm -rf "$WORK/cache-$name"
}

# measure TAG WATCHED_DIR -- COMMAND…: runs COMMAND under /usr/bin/time -v with its own TMPDIR and
# airgap cache inside WATCHED_DIR/.scratch; sets WALL, RSS (KiB) and PEAK (bytes of WATCHED_DIR, max
# over 0.2 s samples) and BASE (its bytes before).
measure() {
  local tag=$1 watched=$2 sampler rc=0
  shift 3
  mkdir -p "$watched/.scratch/tmp" "$watched/.scratch/cache"
  BASE=$(du -sb "$watched" | cut -f1)
  (
    peak=0
    while true; do
      n=$(du -sb "$watched" 2>/dev/null | cut -f1 || echo 0)
      ((n > peak)) && peak=$n && echo "$peak" >"$WORK/$tag.peak"
      sleep 0.2
    done
  ) &
  sampler=$!
  echo "$BASE" >"$WORK/$tag.peak"
  sync
  CI=1 TMPDIR="$watched/.scratch/tmp" AIRGAP_CACHE="$watched/.scratch/cache" \
    /usr/bin/time -v -o "$WORK/$tag.time" "$@" >"$WORK/$tag.log" 2>&1 || rc=$?
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  ((rc == 0)) || { tail -n 20 "$WORK/$tag.log" >&2; die "$tag failed (exit $rc)"; }
  WALL=$(elapsed_s "$WORK/$tag.time") RSS=$(max_rss_kb "$WORK/$tag.time") PEAK=$(cat "$WORK/$tag.peak")
  rm -rf "$watched/.scratch"
  log "$tag: ${WALL}s, peak RSS $(mb_of_kb "$RSS") MiB, watched disk $(mib "$BASE") → peak $(mib "$PEAK") MiB"
}

started=$(date +%s)
log "filling registries (big: --extra-layer-mb $PARTS_LAYER_MB, small: $PARTS_SMALL_LAYER_MB) and an empty one to push into"
registry big --fill k8s-v1.20.2 --extra-layer-mb "$PARTS_LAYER_MB"
registry small --fill k8s-v1.20.2 --extra-layer-mb "$PARTS_SMALL_LAYER_MB"
registry site
registry site2
NAME=airgap-k8s-$K8S-linux-amd64.tar

build big "$WORK/whole"
build small "$WORK/small"
WHOLE=$WORK/whole/$NAME
WHOLE_BYTES=$(stat -c %s "$WHOLE")
log "big bundle: $(mib "$WHOLE_BYTES") MiB"

mkdir -p "$WORK/parts"
cp "$WHOLE" "$WORK/parts/$NAME"
measure split "$WORK/parts" -- "$AIRGAP" split "$WORK/parts/$NAME" --size "$PART_SIZE"
SPLIT_WALL=$WALL SPLIT_RSS=$RSS
rm "$WORK/parts/$NAME"
INDEX=$WORK/parts/$NAME.parts
PART_COUNT=$(grep -c '^# part ' "$INDEX")
PARTS_BYTES=$(du -sb "$WORK/parts" | cut -f1)
SUMS=$(cd "$WORK/parts" && sha256sum --strict -c "$NAME.parts" >/dev/null 2>&1 && echo OK || echo FAILED)

registry site3
SMALL=$WORK/small/$NAME
SMALL_BYTES=$(stat -c %s "$SMALL")
"$AIRGAP" split "$SMALL" --size "$SMALL_PART_SIZE" >/dev/null 2>&1 || die "airgap split of the small bundle failed"
rm "$SMALL"
SMALL_PARTS=$(grep -c '^# part ' "$SMALL.parts")

declare -A W R D P
run() {
  local what=$1 form=$2 bundle dir site
  case $form in
    whole) bundle=$WHOLE dir=$WORK/whole site=$site_REGISTRY ;;
    parts) bundle=$INDEX dir=$WORK/parts site=$site2_REGISTRY ;;
    small) bundle=$SMALL.parts dir=$WORK/small site=$site3_REGISTRY ;;
  esac
  case $what in
    verify) measure "$what-$form" "$dir" -- "$AIRGAP" verify "$bundle" ;;
    install) measure "$what-$form" "$dir" -- "$AIRGAP" install --bundle "$bundle" --single-node --cni bridge --dry-run \
      --ignore-preflight-errors all --skip-phases runtime,packages ;;
    push) measure "$what-$form" "$dir" -- "$AIRGAP" push "$bundle" --registry "$site/bench" ;;
  esac
  W[$what-$form]=$WALL R[$what-$form]=$RSS D[$what-$form]=$((PEAK - BASE)) P[$what-$form]=$PEAK
}
for what in verify install push; do
  run "$what" whole
  run "$what" parts
  run "$what" small
done

# Targets: the parts' directory at its fullest (parts + anything the command wrote there, in TMPDIR or in
# the cache) at most 1.1x the parts; peak RSS on the big parts at most 25% above the small parts'.
DISK_MAX=0 RSS_WORST=0 PARTS_RSS_WORST=0
for what in verify install push; do
  g=$(awk -v p="${R[$what-parts]}" -v w="${R[$what-whole]}" 'BEGIN { printf "%.1f", (p - w) * 100 / w }')
  PARTS_RSS_WORST=$(awk -v a="$PARTS_RSS_WORST" -v b="$g" 'BEGIN { print (b > a) ? b : a }')
  r=$(awk -v p="${P[$what-parts]}" -v b="$PARTS_BYTES" 'BEGIN { printf "%.3f", p / b }')
  DISK_MAX=$(awk -v a="$DISK_MAX" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
  g=$(awk -v b="${R[$what-parts]}" -v s="${R[$what-small]}" 'BEGIN { printf "%.1f", (b - s) * 100 / s }')
  RSS_WORST=$(awk -v a="$RSS_WORST" -v b="$g" 'BEGIN { print (b > a) ? b : a }')
done
DISK_OK=$(awk -v r="$DISK_MAX" -v t="$DISK_TOLERANCE" 'BEGIN { print (r <= t) ? 1 : 0 }')
RSS_OK=$(awk -v g="$RSS_WORST" -v t="$RSS_TOLERANCE_PCT" 'BEGIN { print (g <= t) ? 1 : 0 }')
PARTS_RSS_OK=$(awk -v g="$PARTS_RSS_WORST" -v t="$PARTS_RSS_TOLERANCE_PCT" 'BEGIN { print (g <= t) ? 1 : 0 }')
verdict() { if [[ $1 == 1 ]]; then echo "**met**"; else echo "**not met**"; fi; }
row() {
  local what=$1 label=$2
  echo "| $label | ${W[$what-whole]} s, $(mb_of_kb "${R[$what-whole]}") MiB, +$(mib "${D[$what-whole]}") MiB | ${W[$what-parts]} s, $(mb_of_kb "${R[$what-parts]}") MiB, +$(mib "${D[$what-parts]}") MiB | ${W[$what-small]} s, $(mb_of_kb "${R[$what-small]}") MiB, +$(mib "${D[$what-small]}") MiB |"
}
TOOK=$(($(date +%s) - started))

section=$WORK/section.md
cat >"$section" <<SECTION
<!-- parts:start -->
## Split bundles: install and push from parts (bench/parts.sh)

\`bash bench/parts.sh\` (PARTS_LAYER_MB=$PARTS_LAYER_MB, PART_SIZE=$PART_SIZE, PARTS_SMALL_LAYER_MB=$PARTS_SMALL_LAYER_MB, SMALL_PART_SIZE=$SMALL_PART_SIZE)
on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, took ${TOOK}s. A bundle of the v1.20.2 set with $PARTS_LAYER_MB MiB of
incompressible data per image ($WHOLE_BYTES B, $(mib "$WHOLE_BYTES") MiB) was cut with \`airgap split BUNDLE --size $PART_SIZE\`
into $PART_COUNT parts (${SPLIT_WALL} s, peak RSS $(mb_of_kb "$SPLIT_RSS") MiB; \`sha256sum -c NAME.parts\`: $SUMS) and the tar removed;
a small bundle ($(mib "$SMALL_BYTES") MiB, $SMALL_PARTS parts of $SMALL_PART_SIZE) shows whether memory grows with the bundle.
Each command ran under \`/usr/bin/time -v\` with TMPDIR and AIRGAP_CACHE inside the bundle's directory;
"+N MiB" is the most that directory grew while it ran (\`du -sb\` every 0.2 s), so a joined copy would show.

| command | whole tar: time, peak RSS, disk added | parts (index given): same | small bundle's parts: same |
|---|---|---|---|
$(row verify "\`airgap verify BUNDLE\`")
$(row install "\`airgap install --bundle BUNDLE --single-node --dry-run\` (verify phase reads every byte; images are imported in make test)")
$(row push "\`airgap push BUNDLE --registry\` (into an empty local registry)")

| target | rule | measured | |
|---|---|---|---|
| no joined copy | the parts' directory at its fullest ≤ ${DISK_TOLERANCE}× the parts ($(mib "$PARTS_BYTES") MiB) | at most ${DISK_MAX}× | $(verdict "$DISK_OK") |
| parts cost no memory | peak RSS from the parts ≤ ${PARTS_RSS_TOLERANCE_PCT} % above the whole tar's, each command | worst +${PARTS_RSS_WORST} % | $(verdict "$PARTS_RSS_OK") |
| memory flat | peak RSS on the $(mib "$WHOLE_BYTES") MiB parts ≤ ${RSS_TOLERANCE_PCT} % above the $(mib "$SMALL_BYTES") MiB bundle's parts, each command ($(awk -v b="$WHOLE_BYTES" -v s="$SMALL_BYTES" 'BEGIN { printf "%.1f", b / s }')x the data) | worst +${RSS_WORST} % | $(verdict "$RSS_OK") |

Reading parts costs one more read of each part than the tar (its sha256 against the index, before
its first byte is used); the page cache usually serves the second read.
<!-- parts:end -->
SECTION

if [[ -f $RESULTS ]] && grep -q '<!-- parts:start -->' "$RESULTS"; then
  awk -v f="$section" '/<!-- parts:start -->/ { while ((getline l < f) > 0) print l; skip = 1; next } /<!-- parts:end -->/ { skip = 0; next } !skip' "$RESULTS" >"$RESULTS.tmp"
else
  { cat "$RESULTS" 2>/dev/null; echo; cat "$section"; } >"$RESULTS.tmp"
fi
mv "$RESULTS.tmp" "$RESULTS"
log "wrote the parts section of $RESULTS"
