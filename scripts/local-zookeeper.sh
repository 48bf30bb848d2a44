#!/usr/bin/env bash
# Starts or stops a standalone ZooKeeper (Debian's package) for `make run`, in the background,
# with its data, config, log and pid under DIR.
#   scripts/local-zookeeper.sh start DIR PORT
#   scripts/local-zookeeper.sh stop DIR
#   scripts/local-zookeeper.sh clean DIR   (stop, then delete its data: the next start is empty)
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?data dir}; mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
pidfile=$dir/zookeeper.pid

is_running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

# Stops it and waits until it is gone (its port free, its data no longer written).
stop_server() {
  if is_running; then
    local pid; pid=$(cat "$pidfile"); kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    echo "ZooKeeper stopped"
  fi
  rm -f "$pidfile"
}

ready() { # srvr answers with a Mode: line only once the server really serves clients
  local reply
  reply=$(timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; printf srvr >&3; cat <&3" 2>/dev/null) || return 1
  grep -q '^Mode:' <<<"$reply"
}

case $cmd in
  start)
    port=${3:?port}
    if is_running; then echo "ZooKeeper already running (pid $(cat "$pidfile")) on port $port"; exit 0; fi
    if ready "$port"; then echo "port $port already answers as ZooKeeper (not ours); set ZK_PORT to another port" >&2; exit 1; fi
    mkdir -p "$dir/data"
    cat > "$dir/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=*
CFG
    nohup java -Xmx256m -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar \
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >"$dir/zookeeper.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
      if ready "$port"; then echo "ZooKeeper ready on 127.0.0.1:$port (data in $dir)"; exit 0; fi
      is_running || { echo "ZooKeeper exited; last log lines:" >&2; tail -20 "$dir/zookeeper.log" >&2; exit 1; }
      sleep 0.2
    done
    echo "ZooKeeper did not become ready in 20 s; see $dir/zookeeper.log" >&2; exit 1 ;;
  stop)
    stop_server ;;
  clean)
    stop_server
    rm -rf "$dir/data" "$dir/zoo.cfg" "$dir/zookeeper.log"
    echo "ZooKeeper data in $dir deleted" ;;
  *) echo "usage: $0 start DIR PORT | stop DIR | clean DIR" >&2; exit 2 ;;
esac
