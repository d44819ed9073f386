# Members of a VolumeGroupSnapshot (label backup-ns.sh/group): the snapshot controller
# deletes a member only with its group, and the members' data goes only with the
# group's content. So a member's "delete" stands only when every member of its group
# goes in this run (or is being deleted already); then one "gdelete NS GROUP REASON"
# deletes the group. Otherwise the member is kept: "skip NS NAME REASON".
# Input: V lines (read_state), then the decide output. Output: the decide output,
# rewritten.
BEGIN { FS = "\t"; OFS = "\t" }
$1 == "V" {
  g = ""
  if (match($12, /(^|,)backup-ns\.sh\/group=[^,]*/)) {
    g = substr($12, RSTART, RLENGTH); sub(/^,/, "", g); sub(/^backup-ns\.sh\/group=/, "", g)
  }
  if (g == "") next
  key = $2 SUBSEP g
  group[$2, $3] = g
  if (!(key in n)) { order[++ng] = key }
  n[key]++; member[key, n[key]] = $3; deleting[$2, $3] = ($11 != "")
  next
}
{ line[++nl] = $0; if ($1 == "delete" && (($2, $3) in group)) going[$2, $3] = 1 }
END {
  for (k = 1; k <= ng; k++) {
    key = order[k]; kept[key] = ""; acted = 0
    for (m = 1; m <= n[key]; m++) {
      split(key, p, SUBSEP); name = member[key, m]
      if ((p[1], name) in going) acted = 1
      else if (!deleting[p[1], name] && kept[key] == "") kept[key] = name
    }
    whole[key] = (kept[key] == "")
    if (whole[key] && !acted) whole[key] = 0
    all_deleting = 1
    for (m = 1; m <= n[key]; m++) if (!deleting[p[1], member[key, m]]) all_deleting = 0
    if (all_deleting) whole[key] = 1
  }
  for (i = 1; i <= nl; i++) {
    split(line[i], f, "\t")
    if (f[1] == "delete" && ((f[2], f[3]) in group)) {
      key = f[2] SUBSEP group[f[2], f[3]]
      if (!whole[key]) {
        print "skip", f[2], f[3], "member of VolumeGroupSnapshot " group[f[2], f[3]] ", whose member " kept[key] " stays (a group goes whole)"
        continue
      }
    }
    print line[i]
  }
  for (k = 1; k <= ng; k++) {
    key = order[k]
    if (!whole[key]) continue
    split(key, p, SUBSEP)
    print "gdelete", p[1], p[2], "all " n[key] " of its members are deleted"
  }
}
