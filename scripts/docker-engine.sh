#!/usr/bin/env bash
# Installs and starts a Docker Engine on Debian, builds the test images without any
# registry access, and runs a local registry on 127.0.0.1:5000 holding one of them (to
# test pulls). Idempotent: safe to run again while everything is already up.
#   scripts/docker-engine.sh            # engine + images + registry
#   scripts/docker-engine.sh --stop     # stop what this script started
set -euo pipefail
state=${DOCKER_TEST_STATE:-/var/lib/bacalhau-ts-test}
mkdir -p "$state"
docker_bin=/usr/bin/docker # Debian's client matches Debian's engine API

if [ "${1:-}" = "--stop" ]; then
  for name in registry dockerd; do
    [ -f "$state/$name.pid" ] && kill "$(cat "$state/$name.pid")" 2>/dev/null || true
    rm -f "$state/$name.pid"
  done
  exit 0
fi

need=()
command -v dockerd >/dev/null || need+=(docker.io)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v docker-registry >/dev/null || need+=(docker-registry)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

engine_up() { timeout 5 "$docker_bin" version >/dev/null 2>&1; }

if ! engine_up; then
  # apt's postinst may have started (or half-started) its own dockerd: stop it first,
  # or ours fails on the pid file.
  if [ -f /var/run/docker.pid ]; then
    kill "$(cat /var/run/docker.pid)" 2>/dev/null || true
    for _ in $(seq 1 50); do [ -f /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null || break; sleep 0.1; done
    rm -f /var/run/docker.pid
  fi
  command -v containerd >/dev/null && ! pgrep -x containerd >/dev/null && true
  setsid nohup dockerd > "$state/dockerd.log" 2>&1 < /dev/null &
  echo $! > "$state/dockerd.pid"
  for _ in $(seq 1 300); do engine_up && break; sleep 0.2; done
  engine_up || { echo "dockerd did not start; its log:" >&2; tail -30 "$state/dockerd.log" >&2; exit 1; }
fi

# busybox test image from the static busybox binary: no registry needed.
if ! "$docker_bin" image inspect busybox:1.37.0 >/dev/null 2>&1; then
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs"/{bin,tmp,inputs,outputs,etc}
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    # `busybox --list` names busybox itself: linking it would replace the binary.
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
  chmod 1777 "$rootfs/tmp"
  tar -C "$rootfs" -cf "$state/busybox-rootfs.tar" .
  rm -rf "$rootfs"
  "$docker_bin" import --change 'CMD ["sh"]' --change 'ENV PATH=/bin' "$state/busybox-rootfs.tar" busybox:1.37.0 >/dev/null
fi
for tag in busybox:latest ubuntu:latest ubuntu:24.04; do
  "$docker_bin" image inspect "$tag" >/dev/null 2>&1 || "$docker_bin" tag busybox:1.37.0 "$tag"
done

# A local registry on loopback only (Debian's packaged config listens on all interfaces
# and wants htpasswd auth).
registry_up() { timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5000' 2>/dev/null; }
if ! registry_up; then
  cat > "$state/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $state/registry-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YAML
  setsid nohup docker-registry serve "$state/registry.yml" > "$state/registry.log" 2>&1 < /dev/null &
  echo $! > "$state/registry.pid"
  for _ in $(seq 1 100); do registry_up && break; sleep 0.1; done
  registry_up || { echo "docker-registry did not start" >&2; tail -20 "$state/registry.log" >&2; exit 1; }
fi
# Publish the test image to the registry (127.0.0.0/8 may use plain HTTP by default).
if ! curl -sf http://127.0.0.1:5000/v2/bacalhau-test/busybox/tags/list 2>/dev/null | grep -q 1.37.0; then
  "$docker_bin" tag busybox:1.37.0 127.0.0.1:5000/bacalhau-test/busybox:1.37.0
  "$docker_bin" push 127.0.0.1:5000/bacalhau-test/busybox:1.37.0 >/dev/null
  "$docker_bin" rmi 127.0.0.1:5000/bacalhau-test/busybox:1.37.0 >/dev/null
fi
echo "docker engine ready: $("$docker_bin" version --format '{{.Server.Version}}'); registry on 127.0.0.1:5000"
