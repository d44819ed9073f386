# describe: the decide output's action lines, one human line each (-v today).
$1 == "unlabel" { print "unlabel " $4 " " $2 "/" $3 " : " $5 }
$1 == "unmark" { print "unmark " $2 "/" $3 " : " $5 }
$1 == "mark" { print "mark " $2 "/" $3 " : delete-after=" today " (" $4 "), " $5 }
$1 == "delete" && $7 != "" { print "delete " $2 "/" $3 " : " $6 "; kept data: handle shared with content " $7 \
  "; content " $4 ($5 == "Delete" ? " deletionPolicy Delete -> Retain first," : "") " deleted too" }
$1 == "delete" && $7 == "" { print "delete " $2 "/" $3 " : " $6 ($4 != "" && $5 != "Delete" ? "; content " $4 " deletionPolicy " $5 " -> Delete first" : "") }
$1 == "skip" { print "keep " $2 "/" $3 " : " $4 " (not deleted)" }
$1 == "sync" { print "sync vsc/" $2 " : " $5 }
$1 == "orphan" { print "orphan vsc/" $2 " : " $3 " (labelled orphaned-since=" today ")" }
$1 == "odelete" && $5 != "" { print "delete vsc/" $2 " : " $4 "; kept data: handle shared with content " $5 ($3 == "Delete" ? "; deletionPolicy Delete -> Retain first" : "") }
$1 == "odelete" && $5 == "" { print "delete vsc/" $2 " : " $4 ($3 != "Delete" ? "; deletionPolicy " $3 " -> Delete first" : "") }
$1 == "oskip" { print "keep vsc/" $2 " : " $3 " (not deleted)" }
$1 == "gdelete" { print "delete volumegroupsnapshot " $2 "/" $3 " : " $4 "; its content deletionPolicy -> Delete first (the members' data goes with it)" }
