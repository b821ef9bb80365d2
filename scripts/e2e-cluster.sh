#!/usr/bin/env bash
# make e2e-cluster: a highly available kubeadm cluster from one cluster.yaml, deployed over SSH from
# this host (the jump host) onto the lab's air-gapped nodes (../shared/lab/nodes.sh), with nothing
# downloaded: 3 control planes behind the built-in load balancer + 1 worker, real Flannel (vxlan).
#
# 1. the lab's fake internet; `airgap build` with Flannel; the upstream stopped;
# 2. nodes.sh up 5 (node5 is kept back for "add a node"); bad cluster.yaml inputs refused, one line each;
# 3. airgap cluster deploy; checks: 4 nodes Ready at v1.20.2, 3 etcd members, Flannel on every node,
#    a Deployment spread over nodes answering over pod IPs (vxlan) and on every node's NodePort,
#    kubeadm/kubelet/kubectl held on every node;
# 4. deploy again: nothing changes (every node's journal identical); status;
# 5. HA: node2 powered off, the API answers and a new Deployment runs; node2 back, Ready, etcd healthy;
# 6. node5 added to cluster.yaml: only it joins; 7. cluster reset: every node clean; nodes down.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIT=${KIT:-$(cd "$ROOT/../shared/lab" && pwd)}
export LAB_DIR=${LAB_DIR:-/var/cache/airgap-lab}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/airgap-e2e-cluster.XXXXXX")
AIRGAP=$ROOT/dist/airgap-linux-amd64
T0=$SECONDS
declare -a TIMES=()
step() { local t=$((SECONDS - T0)); printf '\n[e2e-cluster %4ds] %s\n' "$t" "$*"; TIMES+=("$t|$*"); }
fail() {
  echo "e2e-cluster: FAILED at step: $1" >&2
  [[ -n ${2:-} && -f $2 ]] && { echo "--- last lines of $2:" >&2; tail -40 "$2" >&2; }
  exit 1
}
cleanup() {
  local rc=$?
  set +e
  "$KIT/upstream.sh" stop >/dev/null 2>&1
  [[ ${NODES_KEEP:-} == 1 ]] || "$KIT/nodes.sh" down >"$WORK/nodes-down.log" 2>&1 || echo "e2e-cluster: nodes.sh down failed, see $WORK/nodes-down.log" >&2
  [[ $rc -eq 0 ]] && rm -rf "$WORK" || echo "e2e-cluster: logs kept in $WORK" >&2
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

step "airgap build with Flannel v0.13.0 (the seeds' choice), signed"
"$AIRGAP" key generate --out "$WORK/site" >"$WORK/key.out" 2>&1 || fail "airgap key generate" "$WORK/key.out"
SITE_KEY=$(awk '/^fingerprint /{print $2}' "$WORK/key.out")
BUILD_START=$SECONDS
CI=1 "$AIRGAP" build --k8s v1.20.2 --os debian-12 --cni flannel:v0.13.0 \
  --flannel-manifest "$LAB_FLANNEL_MANIFEST_URL" --flannel-manifest-sha256 526baa6f631ce5cb452117f49207350db60612dfcce9e475fe5f94075e98fd4b \
  --mirror "quay.io=$LAB_REGISTRY" --image-repository "$LAB_IMAGE_REPOSITORY" --image "$LAB_WORKLOAD_IMAGE" \
  --k8s-repo "$LAB_APT_URL" --k8s-repo-key "$LAB_APT_KEY" --os-mirror "$OS_MIRROR" \
  --binaries-url "$LAB_DL_URL" --github-mirror "$LAB_GITHUB_MIRROR" \
  --sign-key "$WORK/site.pem" --output "$WORK/out" --cache-dir "$WORK/cache" >"$WORK/build.log" 2>&1 || fail "airgap build" "$WORK/build.log"
BUILD_SECONDS=$((SECONDS - BUILD_START))
BUNDLE=$WORK/out/airgap-k8s-v1.20.2-linux-amd64.tar
# The release the cluster is upgraded to later, built the same way but as an operator carries an
# upgrade: a delta of the bundle the nodes already have (--since), in parts (--split-size).
CI=1 "$AIRGAP" build --k8s "$LAB_UPGRADE_TO" --os debian-12 --cni flannel:v0.13.0 \
  --flannel-manifest "$LAB_FLANNEL_MANIFEST_URL" --flannel-manifest-sha256 526baa6f631ce5cb452117f49207350db60612dfcce9e475fe5f94075e98fd4b \
  --mirror "quay.io=$LAB_REGISTRY" --image-repository "$LAB_IMAGE_REPOSITORY" --image "$LAB_WORKLOAD_IMAGE" \
  --k8s-repo "$LAB_APT_URL" --k8s-repo-key "$LAB_APT_KEY" --os-mirror "$OS_MIRROR" \
  --binaries-url "$LAB_DL_URL" --github-mirror "$LAB_GITHUB_MIRROR" \
  --since "$BUNDLE" --split-size 100M \
  --sign-key "$WORK/site.pem" --output "$WORK/up-out" --cache-dir "$WORK/cache" >"$WORK/build-up.log" 2>&1 || fail "airgap build $LAB_UPGRADE_TO" "$WORK/build-up.log"
UP_BUNDLE=$WORK/up-out/airgap-k8s-$LAB_UPGRADE_TO-linux-amd64.tar
[[ ! -e $UP_BUNDLE && -f $UP_BUNDLE.parts && -f $UP_BUNDLE.part-002 ]] || fail "build --split-size did not leave only parts and their index" "$WORK/build-up.log"
(cd "$WORK/up-out" && sha256sum --strict -c "$(basename "$UP_BUNDLE").parts" >/dev/null) || fail "the parts do not check with sha256sum -c against their index"
UP_DELTA_MB=$(( $(du -cb "$UP_BUNDLE".part-* | tail -1 | cut -f1) / 1048576 )); FULL_MB=$(( $(stat -c %s "$BUNDLE") / 1048576 ))
"$KIT/upstream.sh" stop >/dev/null 2>&1
rm -rf "$WORK/cache"

step "lab nodes: 5 air-gapped machines"
"$KIT/nodes.sh" up 5 >"$WORK/nodes-up.log" 2>&1 || fail "nodes.sh up 5" "$WORK/nodes-up.log"
eval "$("$KIT/nodes.sh" env)"
read -r N1 N2 N3 N4 N5 <<<"$LAB_NODES"
SSH=(-i "$LAB_NODE_SSH_KEY" -o UserKnownHostsFile="$LAB_NODE_KNOWN_HOSTS" -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10)
on() { local h=$1; shift; ssh "${SSH[@]}" "root@$h" "$@"; }
KUBECONFIG_FILE=$WORK/lab-admin.conf
k() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }

