# Sourced by the benchmark scripts: NSD (Debian `nsd`) as a loopback authoritative server for
# a zone written by `stsmap lab zone`.
#
#   nsd_conf DIR PORT ZONEFILE SERVER_COUNT   writes DIR/nsd.conf: 127.0.0.1@PORT only, response
#                                             rate limiting off, no chroot, state and log in DIR
#   then: nsd -d -c DIR/nsd.conf &
nsd_conf() {
  local dir=$1 port=$2 zone=$3 count=$4
  cat > "$dir/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$port
  port: $port
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$dir"
  database: ""
  zonelistfile: "$dir/zone.list"
  xfrdfile: "$dir/xfrd.state"
  xfrdir: "$dir"
  pidfile: "$dir/nsd.pid"
  logfile: "$dir/nsd.log"
  server-count: $count
  reuseport: yes
  verbosity: 0
  hide-version: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: "."
  zonefile: "$zone"
EOF
}
