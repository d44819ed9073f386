# keys (-v key=...): the read's V or C lines, each after the key it is sorted and joined
# on, with its line number (the order of the read) where later steps need it:
#   bound: each managed snapshot: CONTENT GROUP SEQ V-line (its bound content's name)
#   name: each content: NAME SEQ C-line
#   ours: each of our contents not being deleted: GROUP SEQ C-line (GROUP its PVC's)
#   snapshot: each snapshot: NS/NAME UID
#   claim (of the pair lines): each snapshot not being deleted and its content:
#     CSEQ SEQ GROUP
#   delete: each content with deletionPolicy Delete not being deleted: SEQ NAME GROUP,
#     GROUP its PVC's when it is ours (else empty)
#   policy (of the delete lines joined with the claims, the last snapshot's first):
#     X SEQ NAME GROUP, GROUP the claiming snapshot's, else the content's own
BEGIN { FS = "\t" }
key == "bound" { forget(); load_vs(); if (vmanaged[1]) print vbound[1] "\t" vgroup[1] "\t" NR "\t" $0; next }
key == "name" { print $2 "\t" NR "\t" $0; next }
key == "ours" { forget(); load_vsc(); if (cours[1] && !cdel[1]) print crefns[1] "/" cpvc[1] "\t" NR "\t" $0; next }
key == "snapshot" { print $2 "/" $3 "\t" $4; next }
key == "claim" && NF > 16 && $13 == "" { print $17 "\t" $2 "\t" $1; next }
key == "delete" { forget(); load_vsc(); if (!cdel[1] && cpolicy[1] == "Delete") print NR "\t" cname[1] "\t" (cours[1] ? crefns[1] "/" cpvc[1] : ""); next }
key == "policy" && $1 != last { last = $1; g = (NF > 3) ? $5 : $3; if (g != "") print "X\t" $1 "\t" $2 "\t" g }
