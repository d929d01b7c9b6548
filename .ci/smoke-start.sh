#!/usr/bin/env bash
# `npm start` on a fresh data dir must serve kubectl with nothing but the generated kubeconfig.
set -euo pipefail
data_dir="$(mktemp -d)"
port=16443
KUBETIME_DATA_DIR="$data_dir" PORT="$port" env -u DATABASE_URL npm start >"$data_dir/server.log" 2>&1 &
server_pid=$!
cleanup() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  rm -rf "$data_dir"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  if [ -f "$data_dir/kubeconfig" ] && KUBECONFIG="$data_dir/kubeconfig" kubectl get ns >/dev/null 2>&1; then break; fi
  sleep 1
done
KUBECONFIG="$data_dir/kubeconfig" kubectl get ns
KUBECONFIG="$data_dir/kubeconfig" kubectl create namespace smoke
KUBECONFIG="$data_dir/kubeconfig" kubectl get ns smoke
echo "smoke: ok"
