BEGIN { FS = "\t" }
function jq(s) { gsub(/\\/, "\\\\\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
$1 == "K" { conf[$2 "/" $3] = $8; next }
$1 == "V" { load_vs(); next }
$1 == "C" { load_vsc(); next }
function row(a, b, c, d, e, f, g, h, k, m) {
  nr++; R[nr, 1] = a; R[nr, 2] = b; R[nr, 3] = c; R[nr, 4] = d; R[nr, 5] = e; R[nr, 6] = f
  R[nr, 7] = g; R[nr, 8] = h; R[nr, 9] = k; R[nr, 10] = m
}
# last_drill G: the group's snapshot with the newest backup-ns.sh/verified-at (0: none)
function last_drill(g,   k, i, at, best, bi) {
  best = ""; bi = 0
  for (k = 1; k <= G[g]; k++) {
    i = GI[g, k]
    if (vdel[i] || !(("v" i, "backup-ns.sh/verified-at") in A)) continue
    at = unq(A["v" i, "backup-ns.sh/verified-at"])
    if (at ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z$/ && at > best) { best = at; bi = i }
  }
  return bi
}
function drill_ok(i) {
  return (("v" i, "backup-ns.sh/verified-ok") in A) && unq(A["v" i, "backup-ns.sh/verified-ok"]) == "true"
}
END {
  sort_groups()
  # deletionPolicy Delete: each managed snapshot's bound content (synced or not), and
  # our contents whose snapshot is gone
  for (i = 1; i <= nv; i++) if (vmanaged[i] && !vdel[i] && (vbound[i] in cbyname)) cgroup[cbyname[vbound[i]]] = vgroup[i]
  for (j = 1; j <= nc; j++) {
    if (cdel[j] || cpolicy[j] != "Delete") continue
    if (j in cgroup) dg = cgroup[j]
    else if (cours[j]) dg = crefns[j] "/" cpvc[j]
    else continue
    delpol[dg]++; dnames = dnames " " cname[j]
  }
  row("NAMESPACE/PVC", "NEWEST-READY", "AGE", "DAILY", "WEEKLY", "MONTHLY", "FAILED", "DELETE-POLICY", "DRILL", "STATE")
  for (g in conf) if (!(g in G)) { ng++; GN[ng] = g; G[g] = 0 }
  for (a = 2; a <= ng; a++) { t = GN[a]; b = a; while (b > 1 && GN[b - 1] > t) { GN[b] = GN[b - 1]; b-- } GN[b] = t }
  for (gi = 1; gi <= ng; gi++) {
    g = GN[gi]; top = 0; nd = 0; nw = 0; nm = 0; nf = 0
    for (k = 1; k <= G[g]; k++) {
      i = GI[g, k]
      if (vdel[i]) continue
      f = failed(i)
      if (f != "") { nf++; continue }
      if (vready[i] && !top) top = i
      if (vready[i]) {
        nd += (("v" i, "backup-ns.sh/daily") in L); nw += (("v" i, "backup-ns.sh/weekly") in L)
        nm += (("v" i, "backup-ns.sh/monthly") in L)
      }
    }
    state = "ok"; was = stale
    if (g in conf) {
      if (!G[g]) { state = "not deployed (no snapshot yet)"; undeployed = undeployed " " g }
      else if (!top) { state = "STALE (no ready snapshot)"; stale++ }
      else if (now - vep[top] > conf[g]) { state = "STALE (older than " age(conf[g]) ")"; stale++ }
    } else state = "ok (not in config)"
    if (g in delpol) { state = state ", " delpol[g] " content(s) deletionPolicy Delete"; deletes += delpol[g] }
    dr = last_drill(g); dat = dr ? unq(A["v" dr, "backup-ns.sh/verified-at"]) : ""
    drill = dr ? (drill_ok(dr) ? "ok " : "FAILED ") age(now - epoch(dat)) : "-"
    row(g, top ? vname[top] : "-", top ? age(now - vep[top]) : "-", nd, nw, nm, nf, (g in delpol) ? delpol[g] : 0, drill, state)
    slash = index(g, "/")
    J[gi] = "{\"namespace\": " jq(substr(g, 1, slash - 1)) ", \"pvc\": " jq(substr(g, slash + 1)) \
      ", \"newestReady\": " (top ? jq(vname[top]) : "null") ", \"newestReadyAgeSeconds\": " (top ? now - vep[top] : "null") \
      ", \"daily\": " nd ", \"weekly\": " nw ", \"monthly\": " nm ", \"failed\": " nf \
      ", \"deletePolicyContents\": " ((g in delpol) ? delpol[g] : 0) ", \"configured\": " ((g in conf) ? "true" : "false") \
      ", \"stale\": " (stale > was ? "true" : "false") ", \"state\": " jq(state) \
      ", \"lastDrill\": " (dr ? "{\"snapshot\": " jq(vname[dr]) ", \"at\": " jq(dat) ", \"ok\": " (drill_ok(dr) ? "true" : "false") \
      ", \"result\": " (("v" dr, "backup-ns.sh/verified-result") in A ? jsonq(A["v" dr, "backup-ns.sh/verified-result"]) : "null") "}" : "null") "}"
  }
  if (json) {
    printf "{\"stale\": %d, \"pvcs\": [", stale
    for (gi = 1; gi <= ng; gi++) printf "%s\n  %s", (gi > 1 ? "," : ""), J[gi]
    printf "%s]}\n", (ng ? "\n" : "")
    nr = 0
  }
  for (c = 1; c <= 10; c++) { w[c] = 0; for (r = 1; r <= nr; r++) if (length(R[r, c]) > w[c]) w[c] = length(R[r, c]) }
  for (r = 1; r <= nr; r++) {
    line = ""
    for (c = 1; c <= 10; c++) line = line (c > 1 ? "  " : "") (c < 10 ? sprintf("%-" w[c] "s", R[r, c]) : R[r, c])
    print line
  }
  if (undeployed != "") print "NOTE: no snapshot yet of" undeployed ": not deployed yet (apply its manifests.yaml), or its first backup has not run yet" > "/dev/stderr"
  if (deletes) print "WARNING: " deletes " content(s) have deletionPolicy Delete: deleting their snapshot or namespace destroys the data. Keep them: kubectl patch volumesnapshotcontent" dnames " --type merge -p \047{\"spec\":{\"deletionPolicy\":\"Retain\"}}\047, and set deletionPolicy: Retain on the VolumeSnapshotClass for new snapshots" > "/dev/stderr"
  exit (stale > 0)
}
