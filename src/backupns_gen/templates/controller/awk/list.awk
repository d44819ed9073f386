BEGIN { FS = "\t"; if (sel != "") { eq = index(sel, "="); skey = eq ? substr(sel, 1, eq - 1) : sel; sval = eq ? substr(sel, eq + 1) : ""; hasval = eq > 0 } }
$1 == "V" { forget(); load_vs(); i = nv
  if (!vmanaged[i] || (ns != "" && vns[i] != ns) || (pvc != "" && vpvc[i] != pvc)) next
  if (sel != "" && (!(("v" i, skey) in L) || (hasval && L["v" i, skey] != sval))) next
  labels = ""; n = split(substr(LK["v" i], 2), ks, " ")
  for (x = 1; x <= n; x++) if (ks[x] != "backup-ns.sh/pvc" && ks[x] != "backup-ns.sh/type") labels = labels (labels == "" ? "" : ",") substr(ks[x], 14) "=" L["v" i, ks[x]]
  f = failed(i)
  printf "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", vep[i], vns[i], vname[i], vpvc[i], (f != "" ? "failed" : vready[i] ? "true" : "false"), age(now - vep[i]), (vsize[i] == "" ? "-" : vsize[i]), (labels == "" ? "-" : labels) }
