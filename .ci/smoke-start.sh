#!/usr/bin/env bash
# `npm start` on a fresh data dir must serve kubectl with nothing but the generated kubeconfig.
set -euo pipefail
data_dir="$(mktemp -d)"
port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
# Its own process group, so stopping it reaches the server behind npm and the shell npm starts.
KUBETIME_DATA_DIR="$data_dir" PORT="$port" setsid env -u DATABASE_URL npm start >"$data_dir/server.log" 2>&1 &
server_pid=$!
cleanup() {
  kill -TERM -- "-$server_pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 -- "-$server_pid" 2>/dev/null || break; sleep 1; done
  rm -rf "$data_dir"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  if [ -f "$data_dir/kubeconfig" ] && KUBECONFIG="$data_dir/kubeconfig" kubectl get ns >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$data_dir/server.log"; exit 1; fi
  sleep 1
done
KUBECONFIG="$data_dir/kubeconfig" kubectl get ns
KUBECONFIG="$data_dir/kubeconfig" kubectl create namespace smoke
KUBECONFIG="$data_dir/kubeconfig" kubectl get ns smoke
# The built-in controllers run by default: a Deployment rolls out onto the simulated nodes.
KUBECONFIG="$data_dir/kubeconfig" kubectl create deployment web --image=nginx --replicas=2
KUBECONFIG="$data_dir/kubeconfig" kubectl rollout status deployment/web --timeout=60s
KUBECONFIG="$data_dir/kubeconfig" kubectl get pods -o wide
echo "smoke: ok"
