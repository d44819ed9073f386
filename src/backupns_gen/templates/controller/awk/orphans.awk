# orphans: our contents whose snapshot (or namespace) is gone; after the sweep, whose
# deletions count against the same cap (-v ndel, capped: the sweep's).
#   -v step=top: keys.awk's "ours" lines sorted by group -> REF SEQ TOP C-line, REF the
#     snapshot it was cut for (NS/NAME), TOP 1 for the newest content of its group
#     (one group held at a time)
#   -v step=decide: those lines sorted by SEQ, each followed by its snapshot's UID when
#     that snapshot exists -> the tagged action lines (as decide.awk's), the cap line last.
BEGIN { FS = "\t"; todayn = daynum(today); split(phases, ph, " ")
  for (p in ph) P[ph[p]] = 1 }
# load_seq SQ AT: the C line from field AT on as content nc (field SQ, its SEQ, in
# cseq); the field after it, if any, in after (else hasafter is 0).
function load_seq(sq, at,   n, f, x, s) {
  n = split($0, f, "\t")
  s = f[at]; for (x = at + 1; x <= at + 13; x++) s = s "\t" f[x]
  hasafter = n > at + 13; after = f[at + 14]
  $0 = s; load_vsc(); cseq[nc] = f[sq]; cline[nc] = s
}
step == "top" { if ($1 != cur && nc) tops(); cur = $1; load_seq(2, 3); next }
function tops(   j, t) {
  t = 0
  for (j = 1; j <= nc; j++) if (!t || cnano[j] > cnano[t] || (cnano[j] == cnano[t] && cname[j] > cname[t])) t = j
  for (j = 1; j <= nc; j++) print crefns[j] "/" crefname[j] "\t" cseq[j] "\t" (j == t) "\t" cline[j]
  forget()
}
step == "decide" && P["orphans"] {
  forget(); top = $3; load_seq(2, 4); j = 1
  # the snapshot is there (the same object, when the content names its uid)
  if (hasafter && (crefuid[j] == "" || crefuid[j] == after)) next
  og = crefns[j] "/" cpvc[j]; since = lab("c" j, "backup-ns.sh/orphaned-since")
  gone = "snapshot " crefns[j] "/" crefname[j] " is gone"
  if (since == "" || daynum(since) < 0) { out("orphan\t" cname[j] "\t" gone ", first seen today"); next }
  d = todayn - daynum(since)
  if (d < orphan_days) next
  if (lab("c" j, "backup-ns.sh/keep") == "true") { out("oskip\t" cname[j] "\tlabelled backup-ns.sh/keep=true"); next }
  if (top) { out("oskip\t" cname[j] "\tnewest content of " og); next }
  if (ndel >= max_del) { capped++; out("oskip\t" cname[j] "\tdeletion cap reached (maxDeletionsPerRun " max_del ")"); next }
  ndel++
  out("odelete\t" cname[j] "\t" cpolicy[j] "\t" gone ", orphaned since " since " (" d " days, keep " orphan_days ")", j)
}
END {
  if (step == "top" && nc) tops()
  if (step == "decide" && capped) out("cap\t" capped "\t" max_del, 0, 6)
}
# out LINE [J [PHASE]]: a tagged action line (as decide.awk's): phase 5 (or PHASE), in
# the order of the read; J: the content it deletes.
function out(line, j, phase) {
  print (phase ? phase : 5) "\t" (nc ? cseq[1] : 0) "\t" (j ? cseq[j] "\t" chandle[j] "\t" cname[j] : "\t\t") "\t" line
}
