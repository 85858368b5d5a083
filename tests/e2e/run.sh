#!/usr/bin/env bash
# berth's end-to-end suite: a private engine driven by the real docker CLI.
# Usage: tests/e2e/run.sh [test_function ...]   (default: all)
set -uo pipefail
cd "$(dirname "$0")"
source ./lib.sh
for f in ./*_test.sh; do source "$f"; done

command -v docker >/dev/null || { say "the docker CLI is required"; exit 1; }
tests=("$@")
if ((${#tests[@]} == 0)); then
  tests=(test_images test_save test_image_formats test_image_prune test_image_gc test_image_safety
         test_status test_run_foreground test_isolation test_lifecycle
         test_errors test_crash_recovery test_volumes test_pause_top_restart test_update test_security
         test_init test_devices test_shared_namespaces test_health test_events test_compose
         test_python_sdk test_exec test_stats test_network test_network_v6 test_registry test_registry_faults test_registry_auth test_ports_dns
         test_storage test_storage_race test_commit test_build test_build_cache test_build_cache_from test_build_options test_build_dockerfile
         test_runc_under_dockerd test_detach_keys test_log_drivers test_restarting test_events_order test_cgroupns
         test_events_actions test_bad_input test_docker_flags
         test_runc_conformance test_systemd_cgroups test_systemd_cgroups_v2
         test_userns_remap)
fi

trap 'engine_stop; engine_cleanup' EXIT
if ! engine_start; then
  fail "engine starts"
  report
  exit 1
fi
if ! docker image inspect busybox >/dev/null 2>&1; then
  "$REPO/scripts/make-busybox-image.sh" "$E2E_DIR/busybox.tar" >/dev/null
  docker load -i "$E2E_DIR/busybox.tar" >/dev/null
fi
for t in "${tests[@]}"; do "$t"; done

say "== leaks"
docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1
check_no_container_leaks
((FAIL)) && engine_logs 40
engine_stop
SUPERVISOR_PID=
check_no_engine_leaks
report
