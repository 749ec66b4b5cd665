#!/usr/bin/env bash
# Make sure the tests can reach PostgreSQL: YARA_PG_URL if set, else a server on
# 127.0.0.1:5432, starting the local cluster when one is installed but down. When none can be
# found, say how to provide one; the tests themselves then fail (never skip).
set -euo pipefail

if [[ -n "${YARA_PG_URL:-}" ]]; then
  echo "PostgreSQL: using YARA_PG_URL"
  exit 0
fi

port_open() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if port_open; then
  echo "PostgreSQL: found a server on 127.0.0.1:5432"
  exit 0
fi

if command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]]; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "PostgreSQL: starting local cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do
    port_open && { echo "PostgreSQL: started"; exit 0; }
    sleep 1
  done
fi

cat >&2 <<MSG
PostgreSQL was not found on 127.0.0.1:5432 and could not be started here.
The tests will try testcontainers (needs a Docker engine) and fail if that does not work.
Provide one with: YARA_PG_URL=postgres://user:pass@host:port/db make test
            or:   docker compose -f docker/compose.yml up -d
MSG
