# holders: the tagged action lines (decide.awk's and orphans.awk's, sorted by phase and
# SEQ) -> the action lines, each deletion of a content followed by its SHARED holder:
# a content with the same snapshot handle that stays (any other content, also one being
# deleted already or not ours), else the last of this run's deletions of that handle;
# "" when it is the last holder. Only the last holder lets the driver delete the data.
# Three passes (assignment operands): pass=1 the tagged lines, pass=2 the C lines (the
# read: SEQ is the line number), pass=3 the tagged lines again. Holds the deletions only.
BEGIN { FS = "\t" }
pass == 1 && $3 != "" { going[$3] = 1; if ($4 != "") { last[$4] = $3; lastname[$4] = $5; need[$4] = 1 }; next }
pass == 2 && $13 != "" && ($13 in need) && !(FNR in going) && !($13 in stays) { stays[$13] = $2; next }
pass == 3 {
  line = $0; sub(/^([^\t]*\t){5}/, "", line)
  if ($3 == "") { print line; next }
  holder = ""
  if ($4 != "") holder = ($4 in stays) ? stays[$4] : (last[$4] != $3) ? lastname[$4] : ""
  print line "\t" holder
}
