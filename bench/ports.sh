# Sourced by the bench scripts that start servers of their own: free ports on 127.0.0.1.
# port_free PORT: nothing listens on 127.0.0.1:PORT
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# free_ports FROM COUNT: the first port from FROM with COUNT free ports in a row
free_ports() {
  local p=$1 i ok
  while [ "$p" -lt 65000 ]; do
    ok=1
    for ((i = 0; i < $2; i++)); do port_free $((p + i)) || { ok=0; break; }; done
    [ "$ok" = 1 ] && { echo "$p"; return; }
    p=$((p + $2))
  done
  echo "no free ports from $1" >&2
  exit 2
}