cluster_yaml() {  # $1: file; $2: workers (yaml list body); $3: extra host lines
  cat >"$1" <<YAML
name: lab
bundle: $BUNDLE
hosts:
  - {name: node1, address: $N1}
  - {name: node2, address: $N2}
  - {name: node3, address: $N3}
  - {name: node4, address: $N4}
  - {name: node5, address: $N5}
${3:-}
roleGroups:
  controlPlane: [node1, node2, node3]
  worker: [$2]
controlPlaneEndpoint:
  loadBalancer: builtin
network:
  podNetworkCidr: 10.244.0.0/16
  cni: flannel
install:
  trustKeys: [$WORK/site.pub.pem]
ssh:
  privateKeyPath: $LAB_NODE_SSH_KEY
  knownHosts: $LAB_NODE_KNOWN_HOSTS
YAML
}

# Bad input: non-zero exit, exactly one error line, naming what is wrong.
expect_refused() {  # $1: what; $2: cluster.yaml; $3: text the error must hold
  local rc=0
  "$AIRGAP" cluster deploy -f "$2" >"$WORK/bad.out" 2>"$WORK/bad.err" || rc=$?
  [[ $rc -ne 0 ]] || fail "cluster deploy accepted $1"
  [[ $(grep -c '^error: ' "$WORK/bad.err") -eq 1 ]] || fail "$1 did not give exactly one error line" "$WORK/bad.err"
  grep '^error: ' "$WORK/bad.err" | grep -qF -- "$3" || fail "the error for $1 does not say \"$3\"" "$WORK/bad.err"
}

