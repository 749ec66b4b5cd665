#!/usr/bin/env bash
# Make sure the tests can reach MariaDB/MySQL: YARA_MYSQL_URL if set, else a server on
# 127.0.0.1:3306, starting the local service when one is installed but down. When none can be
# found this exits non-zero with how to provide one: the MariaDB tests fail, they never skip.
set -euo pipefail

if [[ -n "${YARA_MYSQL_URL:-}" ]]; then
  echo "MariaDB: using YARA_MYSQL_URL"
  exit 0
fi

port_open() { (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; }

if port_open; then
  echo "MariaDB: found a server on 127.0.0.1:3306"
  exit 0
fi

start_local() {
  if command -v systemctl >/dev/null 2>&1 && systemctl list-unit-files mariadb.service >/dev/null 2>&1; then
    systemctl start mariadb && return 0
  fi
  if command -v service >/dev/null 2>&1 && [[ -x /etc/init.d/mariadb ]]; then
    service mariadb start && return 0
  fi
  if command -v mysqld_safe >/dev/null 2>&1; then
    (mysqld_safe --bind-address=127.0.0.1 --port=3306 >/dev/null 2>&1 &) && return 0
  fi
  return 1
}

if start_local; then
  echo "MariaDB: starting the local server"
  for _ in $(seq 1 30); do
    port_open && { echo "MariaDB: started"; exit 0; }
    sleep 1
  done
fi

cat >&2 <<MSG
MariaDB (or MySQL) was not found on 127.0.0.1:3306 and could not be started here.
Provide one with: YARA_MYSQL_URL=mysql://user:pass@host:port/db make test
            or:   docker compose -f docker/compose.yml up -d mariadb
MSG
exit 1
