# The namespaces due for a restore drill and the snapshot to drill in each. In: the K
# lines (configured namespaces) and the V lines; -v now, interval, max, only (a namespace
# drilled whether due or not), failed_after. A namespace is due when its newest drill
# (backup-ns.sh/verified-at on any of its snapshots) is older than interval, failed, or
# missing. Out, the longest undrilled first (never drilled before any), at most max:
#   namespace TAB snapshot TAB last drill ("never" or its time, with ", failed")
# The snapshot: the newest ready one (not failed), one holding a database dump first.
# A configured namespace without such a snapshot is named on stderr, not drilled.
# The V lines come sorted by namespace (in the order of the read within one): one
# namespace is held at a time.
BEGIN { FS = "\t" }
$1 == "K" { conf[$2] = 1; next }
$1 == "V" { if ($2 != cur && nv) namespace_done(); cur = $2; load_vs(); next }
# namespace_done: the newest drill and the snapshot to drill of the namespace loaded.
function namespace_done(   i, n, t, d) {
  for (i = 1; i <= nv; i++) {
    n = vns[i]
    if (!vmanaged[i] || vdel[i] || !(n in conf)) continue
    if (("v" i, "backup-ns.sh/verified-at") in A) {
      t = epoch(unq(A["v" i, "backup-ns.sh/verified-at"]))
      if (t >= 0 && (!(n in last) || t > last[n])) {
        last[n] = t; lastts[n] = unq(A["v" i, "backup-ns.sh/verified-at"])
        lastok[n] = (A["v" i, "backup-ns.sh/verified-ok"] == "\"true\"")
      }
    }
    if (!vready[i] || failed(i) != "") continue
    d = (("v" i, "backup-ns.sh/dump-sha256") in A)
    if (!(n in pick) || d > pickd[n] || (d == pickd[n] && newer(i, pick[n]))) { pick[n] = i; pickd[n] = d }
  }
  if (n in pick) pickname[n] = vname[pick[n]]
  forget()
}
END {
  if (nv) namespace_done()
  for (n in conf) {
    if (only != "" && n != only) continue
    l = (n in last) ? last[n] : -1
    if (only == "" && l >= 0 && lastok[n] && now - l < interval) continue
    if (!(n in pickname)) { none = none " " n; continue }
    nd++; D[nd] = n; DL[n] = l
  }
  for (a = 2; a <= nd; a++) {
    t = D[a]; b = a
    while (b > 1 && (DL[D[b - 1]] > DL[t] || (DL[D[b - 1]] == DL[t] && D[b - 1] > t))) { D[b] = D[b - 1]; b-- }
    D[b] = t
  }
  for (a = 1; a <= nd && a <= max; a++) {
    n = D[a]
    print n "\t" pickname[n] "\t" ((n in last) ? lastts[n] (lastok[n] ? "" : ", failed") : "never")
  }
  if (none != "") print "NOTE: no ready snapshot to drill in" none > "/dev/stderr"
  if (only != "" && !(only in conf)) print "NOTE: " only " is not a configured namespace" > "/dev/stderr"
}
