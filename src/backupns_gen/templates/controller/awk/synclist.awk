# synclist: the decide output's sync lines that add labels or annotations -> one JSON
# List of partial VolumeSnapshotContents for a server-side apply; exit 1 when none.
BEGIN { n = 0; printf "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[" }
$1 == "sync" && $3 != "{\"labels\":{},\"annotations\":{}}" {
  printf "%s{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshotContent\",\"metadata\":{\"name\":\"%s\",%s}", (n++ ? "," : ""), $2, substr($3, 2)
}
END { print "]}"; exit (n == 0) }
