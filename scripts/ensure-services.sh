#!/usr/bin/env bash
# Makes sure the PostgreSQL and NATS servers the tests talk to are running on 127.0.0.1, starting
# (and if need be installing) the machine's own packages, and that the tools some tests drive are
# installed (Chromium, promtool, docker-compose). Prints one line per service.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >/dev/null
  as_root apt-get install -y -qq "$@" >/dev/null
}

if ! pg_up; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "PostgreSQL: not installed; installing Debian's postgresql"
    apt_install postgresql
    version=$(ls /etc/postgresql | sort -V | tail -1)
    sed -i 's/^\(host.*127.0.0.1\/32\s*\)\S*$/\1trust/; s/^\(local\s*all\s*all\s*\)\S*$/\1trust/' \
      "/etc/postgresql/$version/main/pg_hba.conf"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  for _ in $(seq 1 60); do pg_up && break; sleep 0.5; done
  pg_up || { echo "PostgreSQL: could not start a server on 127.0.0.1:5432" >&2; exit 1; }
fi
echo "PostgreSQL: ready on 127.0.0.1:5432"

# The binary is needed even when a server already runs: `bun start` (and its e2e test) starts
# its own nats-server when NATS_URL is not set.
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  echo "NATS: nats-server not installed; installing Debian's nats-server"
  apt_install nats-server
fi
if ! nats_up; then
  mkdir -p /var/lib/nats-server
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server
  for _ in $(seq 1 60); do nats_up && break; sleep 0.5; done
  nats_up || { echo "NATS: could not start a server on 127.0.0.1:4222" >&2; exit 1; }
fi
echo "NATS: ready on 127.0.0.1:4222"

# Tools the suite drives rather than mocks: the dashboard's browser test (Chromium), `promtool
# check metrics`, the alert rules' `promtool test rules` and the `prometheus` server of the alert
# test (Debian's prometheus) and the compose files' checks (docker-compose).
# A tool that cannot be installed makes its test fail, naming it; the other tests still run.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if [ ${#missing[@]} -eq 0 ]; then
  echo "test tools: chromium, promtool and docker-compose present"
elif echo "test tools: installing Debian's ${missing[*]}" && apt_install "${missing[@]}"; then
  echo "test tools: installed ${missing[*]}"
else
  echo "test tools: could not install ${missing[*]}; the tests that need them will fail" >&2
fi
