# One group (namespace/PVC) at a time: the pairs come sorted by group, and only the
# current group's snapshots and their contents are held (forget() after each), so the
# memory is the largest group's, not the cluster's. Output: one tagged line per action
# (PHASE SEQ CONTENT HANDLE CONTENT-NAME ACTION...: the order and the shared handles
# are settled after the orphans, by holders.awk). Written to statefile at the end: the
# deletions made and held back by the cap ("NDEL CAPPED"), where the orphans go on.
BEGIN { FS = "\t"; split("daily weekly monthly", KIND, " "); split(phases, ph, " ")
  for (p in ph) P[ph[p]] = 1
  todayn = daynum(today); newest = -1; ndel = 0; capped = 0 }
$1 == "K" { keep[$2, $3, "daily"] = $4; keep[$2, $3, "weekly"] = $5; keep[$2, $3, "monthly"] = $6
  keep[$2, "", "daily"] = $4; keep[$2, "", "weekly"] = $5; keep[$2, "", "monthly"] = $6; next }
$1 == "P" { if ($4 != "Bound") restoring[$2, $5] = $3 " (" ($4 == "" ? "no phase" : $4) ")"; next }
# GROUP SEQ V-line [CSEQ C-line]: a managed snapshot (SEQ its line in the read) beside
# its bound content (CSEQ likewise), when there is one.
{ if ($1 != cur && nv) decide_group(); cur = $1; load_pair() }
function keepcount(i, kind) {
  if ((vns[i], vpvc[i], kind) in keep) return keep[vns[i], vpvc[i], kind]
  if ((vns[i], "", kind) in keep) return keep[vns[i], "", kind]
  return kind == "daily" ? keep_daily : kind == "weekly" ? keep_weekly : keep_monthly
}
# out LINE [J]: one action line of the current phase, tagged (see above); J: the
# content it deletes (local index), whose shared handle holders.awk settles.
function out(line, j) {
  print phase "\t" ++nout "\t" (j ? cseq[j] "\t" chandle[j] "\t" cname[j] : "\t\t") "\t" line
}
# stale_mark I: snapshot I carries the failed mark but is ready and not failed now.
function stale_mark(i) {
  return lab("v" i, "backup-ns.sh/delete-reason") == "failed" && lab("v" i, "backup-ns.sh/delete-after") != "" \
    && vready[i] && fail[i] == ""
}
function periodic(i) {
  return ("v" i, "backup-ns.sh/daily") in L || ("v" i, "backup-ns.sh/weekly") in L || ("v" i, "backup-ns.sh/monthly") in L
}
# unmark I DA: withdraw the failed mark DA of snapshot I; returns its delete-after now.
# daily_weekly_monthly: removed (one without a period label left is marked expired
# instead, below); days: back to the day it was cut (UTC) + retain-days + 1, never
# before the day the namespace script gave it (its time zone is at most a day off UTC;
# today when retain-days is unreadable); any other: removed.
function unmark(i, da,   ret, rd, nd, why) {
  ret = lab("v" i, "backup-ns.sh/retain"); rd = lab("v" i, "backup-ns.sh/retain-days"); nd = ""
  delete L["v" i, "backup-ns.sh/delete-after"]; delete L["v" i, "backup-ns.sh/delete-reason"]
  if (ret == "daily_weekly_monthly" && !periodic(i)) { was_failed[i] = da; return "" }
  why = "ready since its failed mark, delete-after=" da
  if (ret == "days") {
    if (rd ~ /^[0-9]+$/ && vep[i] >= 0) { nd = civil(int(vep[i] / 86400) + rd + 1); why = why " back to " nd " (cut " substr(vts[i], 1, 10) ", retain-days " rd ")" }
    else { nd = today; why = why " back to " nd " (retain-days " (rd == "" ? "missing" : "\"" rd "\"") ")" }
    L["v" i, "backup-ns.sh/delete-after"] = nd
  } else why = why " removed"
  out("unmark\t" vns[i] "\t" vname[i] "\t" nd "\t" why)
  return nd
}
END {
  if (nv) decide_group()
  phase = 0
  if (newest >= 0) out("newest\t" newest_ts)
  print ndel "\t" capped > statefile
}
# decide_group: the actions of the group loaded (every snapshot managed), then forget it.
function decide_group(   gi, g, kk, kind, label, seen, k, i, n, da, left, top, who, c, pol, j, set, diff, rm, why, ks, x, key, aset, js) {
  sort_groups()
  for (i = 1; i <= nv; i++) {
    # the newest of all (the first read of equal ones)
    if (voep[i] > newest || (voep[i] == newest && vseq[i] + 0 < newest_seq)) {
      newest = voep[i]; newest_ts = vots[i]; newest_seq = vseq[i] + 0
    }
    fail[i] = failed(i)
    vkeep[i] = (lab("v" i, "backup-ns.sh/keep") == "true")
    countable[i] = vready[i] && fail[i] == "" && !vdel[i]
  }

  phase = 1
  # retain: per group and period kind, the ready snapshots of the newest N periods keep
  # their label. A period counts once: two ready copies of one week (a late snapshot and
  # the next run's) are one week, and do not push the oldest kept week out.
  for (gi = 1; gi <= ng; gi++) {
    g = GN[gi]
    for (kk = 1; kk <= 3; kk++) {
      kind = KIND[kk]; label = "backup-ns.sh/" kind; seen = 0
      for (k = 1; k <= G[g]; k++) {
        i = GI[g, k]
        if (!countable[i] || !(("v" i, label) in L)) continue
        if (vkeep[i]) continue
        if (!((g, kind, L["v" i, label]) in held)) { held[g, kind, L["v" i, label]] = 1; seen++ }
        n = keepcount(i, kind)
        if (seen > n && P["retain"]) {
          out("unlabel\t" vns[i] "\t" vname[i] "\t" kind "\t" ordinal(seen) " newest ready " kind " of " g ", keep " n)
          lost[i] = lost[i] (lost[i] == "" ? "" : ", ") kind " " L["v" i, label]; delete L["v" i, label]
        }
      }
    }
  }

  phase = 2
  # mark: no period label left (daily_weekly_monthly), or failed; a failed mark on a
  # snapshot that is ready and not failed any more is withdrawn (unmark).
  for (gi = 1; gi <= ng; gi++) {
    g = GN[gi]
    for (k = 1; k <= G[g]; k++) {
      i = GI[g, k]
      if (vkeep[i] || vdel[i]) continue
      da = lab("v" i, "backup-ns.sh/delete-after")
      if (P["mark"] && stale_mark(i)) da = unmark(i, da)
      if (fail[i] != "") {
        if ((da == "" || da > today) && P["mark"]) {
          out("mark\t" vns[i] "\t" vname[i] "\tfailed\tfailed: " fail[i])
          L["v" i, "backup-ns.sh/delete-after"] = today; L["v" i, "backup-ns.sh/delete-reason"] = "failed"
        }
        continue
      }
      # a snapshot still being cut waits: it is marked once ready (or failed)
      if (lab("v" i, "backup-ns.sh/retain") != "daily_weekly_monthly" || da != "" || !vready[i]) continue
      if (periodic(i)) continue
      if (!P["mark"]) continue
      out("mark\t" vns[i] "\t" vname[i] "\texpired\t" (lost[i] != "" ? "its last period label was removed (" lost[i] ")" : \
        (i in was_failed) ? "ready since its failed mark of " was_failed[i] ", but no daily, weekly or monthly label" : "no daily, weekly or monthly label"))
      L["v" i, "backup-ns.sh/delete-after"] = today; L["v" i, "backup-ns.sh/delete-reason"] = "expired"
    }
  }

  phase = 3
  # sweep: delete-after before today, oldest first per group; the safety rules.
  for (gi = 1; gi <= ng; gi++) {
    g = GN[gi]; left = 0; top = 0
    for (k = 1; k <= G[g]; k++) { i = GI[g, k]; if (countable[i]) { left++; if (!top) top = i } }
    for (k = G[g]; k >= 1; k--) {
      i = GI[g, k]
      if (vkeep[i] || vdel[i] || !P["sweep"]) continue
      da = lab("v" i, "backup-ns.sh/delete-after")
      if (da == "" || daynum(da) < 0 || !(da < today)) continue
      who = vns[i] "\t" vname[i]
      if (stale_mark(i)) { out("skip\t" who "\tready since its failed mark (mark withdraws it)"); continue }
      if ((vns[i], vname[i]) in restoring) {
        out("skip\t" who "\tPVC " vns[i] "/" restoring[vns[i], vname[i]] " is being restored from it"); continue
      }
      if (i == top) { out("skip\t" who "\tnewest ready snapshot of " g); continue }
      if (countable[i] && left - 1 < min_ready) {
        out("skip\t" who "\tonly " left " ready snapshot" (left == 1 ? "" : "s") " of " g " left, minReady " min_ready); continue
      }
      if (ndel >= max_del) { capped++; out("skip\t" who "\tdeletion cap reached (maxDeletionsPerRun " max_del ")"); continue }
      ndel++; deleted[i] = 1
      if (countable[i]) left--
      c = vbound[i]; pol = (c in cbyname) ? cpolicy[cbyname[c]] : ""
      if (!(c in cbyname)) c = ""
      out("delete\t" who "\t" c "\t" pol "\tdelete-after " da " is before today " today \
        (fail[i] != "" ? " (failed: " fail[i] ")" : ""), (c != "") ? cbyname[c] : 0)
    }
  }

  # sync: the backup-ns.sh/ labels and annotations of each snapshot onto its content.
  for (i = 1; i <= nv && P["sync"]; i++) {
    if (!vmanaged[i] || deleted[i] || vdel[i] || !(vbound[i] in cbyname)) continue
    j = cbyname[vbound[i]]
    if (crefns[j] != vns[i] || crefname[j] != vname[i] || cdel[j]) continue
    # A server-side apply removes what the same field manager applied before and now
    # leaves out: so the apply carries the FULL set of backup-ns.sh/ labels and
    # annotations of the snapshot (sent only when one of them differs); keys the
    # snapshot no longer has are removed by a merge patch (another manager may own them).
    set = ""; diff = 0; rm = ""; why = ""
    n = split(LK["v" i], ks, " ")
    for (x = 1; x <= n; x++) {
      key = ks[x]
      if (!(("v" i, key) in L)) continue
      set = set (set == "" ? "" : ",") "\"" key "\":\"" L["v" i, key] "\""
      if (("c" j, key) in L && L["c" j, key] == L["v" i, key]) continue
      diff = 1; why = why " +" key "=" L["v" i, key]
    }
    for (key in extra) delete extra[key]
    if (("v" i, "backup-ns.sh/delete-after") in L) extra["backup-ns.sh/delete-after"] = 1
    if (("v" i, "backup-ns.sh/delete-reason") in L) extra["backup-ns.sh/delete-reason"] = 1
    for (key in extra) {
      if (index(" " LK["v" i] " ", " " key " ")) continue
      set = set (set == "" ? "" : ",") "\"" key "\":\"" L["v" i, key] "\""
      if (("c" j, key) in L && L["c" j, key] == L["v" i, key]) continue
      diff = 1; why = why " +" key "=" L["v" i, key]
    }
    n = split(LK["c" j], ks, " ")
    for (x = 1; x <= n; x++) {
      key = ks[x]
      if (!(("v" i, key) in L)) { rm = rm " l:" key; why = why " -" key }
    }
    aset = ""
    n = split(AK["v" i], ks, " ")
    for (x = 1; x <= n; x++) {
      key = ks[x]
      aset = aset (aset == "" ? "" : ",") "\"" key "\":" jsonq(A["v" i, key])
      if (("c" j, key) in A && A["c" j, key] == A["v" i, key]) continue
      diff = 1; why = why " +" key
    }
    n = split(AK["c" j], ks, " ")
    for (x = 1; x <= n; x++) {
      key = ks[x]
      if (!(("v" i, key) in A)) { rm = rm " a:" key; why = why " -" key }
    }
    if (!diff && rm == "") continue
    if (!diff) { set = ""; aset = "" }
    js = "{\"labels\":{" set "},\"annotations\":{" aset "}}"
    # in the order of the read, after every group's sweep
    print "4\t" vseq[i] "\t\t\t\tsync\t" cname[j] "\t" js "\t" substr(rm, 2) "\tfrom " vns[i] "/" vname[i] ":" why
  }
  delete fail; delete vkeep; delete countable; delete held; delete lost; delete was_failed
  delete deleted; delete G; delete GI; delete GN; ng = 0
  forget()
}
