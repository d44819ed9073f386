# shellcheck shell=bash
# Helpers for the unit tests of the rendered backup-ns.sh (bats/script_*.bats).
#
#   render_scripts DIR CAPS...       render the scripts for CAPS ("postgres,flock",
#                                    "mysql,lease", "none", ...) into DIR in one go
#   render_script CAPS               print the script for CAPS
#   script_path CAPS                 render once per test file, print the path
#   in_script SCRIPT [VAR=value...] -- FUNCTION [ARG...]
#                                    source SCRIPT in a clean environment (only PATH,
#                                    HOME and the given variables) and call FUNCTION
#
# Rendering goes through the generator itself (backupns_gen.loader.parse_config ->
# backupns_gen.plan -> backupns_gen.render.render_script), from a small config: PVCs
# data and uploads, time zone Europe/Vienna, the database and the lock mode (lease,
# flock, else none) per CAPS.

BNS_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)

# render_scripts DIR CAPS...: render the script for each CAPS into
# DIR/backup-ns.<caps with - for ,>.sh (one Python process for all).
render_scripts() {
  local dir=$1
  shift
  PYTHONPATH="$BNS_ROOT${PYTHONPATH:+:$PYTHONPATH}" python3 - "$dir" "$@" <<'PY'
import os
import sys

from backupns_gen import plan, render
from backupns_gen.loader import parse_config

out_dir, ns_name = sys.argv[1], "shop-prod"
for caps_arg in sys.argv[2:]:
    caps = {c for c in caps_arg.split(",") if c and c != "none"}
    mode = "lease" if "lease" in caps else "flock" if "flock" in caps else "none"
    database: object = "none"
    if "postgres" in caps:
        database = {"postgres": {"exec": "deployment/app-base", "container": "postgres",
                                 "dumpFile": "/var/lib/postgresql/data/dump.sql.gz"}}
    elif "mysql" in caps:
        database = {"mysql": {"exec": "statefulset/wordpress-db", "container": "mariadb",
                              "pvc": "data", "dumpFile": "/var/lib/mysql/dump.sql.gz"}}
    raw = {
        "defaults": {"timeZone": "Europe/Vienna", "lock": {"mode": mode}},
        "namespaces": {ns_name: {"pvcs": ["data", "uploads"], "database": database}},
        "controller": {"namespace": "backup-ns"},
    }
    config = parse_config(raw, "backupns.yaml")
    unit = plan.plan_namespace(ns_name, config.namespaces[ns_name], "backup-ns")
    path = os.path.join(out_dir, f"backup-ns.{caps_arg.replace(',', '-')}.sh")
    with open(path + ".tmp", "w") as f:
        f.write(render.render_script(unit, render.header(config.source_name)))
    os.chmod(path + ".tmp", 0o755)
    os.replace(path + ".tmp", path)
PY
}

# render_script CAPS: print the script for CAPS.
render_script() {
  local dir
  dir=$(mktemp -d)
  render_scripts "$dir" "${1:-none}" && cat "$dir/backup-ns.${1//,/-}.sh"
  rm -rf "$dir"
}

# script_path CAPS: the script for CAPS, rendered once per test file.
script_path() {
  local caps=${1:-none} path
  path="$BATS_FILE_TMPDIR/backup-ns.${caps//,/-}.sh"
  [[ -f $path ]] || render_scripts "$BATS_FILE_TMPDIR" "$caps"
  printf '%s\n' "$path"
}

in_script() {
  local script=$1 vars=()
  shift
  while (($# > 0)) && [[ $1 != -- ]]; do
    vars+=("$1")
    shift
  done
  shift
  # shellcheck disable=SC2016 # expanded by the child bash, not here
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" "${vars[@]}" \
    bash -c 'script=$1 && shift && source "$script" && "$@"' in_script "$script" "$@"
}

# periods_at SCRIPT WHEN ZONE: the script's "<daily> <weekly> <monthly>" labels for
# the clock WHEN (any `date -d` input, read in ZONE), as create computes them.
periods_at() {
  # shellcheck disable=SC2016 # expanded by the child bash, not here
  env -i PATH="$PATH" bash -c 'source "$1" && n=$(clock_names "$(clock_epoch "$3" "$2")" "$3") && echo "${n#* }"' _ "$@"
}

# periods_without_tzdata SCRIPT WHEN ZONE: periods_at on a system without zone files
# (TZDIR names an empty directory), as in the default image.
periods_without_tzdata() {
  mkdir -p "$BATS_TEST_TMPDIR/no-zoneinfo"
  # shellcheck disable=SC2016 # expanded by the child bash, not here
  env -i PATH="$PATH" TZDIR="$BATS_TEST_TMPDIR/no-zoneinfo" \
    bash -c 'source "$1" && n=$(clock_names "$(clock_epoch "$3" "$2")" "$3") && echo "${n#* }"' _ "$@"
}

# stamp_at SCRIPT WHEN ZONE: the {date} placeholder for the clock WHEN.
stamp_at() {
  # shellcheck disable=SC2016 # expanded by the child bash, not here
  env -i PATH="$PATH" bash -c 'source "$1" && n=$(clock_names "$(clock_epoch "$3" "$2")" "$3") && echo "${n%% *}"' _ "$@"
}

# delete_after_at SCRIPT WHEN ZONE DAYS: backup-ns.sh/delete-after for the clock WHEN.
delete_after_at() {
  # shellcheck disable=SC2016 # expanded by the child bash, not here
  env -i PATH="$PATH" bash -c \
    'source "$1" && delete_after_date "$(clock_epoch "$3" "$2")" "$3" "$4"' _ "$@"
}
