# keys (-v key=...): the read's V or C lines, each after the key it is sorted and joined
# on, with its line number (the order of the read) where later steps need it:
#   bound: each managed snapshot: CONTENT GROUP SEQ V-line (its bound content's name)
#   name: each content: NAME SEQ C-line
#   ours: each of our contents not being deleted: GROUP SEQ C-line (GROUP its PVC's)
#   snapshot: each snapshot: NS/NAME UID
BEGIN { FS = "\t" }
key == "bound" { forget(); load_vs(); if (vmanaged[1]) print vbound[1] "\t" vgroup[1] "\t" NR "\t" $0; next }
key == "name" { print $2 "\t" NR "\t" $0; next }
key == "ours" { forget(); load_vsc(); if (cours[1] && !cdel[1]) print crefns[1] "/" cpvc[1] "\t" NR "\t" $0; next }
key == "snapshot" { print $2 "/" $3 "\t" $4 }