step "bad cluster.yaml inputs are refused with one line each, nothing changed"
cluster_yaml "$WORK/dup.yaml" node4 "  - {name: node6, address: $N4}"
expect_refused "a duplicate address" "$WORK/dup.yaml" "address $N4:22 is given for node4 and node6"
cluster_yaml "$WORK/unreach.yaml" node4
sed -i "s/address: $N4}/address: 10.90.0.99}/" "$WORK/unreach.yaml"
expect_refused "an unreachable host" "$WORK/unreach.yaml" "node4: cannot log in to root@10.90.0.99 over SSH"
cluster_yaml "$WORK/hostkey.yaml" node4
grep -v "^$N4 " "$LAB_NODE_KNOWN_HOSTS" >"$WORK/known_hosts.wrong"
awk -v n="$N4" -v o="$N1" '$1 == o {print n, $2, $3}' "$LAB_NODE_KNOWN_HOSTS" >>"$WORK/known_hosts.wrong"
sed -i "s#knownHosts: .*#knownHosts: $WORK/known_hosts.wrong#" "$WORK/hostkey.yaml"
expect_refused "a wrong host key" "$WORK/hostkey.yaml" "SHA256:"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/other_key" >/dev/null
cluster_yaml "$WORK/cred.yaml" node4
sed -i "s#privateKeyPath: .*#privateKeyPath: $WORK/other_key#" "$WORK/cred.yaml"
expect_refused "refused credentials" "$WORK/cred.yaml" "was refused for root"
"$AIRGAP" key generate --out "$WORK/other" >/dev/null 2>&1 || fail "airgap key generate (a second key)"
cluster_yaml "$WORK/foreign.yaml" node4
sed -i "s#trustKeys: .*#trustKeys: [$WORK/other.pub.pem]#" "$WORK/foreign.yaml"
expect_refused "a bundle signed by a key the site does not trust" "$WORK/foreign.yaml" "bundle.yaml.sig does not verify with any trusted key"
for n in $N1 $N4; do on "$n" test ! -e /var/lib/airgap -a ! -e /etc/airgap/trusted || fail "a refused deploy left /var/lib/airgap or trust keys on $n"; done

step "airgap cluster deploy: 3 control planes (built-in load balancer) + 1 worker"
cluster_yaml "$WORK/cluster.yaml" node4
DEPLOY_START=$SECONDS
"$AIRGAP" cluster deploy -f "$WORK/cluster.yaml" --kubeconfig "$KUBECONFIG_FILE" -o json >"$WORK/deploy.json" 2>"$WORK/deploy.log" \
  || fail "airgap cluster deploy" "$WORK/deploy.log"
DEPLOY_SECONDS=$((SECONDS - DEPLOY_START))
grep -q 'even number' "$WORK/deploy.log" && fail "3 control planes drew the even-number warning" "$WORK/deploy.log"
[[ $(stat -c %a "$KUBECONFIG_FILE") == 600 ]] || fail "the admin kubeconfig is not 0600"
if grep -E -- '--token [a-z0-9]{6}\.|certificate-key [0-9a-f]{64}' "$WORK/deploy.log" "$WORK/deploy.json"; then fail "a join secret was printed"; fi
# install.trustKeys went to every node: each node's own airgap now requires the site's signature.
for n in $N1 $N2 $N3 $N4; do
  on "$n" /var/lib/airgap/dist/airgap key list 2>&1 | grep -qF "$SITE_KEY  /etc/airgap/trusted/airgap-" || fail "$n does not trust the site key $SITE_KEY"
done

step "checks: nodes, etcd, Flannel, a workload across nodes, held packages"
for n in node1 node2 node3 node4; do
  k get node "$n" --no-headers | grep -qw Ready || fail "$n is not Ready"
  [[ $(k get node "$n" -o jsonpath='{.status.nodeInfo.kubeletVersion}') == v1.20.2 ]] || fail "$n is not at v1.20.2"
done
[[ $(k -n kube-system get pods -l component=etcd --no-headers | grep -c Running) -eq 3 ]] || fail "etcd does not run on 3 control planes"
# etcd's own v3 API (its gRPC gateway), from this host with the peer certificate: no etcdctl on the nodes.
etcd_members() {
  for f in ca.crt peer.crt peer.key; do on "$N1" cat "/etc/kubernetes/pki/etcd/$f" >"$WORK/etcd-$f"; done
  curl -s --max-time 10 --cacert "$WORK/etcd-ca.crt" --cert "$WORK/etcd-peer.crt" --key "$WORK/etcd-peer.key" \
    -X POST -d '{}' "https://$N1:2379/v3/cluster/member/list" | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("members", [])))'
}
members=$(etcd_members || echo 0)
[[ $members -eq 3 ]] || fail "etcd has $members members, not 3"
for n in node1 node2 node3 node4; do
  k -n kube-system get pods -l app=flannel -o wide --no-headers | grep -w "$n" | grep -q Running || fail "flannel is not Running on $n"
