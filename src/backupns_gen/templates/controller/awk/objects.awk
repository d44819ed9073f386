# objects: "NS<TAB>NAME" (VolumeSnapshots) or "NAME" (contents) lines -> a JSON List
# of references for `kubectl -f` (-v kind).
BEGIN { printf "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[" }
{
  printf "%s{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"%s\",\"metadata\":{", (NR > 1 ? "," : ""), kind
  if (kind == "VolumeSnapshot") printf "\"namespace\":\"%s\",\"name\":\"%s\"}}", $1, $2
  else printf "\"name\":\"%s\"}}", $1
}
END { print "]}" }
