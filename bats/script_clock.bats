#!/usr/bin/env bats
# backup-ns.sh: retention labels and names from a fixed clock (defect 2: the weekly
# label is the ISO week-year and week GGGG-wVV, in BAK_TIME_ZONE).

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/script
  script_path postgres,flock >/dev/null
}

setup() {
  load helpers/script
  S=$(script_path postgres,flock)
}

@test "clock: 2026-12-31 is in ISO week 2026-w53" {
  run --separate-stderr periods_at "$S" '2026-12-31 12:00' UTC
  [[ $status -eq 0 && $output == '2026-12-31 2026-w53 2026-12' && -z $stderr ]]
}

@test "clock: 2027-01-03 (a Sunday) still belongs to 2026-w53" {
  run --separate-stderr periods_at "$S" '2027-01-03 12:00' UTC
  [[ $status -eq 0 && $output == '2027-01-03 2026-w53 2027-01' && -z $stderr ]]
}

@test "clock: 2027-01-04 (a Monday) starts 2027-w01" {
  run --separate-stderr periods_at "$S" '2027-01-04 00:00' UTC
  [[ $status -eq 0 && $output == '2027-01-04 2027-w01 2027-01' && -z $stderr ]]
}

@test "clock: 2025-12-29 belongs to week-year 2026 (2026-w01), month 2025-12" {
  run --separate-stderr periods_at "$S" '2025-12-29 08:00' UTC
  [[ $status -eq 0 && $output == '2025-12-29 2026-w01 2025-12' && -z $stderr ]]
}

@test "clock: 23:30 UTC on New Year's Eve is already 2027 in Europe/Vienna" {
  run --separate-stderr periods_at "$S" '2026-12-31T23:30:00Z' Europe/Vienna
  [[ $status -eq 0 && $output == '2027-01-01 2026-w53 2027-01' && -z $stderr ]]
  run --separate-stderr periods_at "$S" '2026-12-31T23:30:00Z' UTC
  [[ $status -eq 0 && $output == '2026-12-31 2026-w53 2026-12' && -z $stderr ]]
}

@test "clock: Sunday 23:30 UTC is Monday of the next ISO week in Europe/Vienna" {
  run --separate-stderr periods_at "$S" '2027-01-03T23:30:00Z' Europe/Vienna
  [[ $status -eq 0 && $output == '2027-01-04 2027-w01 2027-01' && -z $stderr ]]
}

@test "clock: 03:00 UTC on 2027-01-01 is still 2026 in America/New_York" {
  run --separate-stderr periods_at "$S" '2027-01-01T03:00:00Z' America/New_York
  [[ $status -eq 0 && $output == '2026-12-31 2026-w53 2026-12' && -z $stderr ]]
}

@test "clock: a BAK_NOW without zone is read in BAK_TIME_ZONE" {
  run --separate-stderr periods_at "$S" '2027-01-03 23:59:59' Pacific/Auckland
  [[ $status -eq 0 && $output == '2027-01-03 2026-w53 2027-01' && -z $stderr ]]
}

@test "clock: the {date} placeholder is YYYY-MM-DD-HHMMSS in the zone" {
  run --separate-stderr stamp_at "$S" '2027-01-03T23:30:05Z' Europe/Vienna
  [[ $status -eq 0 && $output == '2027-01-04-003005' && -z $stderr ]]
}

@test "clock: delete-after is today in the zone plus the days, across a year end" {
  run --separate-stderr delete_after_at "$S" '2026-12-31T23:30:00Z' Europe/Vienna 30
  [[ $status -eq 0 && $output == '2027-01-31' && -z $stderr ]]
  run --separate-stderr delete_after_at "$S" '2026-12-31T23:30:00Z' UTC 30
  [[ $status -eq 0 && $output == '2027-01-30' && -z $stderr ]]
  run --separate-stderr delete_after_at "$S" '2028-02-28 12:00' UTC 1
  [[ $status -eq 0 && $output == '2028-02-29' && -z $stderr ]]
}

@test "clock: a DST change does not shift the day (Europe/Vienna, 2026-03-29)" {
  run --separate-stderr periods_at "$S" '2026-03-29 23:59' Europe/Vienna
  [[ $status -eq 0 && $output == '2026-03-29 2026-w13 2026-03' && -z $stderr ]]
  run --separate-stderr delete_after_at "$S" '2026-03-28 23:30' Europe/Vienna 1
  [[ $status -eq 0 && $output == '2026-03-29' && -z $stderr ]]
}

@test "clock: without zone files, 00:30 in Vienna is labelled with its own day (the baked rule)" {
  run --separate-stderr periods_without_tzdata "$S" '2026-06-30T22:30:00Z' Europe/Vienna
  [[ $status -eq 0 && $output == '2026-07-01 2026-w27 2026-07' && -z $stderr ]]
  run --separate-stderr periods_without_tzdata "$S" '2026-12-31 00:30' Europe/Vienna
  [[ $status -eq 0 && $output == '2026-12-31 2026-w53 2026-12' && -z $stderr ]]
}

@test "clock: without zone files, a zone the script does not carry is refused in one line" {
  mkdir -p "$BATS_TEST_TMPDIR/no-zoneinfo"
  run --separate-stderr env -i PATH="$PATH" TZDIR="$BATS_TEST_TMPDIR/no-zoneinfo" \
    BAK_TIME_ZONE=America/New_York BAK_KUBECTL=/bin/true bash "$S" config
  [[ $status -eq 2 && -z $output ]]
  [[ $stderr == "ERROR: invalid setting in namespace shop-prod: BAK_TIME_ZONE=\"America/New_York\" is not a known time zone here (no $BATS_TEST_TMPDIR/no-zoneinfo/America/New_York; no rule for it in this script, which carries those of the zones of backupns.yaml; an image with tzdata knows every zone). Fix the environment variable or backupns.yaml (then render again); see \"help settings\"" ]]
}