done
k apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      tolerations: [{key: node-role.kubernetes.io/master, effect: NoSchedule}]
      topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: web}}}]
      containers:
      - {name: web, image: $LAB_WORKLOAD_IMAGE, imagePullPolicy: IfNotPresent, ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}
YAML
k rollout status deployment/web --timeout=180s >/dev/null || { k get pods -o wide; fail "workload rollout"; }
spread=$(k get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u | wc -l)
[[ $spread -ge 2 ]] || fail "the workload runs on $spread node(s), not at least 2"
# Every pod answers node1 over its pod IP: the ones on other nodes cross the vxlan overlay.
for ip in $(k get pods -l app=web -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}'); do
  ok=; for _ in $(seq 20); do
    on "$N1" "timeout 5 bash -c 'exec 3<>/dev/tcp/$ip/80; printf \"GET / HTTP/1.0\r\n\r\n\" >&3; cat <&3'" 2>/dev/null | grep -q "hello from the lab" && ok=1 && break; sleep 1
  done
  [[ -n $ok ]] || fail "pod $ip did not answer node1 over the overlay"
done
port=$(k get svc web -o jsonpath='{.spec.ports[0].nodePort}')
for n in $N1 $N2 $N3 $N4; do
  ok=; for _ in $(seq 30); do curl -sf --max-time 5 "http://$n:$port/" | grep -q "hello from the lab" && ok=1 && break; sleep 1; done
  [[ -n $ok ]] || fail "NodePort $n:$port did not answer"
done
for n in $N1 $N2 $N3 $N4; do
  held=$(on "$n" apt-mark showhold)   # read whole: apt-mark flushes per line, and grep -q would cut it short (SIGPIPE)
  for p in kubeadm kubelet kubectl; do grep -qx "$p" <<<"$held" || fail "$p is not held on $n (held: $held)"; done
  [[ $(on "$n" dpkg-query -W -f '\${Version}' kubelet) == 1.20.2-00 ]] || fail "kubelet on $n is not 1.20.2-00"
done
on "$N4" systemctl is-active airgap-apiserver-proxy.service >/dev/null || fail "the built-in load balancer does not run on node4"

step "deploy again: nothing changes"
journals() { for n in $N1 $N2 $N3 $N4; do on "$n" sha256sum /var/lib/airgap/journal.json; done; }
journals >"$WORK/journals.before"
RERUN_START=$SECONDS
"$AIRGAP" cluster deploy -f "$WORK/cluster.yaml" --kubeconfig "$KUBECONFIG_FILE" >"$WORK/rerun.out" 2>"$WORK/rerun.log" || fail "second cluster deploy" "$WORK/rerun.log"
RERUN_SECONDS=$((SECONDS - RERUN_START))
journals >"$WORK/journals.after"
diff -u "$WORK/journals.before" "$WORK/journals.after" || fail "the re-run changed a node's journal"
for n in node2 node3 node4; do grep -q "^$n: joined earlier; Ready" "$WORK/rerun.log" || fail "the re-run did not check $n" "$WORK/rerun.log"; done
if grep -q 'certificates uploaded' "$WORK/rerun.log"; then fail "the re-run made join credentials" "$WORK/rerun.log"; fi
"$AIRGAP" cluster status -f "$WORK/cluster.yaml" >"$WORK/status.txt" 2>&1 || fail "cluster status" "$WORK/status.txt"
[[ $(grep -cE 'finalize done +v1.20.2 +Ready' "$WORK/status.txt") -eq 4 ]] || fail "cluster status does not show 4 nodes done and Ready" "$WORK/status.txt"

step "HA: node2 powered off, the API and scheduling go on"
HA_START=$SECONDS
"$KIT/nodes.sh" stop node2 >"$WORK/stop.log" 2>&1 || fail "nodes.sh stop node2" "$WORK/stop.log"
k get nodes >/dev/null || fail "the API does not answer with node2 down"
k create deployment ha-check --image="$LAB_WORKLOAD_IMAGE" >/dev/null
k rollout status deployment/ha-check --timeout=180s >/dev/null || { k get pods -o wide; fail "a new Deployment did not run with node2 down"; }
# The worker's own API traffic goes through its proxy, which passes over node2.
on "$N4" "timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6443'" || fail "node4's load balancer does not answer with node2 down"
"$KIT/nodes.sh" start node2 >"$WORK/start.log" 2>&1 || fail "nodes.sh start node2" "$WORK/start.log"
booted=$(date -u +%Y-%m-%dT%H:%M:%S)
# Ready as reported by node2's kubelet after the boot (its lease renewed since), not the status it had before it went down.
ok=; for _ in $(seq 120); do
  renewed=$(k -n kube-node-lease get lease node2 -o jsonpath='{.spec.renewTime}' 2>/dev/null || true)
  [[ $renewed > $booted ]] && k get node node2 --no-headers 2>/dev/null | grep -qw Ready && ok=1 && break; sleep 2
