# patches: the decide output -> one merge patch per snapshot with all of its label
# changes, "PATCH<TAB>NS<TAB>NAME" in the order the snapshots first appear (-v today).
$1 == "unlabel" { id = $2 "\t" $3; P[id] = P[id] ",\"backup-ns.sh/" $4 "\":null"; if (!(id in O)) { O[id] = ++n; I[n] = id } }
$1 == "unmark" { id = $2 "\t" $3; P[id] = P[id] ",\"backup-ns.sh/delete-after\":" ($4 == "" ? "null" : "\"" $4 "\"") ",\"backup-ns.sh/delete-reason\":null"; if (!(id in O)) { O[id] = ++n; I[n] = id } }
$1 == "mark" { id = $2 "\t" $3; P[id] = P[id] ",\"backup-ns.sh/delete-after\":\"" today "\",\"backup-ns.sh/delete-reason\":\"" $4 "\""; if (!(id in O)) { O[id] = ++n; I[n] = id } }
END { for (i = 1; i <= n; i++) print "{\"metadata\":{\"labels\":{" substr(P[I[i]], 2) "}}}\t" I[i] }
