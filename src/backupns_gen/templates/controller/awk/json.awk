# AWK_JSON (-v kind=vs|vsc|pvc -v tokfile=FILE): one list page -> its V, C or P
# lines; the continue token (empty on the last page) into tokfile. Exit 1 on anything
# that is not one complete JSON object with an items array and a *List kind.
# RS is the double quote: records alternate between the text outside strings and the
# contents of a string (an escaped quote joins two records). POSIX awk, no gawk-isms.
function fail(why) { bad = why; exit 1 }
function push(type) {
  if (d == 0 && top) fail("text after the list")
  if (d > 0 && T[d] == "o" && !havekey) fail("a value without a key")
  name = (d == 0) ? "T" : (T[d] == "o" ? key : "#")
  d++; T[d] = type; havekey = 0
  if (d == 1) { P[1] = "T"; top = 1 }
  else if (d == 3 && P[2] == "T/items") { P[3] = "I"; nf = 0; nl = 0; na = 0; err = 0; split("", F) }
  else P[d] = P[d - 1] "/" name
  if (P[d] == "T/items") items = 1
  expect = (type == "o") ? "key" : "value"
}
function pop(type) {
  if (d == 0 || T[d] != type) fail("unbalanced " (type == "o" ? "}" : "]"))
  if (d == 3 && P[3] == "I") item()
  d--; expect = ""; havekey = 0
}
# value V ISSTR: a scalar (string contents as sent, JSON escapes kept; or a literal);
# kept in F by its path when the lines use that object (KEEP).
function value(v, isstr,   p, k) {
  if (d == 0) fail("a value outside the list")
  if (T[d] == "o") { if (!havekey) fail("a value without a key"); k = key } else k = "#"
  havekey = 0; expect = ""
  if (d < 2 || d > 5) return
  p = P[d]
  if (p == "I/metadata/labels") {
    if (substr(k, 1, 13) == "backup-ns.sh/") { nl++; LK[nl] = k; LV[nl] = v }
  } else if (p == "I/metadata/annotations") {
    if (substr(k, 1, 13) == "backup-ns.sh/") { na++; AK[na] = k; AV[na] = v }
  } else if (p in KEEP) {
    if (p == "I/status/error") err = 1
    # the go-templates printed "with" values: empty, false, 0 and null print nothing
    if (!isstr) {
      if (v != "true" && v != "false" && v != "null" && v !~ /^-?[0-9][0-9.eE+-]*$/) fail("a bad literal " v)
      if (v == "null" || v == "false" || v + 0 == 0 && v != "true") v = ""
    }
    F[p "/" k] = v
  }
}
# sorted N KEYS VALS SEP QUOTE: "k=v" items in key order (as the templates ranged maps).
function sorted(n, K, V, sep, q,   i, j, tk, tv, out) {
  for (i = 2; i <= n; i++) {
    tk = K[i]; tv = V[i]
    for (j = i - 1; j >= 1 && K[j] > tk; j--) { K[j + 1] = K[j]; V[j + 1] = V[j] }
    K[j + 1] = tk; V[j + 1] = tv
  }
  out = ""
  for (i = 1; i <= n; i++) out = out K[i] "=" q V[i] q sep
  return out
}
function f(p) { return (p in F) ? F[p] : "" }
function item(   labels, annotations, e) {
  labels = sorted(nl, LK, LV, ",", "")
  annotations = sorted(na, AK, AV, "\037", "\"")
  if (kind == "vs") {
    e = ""
    if (err) e = (f("I/status/error/message") != "") ? "\"" F["I/status/error/message"] "\"" : "\"error\""
    print "V\t" f("I/metadata/namespace") "\t" f("I/metadata/name") "\t" f("I/metadata/uid") "\t" \
      f("I/metadata/creationTimestamp") "\t" f("I/status/creationTime") "\t" \
      (f("I/status/readyToUse") == "true" ? "true" : "") "\t" e "\t" \
      f("I/status/boundVolumeSnapshotContentName") "\t" f("I/status/restoreSize") "\t" \
      f("I/metadata/deletionTimestamp") "\t" labels "\t" annotations "\t$"
  } else if (kind == "vsc") {
    print "C\t" f("I/metadata/name") "\t" f("I/metadata/creationTimestamp") "\t" \
      f("I/status/creationTime") "\t" (f("I/status/readyToUse") == "true" ? "true" : "") "\t" \
      f("I/spec/deletionPolicy") "\t" f("I/spec/volumeSnapshotRef/namespace") "\t" \
      f("I/spec/volumeSnapshotRef/name") "\t" f("I/spec/volumeSnapshotRef/uid") "\t" \
      f("I/metadata/deletionTimestamp") "\t" labels "\t" annotations "\t" \
      (f("I/status/snapshotHandle") != "" ? F["I/status/snapshotHandle"] : f("I/spec/source/snapshotHandle")) "\t$"
  } else if (f("I/spec/dataSource/kind") == "VolumeSnapshot") {
    print "P\t" f("I/metadata/namespace") "\t" f("I/metadata/name") "\t" f("I/status/phase") "\t" \
      f("I/spec/dataSource/name") "\t$"
  }
}
# structure S: the text between two strings ({ } [ ] : , literals, white space).
function structure(s,   i, n, c, lit) {
  if (s == ":") { if (!havekey) fail("a colon without a key"); expect = "value"; return }
  if (s == ",") { if (expect != "") fail("a misplaced comma"); expect = (T[d] == "o") ? "key" : "value"; return }
  n = length(s); lit = ""
  for (i = 1; i <= n; i++) {
    c = substr(s, i, 1)
    if (skip) {  # inside metadata.managedFields: only the nesting counts
      if (c == "{" || c == "[") sd++
      else if ((c == "}" || c == "]") && --sd == 0) { skip = 0; expect = "" }
      continue
    }
    if (c == "[" && expect == "value" && havekey && key == "managedFields" && P[d] == "I/metadata") {
      skip = 1; sd = 1; havekey = 0; continue
    }
    if (c == "{" || c == "[" || c == "}" || c == "]" || c == ":" || c == "," || c == " " || c == "\n" || c == "\t" || c == "\r") {
      if (lit != "") { if (expect != "value") fail("a misplaced literal"); value(lit, 0); lit = "" }
      if (c == "{") { if (expect != "value" && d > 0) fail("a misplaced {"); push("o") }
      else if (c == "[") { if (expect != "value" && d > 0) fail("a misplaced ["); push("a") }
      else if (c == "}") pop("o")
      else if (c == "]") pop("a")
      else if (c == ":") { if (!havekey) fail("a colon without a key"); expect = "value" }
      else if (c == ",") { if (expect != "") fail("a misplaced comma"); expect = (T[d] == "o") ? "key" : "value" }
    } else lit = lit c
  }
  if (lit != "") { if (expect != "value") fail("a misplaced literal"); value(lit, 0) }
}
BEGIN {
  RS = "\""; d = 0; instr = 0; pend = ""; top = 0; items = 0; expect = "value"
  split("I/metadata I/status I/status/error I/spec I/spec/source I/spec/volumeSnapshotRef I/spec/dataSource", t, " ")
  for (i in t) KEEP[t[i]] = 1
}
skip {  # metadata.managedFields (large on a real server, never needed): skipped cheaply
  if (instr) {
    if (pend != "") { s = pend $0; pend = "" } else s = $0
    if (substr(s, length(s), 1) == "\\" && match(s, /\\+$/) && RLENGTH % 2 == 1) { pend = s "\""; next }
    instr = 0; next
  }
  instr = 1
  if ($0 == ":" || $0 == "," || $0 == ":{},") next
  if ($0 == ":{") { sd++; next }
  s = $0; o = gsub(/[[{]/, "", s); c = gsub(/[]}]/, "", s)
  if (sd - c > 0) { sd += o - c; next }
  structure($0); next
}
{
  if (!instr) {
    # the text between two strings: the frequent shapes here, the rest in structure()
    instr = 1
    if ($0 == ":") { if (!havekey) fail("a colon without a key"); expect = "value"; next }
    if ($0 == ",") { if (expect != "") fail("a misplaced comma"); expect = (T[d] == "o") ? "key" : "value"; next }
    if ($0 == ":{" && havekey && d > 2) {  # a member object inside an item
      name = key; d++; T[d] = "o"; havekey = 0; P[d] = P[d - 1] "/" name; expect = "key"; next
    }
    if ($0 == "},") {
      if (d > 3 && T[d] == "o") { d--; expect = (T[d] == "o") ? "key" : "value"; havekey = 0; next }
    }
    if (substr($0, 1, 1) == ":" && substr($0, length($0), 1) == "," && $0 ~ /^:[-+.0-9a-zE]+,$/ && havekey) {
      expect = "value"; value(substr($0, 2, length($0) - 2), 0); expect = (T[d] == "o") ? "key" : "value"; next
    }
    structure($0); next
  }
  if (pend != "") { s = pend $0; pend = "" } else s = $0
  # a string ending in an odd number of backslashes ended at an escaped quote
  if (substr(s, length(s), 1) == "\\" && match(s, /\\+$/) && RLENGTH % 2 == 1) { pend = s "\""; next }
  instr = 0
  if (expect == "key") { key = s; havekey = 1; expect = ":"; next }
  if (expect != "value") fail("a misplaced string")
  if (d < 3) {
    if (d == 1 && havekey && key == "kind") listkind = s
    if (d == 2 && P[2] == "T/metadata" && havekey && key == "continue") token = s
  }
  value(s, 1)
}
END {
  if (bad != "") { print "incomplete list: " bad > "/dev/stderr"; exit 1 }
  if (pend != "" || d != 0 || !top) { print "incomplete list: the JSON ends early" > "/dev/stderr"; exit 1 }
  if (!items || listkind !~ /List$/) { print "incomplete list: not a list (kind " listkind ")" > "/dev/stderr"; exit 1 }
  print token > tokfile
}