done
[[ -n $ok ]] || fail "node2 did not come back Ready (its kubelet did not report after the boot)"
on "$N2" "grep -q 'airgap: control-plane endpoint' /etc/hosts" || fail "node2 lost the endpoint name from /etc/hosts at boot"
ok=; for _ in $(seq 60); do [[ $(k -n kube-system get pods -l component=etcd --no-headers | grep -c Running) -eq 3 ]] && ok=1 && break; sleep 2; done
[[ -n $ok ]] || fail "etcd on node2 did not come back"
HA_SECONDS=$((SECONDS - HA_START))

step "add node5 as a worker, its kubeadm killed mid-join: node5 named, then the re-run resumes it"
cluster_yaml "$WORK/cluster.yaml" "node4, node5"
ADD_START=$SECONDS
"$AIRGAP" cluster deploy -f "$WORK/cluster.yaml" --kubeconfig "$KUBECONFIG_FILE" >"$WORK/add-cut.out" 2>"$WORK/add-cut.log" & deploy=$!
for _ in $(seq 600); do grep -q '^node5: \[kubeadm\]' "$WORK/add-cut.log" && break; sleep 0.5; done
grep -q '^node5: \[kubeadm\]' "$WORK/add-cut.log" || fail "node5 never reached its kubeadm phase" "$WORK/add-cut.log"
sleep 2
on "$N5" pkill -x kubeadm || fail "no kubeadm ran on node5 to kill" "$WORK/add-cut.log"
if wait "$deploy"; then fail "the deploy went on with node5's kubeadm killed" "$WORK/add-cut.log"; fi
[[ $(grep -c '^error: ' "$WORK/add-cut.log") -eq 1 ]] || fail "the mid-join failure is not one error line" "$WORK/add-cut.log"
grep '^error: ' "$WORK/add-cut.log" | grep -q 'node5: phase kubeadm failed' || fail "the error does not name node5 and its kubeadm phase" "$WORK/add-cut.log"
grep -q '^node5:   kubeadm: ' "$WORK/add-cut.log" || fail "kubeadm's output on node5 was not shown" "$WORK/add-cut.log"
"$AIRGAP" cluster deploy -f "$WORK/cluster.yaml" --kubeconfig "$KUBECONFIG_FILE" >"$WORK/add.out" 2>"$WORK/add.log" || fail "cluster deploy with node5, resumed" "$WORK/add.log"
ADD_SECONDS=$((SECONDS - ADD_START))
grep -q '^node5:   the last attempt stopped inside kubeadm: kubeadm reset -f before trying again' "$WORK/add.log" || fail "node5 did not resume its own half-made join" "$WORK/add.log"
grep -q '^node5: \[preflight\] done earlier; checked' "$WORK/add.log" || fail "node5 redid phases it had finished" "$WORK/add.log"
for n in node2 node3 node4; do grep -q "^$n: joined earlier; Ready" "$WORK/add.log" || fail "$n was not left as it was" "$WORK/add.log"; done
k get node node5 --no-headers | grep -qw Ready || fail "node5 is not Ready"
"$KIT/nodes.sh" mem >"$WORK/mem.txt" 2>&1 || true

