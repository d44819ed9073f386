# days_from_civil: days since 1970-01-01 of a proleptic Gregorian date.
function days(y, m, d,   era, yoe, doy, doe) {
  y -= (m <= 2); era = int((y >= 0 ? y : y - 399) / 400); yoe = y - era * 400
  doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
  return era * 146097 + doe - 719468
}
# epoch TS: seconds of an RFC 3339 time (Z or +hh:mm; fraction ignored), or of a
# number of nanoseconds (a content's status.creationTime); -1 when unparsable.
function epoch(ts,   s, off) {
  if (ts ~ /^[0-9]+$/ || ts ~ /^[0-9.]+e\+[0-9]+$/) return int(ts / 1000000000)
  if (ts !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]/) return -1
  s = days(substr(ts, 1, 4) + 0, substr(ts, 6, 2) + 0, substr(ts, 9, 2) + 0) * 86400 \
    + substr(ts, 12, 2) * 3600 + substr(ts, 15, 2) * 60 + substr(ts, 18, 2)
  if (match(ts, /[+-][0-9][0-9]:[0-9][0-9]$/)) {
    off = substr(ts, RSTART + 1, 2) * 3600 + substr(ts, RSTART + 4, 2) * 60
    s += (substr(ts, RSTART, 1) == "+") ? -off : off
  }
  return s
}
# civil N: the YYYY-MM-DD of day N since 1970-01-01 (days() inverted).
function civil(z,   era, doe, yoe, y, doy, mp, d, m) {
  z += 719468; era = int((z >= 0 ? z : z - 146096) / 146097); doe = z - era * 146097
  yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
  y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
  mp = int((5 * doy + 2) / 153); d = doy - int((153 * mp + 2) / 5) + 1
  m = mp + (mp < 10 ? 3 : -9)
  return sprintf("%04d-%02d-%02d", y + (m <= 2), m, d)
}
# daynum DATE: days since 1970-01-01 of YYYY-MM-DD, or -1.
function daynum(d) {
  if (d !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$/) return -1
  return days(substr(d, 1, 4) + 0, substr(d, 6, 2) + 0, substr(d, 9, 2) + 0)
}
# parse_labels ID TEXT: L[ID, key] = value for "k=v,k=v,".
function parse_labels(id, text,   n, i, kv, parts, eq) {
  n = split(text, parts, ",")
  for (i = 1; i <= n; i++) {
    if (parts[i] == "") continue
    eq = index(parts[i], "=")
    L[id, substr(parts[i], 1, eq - 1)] = substr(parts[i], eq + 1)
    LK[id] = LK[id] " " substr(parts[i], 1, eq - 1)
  }
}
# parse_annotations ID TEXT: A[ID, key] = Go-quoted value, items separated by \037.
function parse_annotations(id, text,   n, i, parts, eq) {
  n = split(text, parts, "\037")
  for (i = 1; i <= n; i++) {
    if (parts[i] == "") continue
    eq = index(parts[i], "=")
    A[id, substr(parts[i], 1, eq - 1)] = substr(parts[i], eq + 1)
    AK[id] = AK[id] " " substr(parts[i], 1, eq - 1)
  }
}
# lab ID KEY: the value of label KEY of record ID ("" when absent; never creates it).
function lab(id, key) {
  return ((id, key) in L) ? L[id, key] : ""
}
# unq Q: a Go-quoted string without its quotes (escapes kept), for messages.
function unq(q) {
  return substr(q, 2, length(q) - 2)
}
# jsonq Q: a Go-quoted string (printf %q) as a JSON string literal.
function jsonq(q,   out, c, i, n, h) {
  out = ""; n = length(q)
  for (i = 1; i <= n; i++) {
    c = substr(q, i, 1)
    if (c != "\\") { out = out c; continue }
    c = substr(q, ++i, 1)
    if (c == "a") out = out "\\u0007"
    else if (c == "v") out = out "\\u000b"
    else if (c == "x") { out = out "\\u00" substr(q, i + 1, 2); i += 2 }
    else if (c == "'") out = out "'"
    else out = out "\\" c
  }
  return out
}
# age TEXT: seconds as "3d", "5h", "12m" or "40s".
function age(s) {
  if (s >= 172800) return int(s / 86400) "d"
  if (s >= 7200) return int(s / 3600) "h"
  if (s >= 120) return int(s / 60) "m"
  return int(s) "s"
}
function ordinal(n,   t) {
  t = n % 100
  if (t >= 11 && t <= 13) return n "th"
  t = n % 10
  return n (t == 1 ? "st" : t == 2 ? "nd" : t == 3 ? "rd" : "th")
}
# load: the V, C and P lines into arrays; V records sorted newest first per group.
function load_vs(   i) {
  nv++; i = nv
  vns[i] = $2; vname[i] = $3; vuid[i] = $4
  vready[i] = ($7 == "true"); verr[i] = $8; vbound[i] = $9; vsize[i] = $10; vdel[i] = ($11 != "")
  parse_labels("v" i, $12); parse_annotations("v" i, $13)
  vts[i] = cut_at(i, $5, $6); vep[i] = epoch(vts[i])
  # the object's own creation (the API server's clock, nobody's annotation): what the
  # clock-skew check and the not-ready limit measure, also for a rebound snapshot
  vots[i] = ($5 != "") ? $5 : vts[i]; voep[i] = epoch(vots[i])
  # a clone (backup-ns.sh/clone-of, made by clone) is no backup of its namespace, even
  # when someone labelled it with a type: retention never counts, marks or deletes it
  vmanaged[i] = (("v" i, "backup-ns.sh/type") in L) && !(("v" i, "backup-ns.sh/clone-of") in L)
  vpvc[i] = (("v" i, "backup-ns.sh/pvc") in L) ? L["v" i, "backup-ns.sh/pvc"] : "?"
  vgroup[i] = vns[i] "/" vpvc[i]
  byname[vns[i], vname[i]] = i
}
# cut_at I CREATED CREATIONTIME: when snapshot I was cut, the rule of the namespace
# script's taken_at: its backup-ns.sh/cut-at (recorded by create, kept by rebind),
# else status.creationTime, else the object's creationTimestamp. The annotation is
# anyone's input: used only with the shape create writes (YYYY-MM-DDTHH:MM:SSZ) and
# when it is not later than the object (a backup is cut before its snapshot object is
# made; a rebound object is younger still; 5 minutes allowed for clocks), so an
# annotation never makes a snapshot newer.
function cut_at(i, created, ctime,   q, t, e) {
  t = (ctime != "") ? ctime : created
  if (!(("v" i, "backup-ns.sh/cut-at") in A)) return t
  q = A["v" i, "backup-ns.sh/cut-at"]
  if (q !~ /^"[0-9][0-9][0-9][0-9]-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z"$/) return t
  q = unq(q); e = epoch(created)
  if (e >= 0 && epoch(q) > e + 300) return t
  return q
}
function load_vsc(   j) {
  nc++; j = nc
  cname[j] = $2; cts[j] = ($4 != "") ? $4 : $3; cep[j] = epoch(cts[j])
  # nanoseconds (as a double: ~0.3 us apart) orders contents cut in the same second
  cnano[j] = ($4 ~ /^[0-9]+$/) ? $4 + 0 : cep[j] * 1000000000
  cready[j] = ($5 == "true"); cpolicy[j] = $6; crefns[j] = $7; crefname[j] = $8; crefuid[j] = $9
  cdel[j] = ($10 != "")
  parse_labels("c" j, $11); parse_annotations("c" j, $12); chandle[j] = $13
  cours[j] = (("c" j, "backup-ns.sh/type") in L) && !(("c" j, "backup-ns.sh/clone-of") in L)
  cpvc[j] = (("c" j, "backup-ns.sh/pvc") in L) ? L["c" j, "backup-ns.sh/pvc"] : "?"
  cbyname[cname[j]] = j
}
# forget: drop every record loaded (for a program that holds one group at a time).
function forget() {
  nv = 0; nc = 0
  delete L; delete LK; delete A; delete AK; delete byname; delete cbyname
}
# load_pair: a pair line (GROUP SEQ V-line [CSEQ C-line], keys.awk's snapshots joined
# with their contents) as snapshot nv (SEQ in vseq) and its content nc (CSEQ in cseq).
function load_pair(   n, f, x, s, sq) {
  n = split($0, f, "\t"); sq = f[2]
  s = f[3]; for (x = 4; x <= 16; x++) s = s "\t" f[x]
  $0 = s; load_vs(); vseq[nv] = sq
  if (n <= 16) return
  s = f[18]; for (x = 19; x <= 31; x++) s = s "\t" f[x]
  $0 = s; load_vsc(); cseq[nc] = f[17]
}
# newer I J: record I sorts before J (newest first; ties by name, descending).
function newer(i, j) {
  return vep[i] > vep[j] || (vep[i] == vep[j] && vname[i] > vname[j])
}
# sort_groups: G[g] = number of records in group g, GI[g, k] = k-th newest.
function sort_groups(   i, g, k, t) {
  for (i = 1; i <= nv; i++) {
    if (!vmanaged[i]) continue
    g = vgroup[i]
    if (!(g in G)) { G[g] = 0; ng++; GN[ng] = g }
    k = ++G[g]
    while (k > 1 && newer(i, GI[g, k - 1])) { GI[g, k] = GI[g, k - 1]; k-- }
    GI[g, k] = i
  }
  # the groups in name order (insertion sort; a few thousand at most)
  for (i = 2; i <= ng; i++) {
    t = GN[i]; k = i
    while (k > 1 && GN[k - 1] > t) { GN[k] = GN[k - 1]; k-- }
    GN[k] = t
  }
}
# failed I: why snapshot I failed ("" when it did not). The one definition the namespace
# script shares (periods_load): a snapshot holds its day, week and month only while it is
# ready, has no status.error, is not labelled failed and is not being deleted. Not being
# ready yet fails only past the limit; the mark that follows is withdrawn (unmark) once it
# is ready, so a late snapshot keeps the periods the script saw it hold.
function failed(i) {
  if (verr[i] != "") return "snapshot error: " unq(verr[i])
  if (lab("v" i, "backup-ns.sh/failed") == "true") return "labelled backup-ns.sh/failed=true"
  if (!vready[i] && voep[i] >= 0 && now - voep[i] > failed_after)
    return "not ready after " age(now - voep[i]) " (limit " age(failed_after) ")"
  return ""
}
