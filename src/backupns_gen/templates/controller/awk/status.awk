BEGIN { FS = "\t" }
function jq(s) { gsub(/\\/, "\\\\\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
$1 == "K" { conf[$2 "/" $3] = $8; next }
# X SEQ NAME GROUP: a content with deletionPolicy Delete, counted in GROUP (keys.awk's
# "policy" lines), in the order of the read
$1 == "X" { delpol[$4]++; dnames = dnames " " $3; next }
# the pair lines (decide's), by group: one group held at a time
{ if ($1 != cur && nv) group_row(); cur = $1; load_pair() }
function group_row() {
  sort_groups(); make_row(GN[1])
  delete G; delete GI; delete GN; ng = 0; forget()
}
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
# make_row G: the row (ROW[G], fields joined by tabs) and JSON (JS[G]) of group G, its
# snapshots loaded (none for a configured PVC without any).
function make_row(g,   k, i, f, top, nd, nw, nm, nf, state, isstale, dr, dat, drill, slash) {
  top = 0; nd = 0; nw = 0; nm = 0; nf = 0
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
  state = "ok"; isstale = 0
  if (g in conf) {
    if (!G[g]) { state = "not deployed (no snapshot yet)"; undep[g] = 1 }
    else if (!top) { state = "STALE (no ready snapshot)"; isstale = 1 }
    else if (now - vep[top] > conf[g]) { state = "STALE (older than " age(conf[g]) ")"; isstale = 1 }
  } else state = "ok (not in config)"
  stale += isstale
  if (g in delpol) { state = state ", " delpol[g] " content(s) deletionPolicy Delete"; deletes += delpol[g] }
  dr = last_drill(g); dat = dr ? unq(A["v" dr, "backup-ns.sh/verified-at"]) : ""
  drill = dr ? (drill_ok(dr) ? "ok " : "FAILED ") age(now - epoch(dat)) : "-"
  ROW[g] = g "\t" (top ? vname[top] : "-") "\t" (top ? age(now - vep[top]) : "-") "\t" nd "\t" nw "\t" nm "\t" nf \
    "\t" ((g in delpol) ? delpol[g] : 0) "\t" drill "\t" state
  slash = index(g, "/")
  JS[g] = "{\"namespace\": " jq(substr(g, 1, slash - 1)) ", \"pvc\": " jq(substr(g, slash + 1)) \
    ", \"newestReady\": " (top ? jq(vname[top]) : "null") ", \"newestReadyAgeSeconds\": " (top ? now - vep[top] : "null") \
    ", \"daily\": " nd ", \"weekly\": " nw ", \"monthly\": " nm ", \"failed\": " nf \
    ", \"deletePolicyContents\": " ((g in delpol) ? delpol[g] : 0) ", \"configured\": " ((g in conf) ? "true" : "false") \
    ", \"stale\": " (isstale ? "true" : "false") ", \"state\": " jq(state) \
    ", \"lastDrill\": " (dr ? "{\"snapshot\": " jq(vname[dr]) ", \"at\": " jq(dat) ", \"ok\": " (drill_ok(dr) ? "true" : "false") \
    ", \"result\": " (("v" dr, "backup-ns.sh/verified-result") in A ? jsonq(A["v" dr, "backup-ns.sh/verified-result"]) : "null") "}" : "null") "}"
  RG[++nrg] = g
}
END {
  if (nv) group_row()
  for (g in conf) if (!(g in ROW)) make_row(g)
  # the groups in name order (insertion sort: they come sorted, the PVCs without a
  # snapshot after them)
  for (a = 2; a <= nrg; a++) { t = RG[a]; b = a; while (b > 1 && RG[b - 1] > t) { RG[b] = RG[b - 1]; b-- } RG[b] = t }
  row("NAMESPACE/PVC", "NEWEST-READY", "AGE", "DAILY", "WEEKLY", "MONTHLY", "FAILED", "DELETE-POLICY", "DRILL", "STATE")
  for (gi = 1; gi <= nrg; gi++) {
    g = RG[gi]; split(ROW[g], f, "\t"); row(f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10])
    if (g in undep) undeployed = undeployed " " g
  }
  if (json) {
    printf "{\"stale\": %d, \"pvcs\": [", stale
    for (gi = 1; gi <= nrg; gi++) printf "%s\n  %s", (gi > 1 ? "," : ""), JS[RG[gi]]
    printf "%s]}\n", (nrg ? "\n" : "")
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