step "airgap cluster upgrade to $LAB_UPGRADE_TO: rolling over 3 control planes and 2 workers, a PDB-guarded workload probed throughout, the jump host killed once"
UPGRADE_START=$SECONDS
# The new release as a delta in parts: bundle: names the .tar that exists only as parts; base: the bundle the nodes have.
sed "s#^bundle: .*#bundle: $UP_BUNDLE\nbase: $BUNDLE#" "$WORK/cluster.yaml" >"$WORK/cluster-up.yaml"
# A node that cannot be reached is named, and nothing starts.
sed "s/address: $N4}/address: 10.90.0.99}/" "$WORK/cluster-up.yaml" >"$WORK/cluster-up-unreach.yaml"
rc=0; "$AIRGAP" cluster upgrade apply -f "$WORK/cluster-up-unreach.yaml" >"$WORK/up-unreach.out" 2>"$WORK/up-unreach.err" || rc=$?
[[ $rc -ne 0 && $(grep -c '^error: ' "$WORK/up-unreach.err") -eq 1 ]] || fail "an upgrade with node4 unreachable was not refused in one line" "$WORK/up-unreach.err"
grep '^error: ' "$WORK/up-unreach.err" | grep -q 'node4: cannot log in' || fail "the refusal does not name node4" "$WORK/up-unreach.err"
[[ $(k get nodes -o jsonpath='{.items[*].status.nodeInfo.kubeletVersion}' | tr ' ' '\n' | sort -u) == v1.20.2 ]] || fail "a refused upgrade changed a node"
# The lab's upgrade selftest's workload: 2 replicas spread over nodes, a readiness probe, a PDB of minAvailable 1.
k apply -f - >/dev/null <<YAML || fail "the PDB workload"
apiVersion: apps/v1
kind: Deployment
metadata: {name: guarded}
spec:
  replicas: 2
  selector: {matchLabels: {app: guarded}}
  template:
    metadata: {labels: {app: guarded}}
    spec:
      tolerations: [{key: node-role.kubernetes.io/master, effect: NoSchedule}, {key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: guarded}}}
      containers:
      - name: web
        image: $LAB_WORKLOAD_IMAGE
        imagePullPolicy: Never
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: guarded}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: guarded}}
---
apiVersion: v1
kind: Service
metadata: {name: guarded}
spec:
  type: NodePort
  selector: {app: guarded}
  ports: [{port: 80}]
YAML
k rollout status deployment/guarded --timeout=180s >/dev/null || fail "the PDB workload did not roll out"
GPORT=$(k get svc guarded -o jsonpath='{.spec.ports[0].nodePort}')
"$AIRGAP" cluster upgrade plan -f "$WORK/cluster-up.yaml" >"$WORK/up-plan.txt" 2>"$WORK/up-plan.log" || fail "cluster upgrade plan" "$WORK/up-plan.log"
grep -q "upgrade v1.20.2 → $LAB_UPGRADE_TO (patch)" "$WORK/up-plan.txt" || fail "the plan does not say v1.20.2 → $LAB_UPGRADE_TO" "$WORK/up-plan.txt"
( ok=0 failed=0 i=0; nodes=($N1 $N2 $N3 $N4 $N5)
  while [[ ! -e $WORK/upgrade.done ]]; do
    ip=${nodes[$((i % 5))]}; i=$((i + 1))
    if curl -sf -m 2 "http://$ip:$GPORT/" | grep -q "hello from the lab"; then ok=$((ok + 1)); else failed=$((failed + 1)); echo "$(date +%T) $ip" >>"$WORK/probe-failures"; fi
    echo "$failed $((ok + failed))" >"$WORK/probes"; sleep 0.5
  done ) &
PROBE_PID=$!
# The jump host's airgap killed (SIGKILL) while node2, the second control plane, is in its kubeadm upgrade.
"$AIRGAP" cluster upgrade apply -f "$WORK/cluster-up.yaml" >"$WORK/up-cut.out" 2>"$WORK/up-cut.log" & up=$!
for _ in $(seq 1200); do grep -q '^node2: \[kubeadm\] install' "$WORK/up-cut.log" && break; kill -0 "$up" 2>/dev/null || break; sleep 0.5; done
grep -q '^node2: \[kubeadm\] install' "$WORK/up-cut.log" || { touch "$WORK/upgrade.done"; fail "the upgrade never reached node2's kubeadm phase" "$WORK/up-cut.log"; }
sleep 3
kill -9 "$up" 2>/dev/null || true; wait "$up" 2>/dev/null || true
"$AIRGAP" cluster upgrade apply -f "$WORK/cluster-up.yaml" -o json >"$WORK/up.json" 2>"$WORK/up.log" || { touch "$WORK/upgrade.done"; fail "cluster upgrade apply after the kill" "$WORK/up.log"; }
touch "$WORK/upgrade.done"; wait "$PROBE_PID" 2>/dev/null || true
read -r PROBES_FAILED PROBES_TOTAL <"$WORK/probes"
UPGRADE_SECONDS=$((SECONDS - UPGRADE_START))
# Nothing done twice: node1 finished before the kill, so the re-run only checks it.
grep -q '^node1: \[kubeadm\] done earlier; checked' "$WORK/up.log" || fail "the re-run did not just check node1" "$WORK/up.log"
if grep -q '^node1:   kubeadm: ' "$WORK/up.log"; then fail "the re-run ran kubeadm on node1 again" "$WORK/up.log"; fi
for n in node1 node2 node3 node4 node5; do
  [[ $(k get node "$n" -o jsonpath='{.status.nodeInfo.kubeletVersion}') == "$LAB_UPGRADE_TO" ]] || fail "$n is not at $LAB_UPGRADE_TO" "$WORK/up.log"
  [[ -z $(k get node "$n" -o jsonpath='{.spec.unschedulable}') ]] || fail "$n was left cordoned" "$WORK/up.log"
