# shellcheck shell=bash
# Other real Docker clients against the engine: docker-compose (Debian's 1.29,
# which speaks the Engine API through docker-py) and the Python SDK.

test_compose() {
  say "== docker-compose"
  command -v docker-compose >/dev/null || { fail "docker-compose is installed"; return; }
  local dir=$E2E_DIR/compose port out
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$dir"
  cat >"$dir/docker-compose.yml" <<YAML
version: "3.8"
services:
  web:
    image: busybox
    command: sh -c 'mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www'
    ports:
      - "127.0.0.1:$port:80"
    volumes:
      - data:/data
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost/"]
      interval: 1s
  client:
    image: busybox
    command: sh -c 'until wget -q -O - http://web/; do sleep 0.2; done; sleep 300'
    depends_on:
      - web
volumes:
  data: {}
YAML
  local project="bc$$"
  local compose=(docker-compose --project-directory "$dir" -f "$dir/docker-compose.yml" -p "$project")
  check "compose up -d" timeout 120 "${compose[@]}" up -d
  out=$(timeout 30 "${compose[@]}" ps 2>&1)
  check_contains "compose ps lists the services" "${project}_web_1" "$out"
  check "the web service is published on the host" \
    wait_for 20 sh -c "curl -sf http://127.0.0.1:$port/ | grep -q hello-from-web"
  check "the client reached web by its service name" \
    wait_for 20 sh -c "docker logs ${project}_client_1 2>&1 | grep -q hello-from-web"
  check "the healthcheck turns healthy" wait_for 20 sh -c \
    "docker inspect -f '{{.State.Health.Status}}' ${project}_web_1 | grep -qx healthy"
  out=$(timeout 30 "${compose[@]}" exec -T web cat /www/index.html 2>&1)
  check_eq "compose exec" "hello-from-web" "$out"
  check_contains "compose made its volume" "${project}_data" "$(docker volume ls -q)"
  check "compose down -v" timeout 120 "${compose[@]}" down -v
  check_eq "no container left" "" "$(docker ps -aq --filter "name=$project")"
  check_not_contains "no network left" "${project}_default" \
    "$(docker network ls --format '{{.Name}}')"
  check_not_contains "no volume left" "${project}_data" "$(docker volume ls -q)"
}

test_python_sdk() {
  say "== the Docker SDK for Python"
  python3 -c 'import docker' 2>/dev/null || { fail "python3-docker is installed"; return; }
  local out
  out=$(timeout 120 python3 - <<'PY' 2>&1
import docker
client = docker.from_env()
assert client.ping()
print("version", client.version()["ApiVersion"] != "")
print("run", client.containers.run("busybox", ["echo", "hi"], remove=True).decode().strip())
c = client.containers.run("busybox", ["sh", "-c", "echo out; sleep 30"], detach=True,
                          name="sdk-one")
c.reload()
print("status", c.status)
result = c.exec_run(["sh", "-c", "echo exec-ok; exit 4"])
print("exec", result.exit_code, result.output.decode().strip())
c.kill()
print("wait", c.wait()["StatusCode"])
print("logs", c.logs().decode().strip())
c.remove()
print("images", any("busybox:latest" in i.tags for i in client.images.list()))
v = client.volumes.create("sdk-vol")
print("volume", v.name)
v.remove()
PY
)
  check_contains "ping and version" "version True" "$out"
  check_contains "containers.run returns the output" "run hi" "$out"
  check_contains "a detached container runs" "status running" "$out"
  check_contains "exec_run gives exit code and output" "exec 4 exec-ok" "$out"
  check_contains "kill then wait gives 137" "wait 137" "$out"
  check_contains "logs" "logs out" "$out"
  check_contains "images.list" "images True" "$out"
  check_contains "volumes" "volume sdk-vol" "$out"
}