done
[[ $(k version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])') == "$LAB_UPGRADE_TO" ]] || fail "the API server is not $LAB_UPGRADE_TO"
for ip in $N1 $N2 $N3 $N4 $N5; do
  held=$(on "$ip" "dpkg-query -W -f='\${db:Status-Abbrev}\${Version} ' kubeadm kubelet kubectl")
  [[ $held == "hi ${LAB_UPGRADE_TO#v}-00 hi ${LAB_UPGRADE_TO#v}-00 hi ${LAB_UPGRADE_TO#v}-00 " ]] || fail "$ip: kubeadm, kubelet, kubectl not held at ${LAB_UPGRADE_TO#v}-00 ($held)"
done
for cp in $N1 $N2 $N3; do on "$cp" grep -q "kube-apiserver:$LAB_UPGRADE_TO" /etc/kubernetes/manifests/kube-apiserver.yaml || fail "$cp's API server manifest is not $LAB_UPGRADE_TO"; done
if k get pods -A --no-headers | grep -E 'ErrImagePull|ImagePullBackOff'; then fail "a pod could not get its image after the upgrade"; fi
"$AIRGAP" cluster status -f "$WORK/cluster-up.yaml" >"$WORK/status-up.txt" 2>&1 || fail "cluster status after the upgrade" "$WORK/status-up.txt"
grep -q "airgap-k8s-$LAB_UPGRADE_TO-linux-amd64.tar (Kubernetes $LAB_UPGRADE_TO)" "$WORK/status-up.txt" || fail "cluster status does not show the new bundle" "$WORK/status-up.txt"
[[ $(grep -cE " $LAB_UPGRADE_TO +Ready" "$WORK/status-up.txt") -eq 5 ]] || fail "cluster status does not show 5 nodes Ready at $LAB_UPGRADE_TO" "$WORK/status-up.txt"
"$AIRGAP" cluster deploy -f "$WORK/cluster-up.yaml" --kubeconfig "$KUBECONFIG_FILE" >"$WORK/deploy-up.out" 2>"$WORK/deploy-up.log" || fail "cluster deploy after the upgrade (a converged cluster)" "$WORK/deploy-up.log"
grep -q "^node1: upgraded earlier to $LAB_UPGRADE_TO; Ready" "$WORK/deploy-up.log" || fail "deploy after the upgrade did not recognise node1 as upgraded" "$WORK/deploy-up.log"
rc=0; "$AIRGAP" cluster upgrade plan -f "$WORK/cluster.yaml" >"$WORK/down.out" 2>"$WORK/down.err" || rc=$?
[[ $rc -ne 0 && $(tail -1 "$WORK/down.err") == "error: refusing: "*"downgrade"* ]] || fail "a plan back to v1.20.2 was not refused as a downgrade in one line" "$WORK/down.err"
NODE_TIMES=$(grep -oE '^node[0-9]: at v[0-9.]+, Ready, uncordoned \([0-9]+ s\)' "$WORK/up.log" | sed -E 's/^(node[0-9]): .*\(([0-9]+) s\)/\1 \2 s/' | paste -sd, - | sed 's/,/, /g')
# The delta travelled as parts (never joined on a node), and the base the nodes had from the deploy was not sent again.
for n in $N1 $N2 $N3 $N4 $N5; do
  on "$n" "test -f /var/lib/airgap/dist/$(basename "$UP_BUNDLE").parts -a ! -e /var/lib/airgap/dist/$(basename "$UP_BUNDLE") -a ! -e /var/lib/airgap/dist/base-$(basename "$BUNDLE")" \
    || fail "$n does not hold the delta as parts beside its one copy of the base"
done
for n in node1 node2 node3 node4 node5; do grep -q "^$n: base bundle already there, sha256 checked" "$WORK/up-cut.log" || fail "the base was sent to $n again" "$WORK/up-cut.log"; done
echo "cluster upgrade: $UPGRADE_SECONDS s (with the kill and the re-run), from a signed delta of ${UP_DELTA_MB} MiB (the full v1.20.2 bundle: ${FULL_MB} MiB) in 100M parts; NodePort probes failed $PROBES_FAILED of $PROBES_TOTAL; per node after the kill: $NODE_TIMES"

step "cluster reset: every node clean"
"$AIRGAP" cluster reset -f "$WORK/cluster.yaml" >"$WORK/reset.out" 2>"$WORK/reset.log" || fail "cluster reset" "$WORK/reset.log"
for n in $N1 $N2 $N3 $N4 $N5; do
  on "$n" test ! -e /etc/kubernetes || fail "$n still has /etc/kubernetes"
  on "$n" "! systemctl is-active -q kubelet" || fail "kubelet still runs on $n"
  on "$n" "! ip link show cni0 >/dev/null 2>&1 && ! ip link show flannel.1 >/dev/null 2>&1" || fail "$n still has CNI interfaces"
  on "$n" "! grep -q 'airgap: control-plane endpoint' /etc/hosts && test ! -e /etc/systemd/system/airgap-endpoint-hosts.service" || fail "$n still has the endpoint in /etc/hosts or its unit"
done
[[ ! -e $KUBECONFIG_FILE ]] || fail "cluster reset left the admin kubeconfig"

step "done"
TOTAL=$((SECONDS - T0))
phase_times=$(python3 - "$WORK/deploy.json" <<'PY'
import json, sys
for p in json.load(open(sys.argv[1]))["phases"]:
    print(f"| {p['phase']} | {p['outcome']} | {p['seconds']:.1f} s |")
PY
)
uploads=$(grep -E '^node[0-9]: (bundle|airgap) sent' "$WORK/deploy.log" | sed -E 's/^(node[0-9]): (bundle|airgap) sent \(([0-9.]+) MiB in ([0-9.]+) s\).*/| \1 | \2 | \3 MiB | \4 s |/')
mem=$(sed 's/^/    /' "$WORK/mem.txt")
python3 - "$ROOT/bench/results.md" <<PY
import re, sys
path = sys.argv[1]
text = open(path).read()
section = """## make e2e-cluster (scripts/e2e-cluster.sh)

Measured by \`make e2e-cluster\` on this machine (2 cores), $(date -u +%Y-%m-%d); lab caches warm unless the build says otherwise.

| step | time |
|---|---|
| airgap build (Flannel, debian-12 packages, cold blob cache) | ${BUILD_SECONDS} s |
| airgap cluster deploy, 3 control planes + 1 worker, from nothing to all Ready | ${DEPLOY_SECONDS} s |
| deploy again (nothing to do: checks only) | ${RERUN_SECONDS} s |
| HA: node2 off, API + new Deployment, node2 back Ready with etcd | ${HA_SECONDS} s |
| add node5 (only it joins; its kubeadm killed once mid-join, then resumed) | ${ADD_SECONDS} s |
| airgap cluster upgrade v1.20.2 → ${LAB_UPGRADE_TO}, 3 control planes + 2 workers, rolling (the jump host's airgap SIGKILLed in node2's kubeadm phase, then apply again), with refusals, plan and checks; from a signed delta of ${UP_DELTA_MB} MiB (the full v1.20.2 bundle: ${FULL_MB} MiB) carried as 100M parts, the base the nodes held not sent again | ${UPGRADE_SECONDS} s |
| NodePort probes of a 2-replica PDB-guarded workload every 0.5 s (round robin over the 5 nodes) during the upgrade, failed / total | ${PROBES_FAILED} / ${PROBES_TOTAL} |
| per node in the run after the kill: drain, kubelet, Ready, uncordon (the kubeadm upgrades run before, control planes first) | ${NODE_TIMES} |
| whole e2e-cluster | ${TOTAL} s |

Deploy phases (the first deploy):

| phase | outcome | time |
|---|---|---|
${phase_times}

Uploads over SFTP (bundle and the node's airgap; sha256 checked on the node):

| node | file | size | time |
|---|---|---|---|
${uploads}

Memory per node after the checks (\`nodes.sh mem\`):

${mem}
"""
marker = "## make e2e-cluster (scripts/e2e-cluster.sh)"
if marker in text:
    text = re.sub(re.escape(marker) + r".*?(?=\n## |\Z)", section.rstrip() + "\n", text, flags=re.S)
else:
    text = text.rstrip() + "\n\n" + section
open(path, "w").write(text)
PY
echo "e2e-cluster: OK in ${TOTAL} s"
