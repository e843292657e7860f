# SPDX-License-Identifier: GPL-2.0-only
# A throwaway 3-member etcd cluster on loopback for the integration tests
# (sourced from bash, after lib.sh or alone):
#
#   etcd_up              start members m1..m3 on free loopback ports, data in a
#                        mktemp -d folder, fast raft timings; wait (<= 10 s) until
#                        every member is healthy; export ETCD_ENDPOINTS
#                        ("http://127.0.0.1:P1,...") and ETCD_DIR. 0 or 1.
#   etcd_member_stop I   SIGTERM member I (1..3) and wait for it (SIGKILL after 5 s)
#   etcd_member_start I  start member I again on its data (--initial-cluster-state
#                        existing) and wait until it is healthy
#   etcd_down            kill every member, remove the data; idempotent (traps)
#   etcd_url I           member I's client URL
#   etcd_ctl ARGS...     etcdctl against every member
#
# Where: by default on this namespace's loopback. Set before etcd_up (as
# plain assignments: they must outlive it) ETCD_NETNS=NAME to run the
# members (and etcdctl) in network namespace NAME, and ETCD_HOSTS="A B C"
# for the members' listen addresses (one per member; default 127.0.0.1),
# so that daemons in other namespaces can reach them over a lab link.
#
# Call these from the test's own shell (not in $(...)): they keep the
# members' PIDs in shell variables. Members are children of that shell and
# die with it (setpriv --pdeathsig) if it is killed before its trap runs.
# Tests run one after the other, so probing ports with ss is enough.

ETCD_N=3
ETCD_DIR=
ETCD_ENDPOINTS=
ETCD_PIDS=()
ETCD_CPORT=()
ETCD_PPORT=()
ETCD_CLUSTER=
ETCD_NETNS=${ETCD_NETNS:-}
ETCD_HOSTS=${ETCD_HOSTS:-}
ETCD_HOST=()

# etcd_in CMD...: CMD in ETCD_NETNS (nsenter execs it), or here.
etcd_in() {
	if [ -n "$ETCD_NETNS" ]; then
		nsenter --net=/run/netns/"$ETCD_NETNS" -- "$@"
	else
		"$@"
	fi
}

# etcd_pick_ports N: N distinct free TCP ports on loopback, space-separated.
etcd_pick_ports() {
	local want=$1 used picked="" p tries=0
	used=$(etcd_in ss -ltnH 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
	while [ "$(echo $picked | wc -w)" -lt "$want" ] && [ $tries -lt 1000 ]; do
		tries=$((tries + 1))
		p=$((20000 + RANDOM % 30000))
		echo "$used" | grep -qx "$p" && continue
		case " $picked " in *" $p "*) continue ;; esac
		picked="$picked $p"
	done
	echo $picked
}

etcd_url() {
	echo "http://${ETCD_HOST[$1]:-127.0.0.1}:${ETCD_CPORT[$1]}"
}

etcd_ctl() {
	etcd_in etcdctl --endpoints="$ETCD_ENDPOINTS" --dial-timeout=1s --command-timeout=2s "$@"
}

# etcd_run I STATE: start member I in the background.
etcd_run() {
	local i=$1 pre=()
	# Die with the test's shell even when it is killed without its traps.
	command -v setpriv >/dev/null && pre=(setpriv --pdeathsig KILL)
	[ -n "$ETCD_NETNS" ] && pre+=(nsenter --net=/run/netns/"$ETCD_NETNS" --)
	"${pre[@]}" etcd --name "m$i" --data-dir "$ETCD_DIR/m$i" \
		--listen-client-urls "$(etcd_url "$i")" \
		--advertise-client-urls "$(etcd_url "$i")" \
		--listen-peer-urls "http://${ETCD_HOST[$i]}:${ETCD_PPORT[$i]}" \
		--initial-advertise-peer-urls "http://${ETCD_HOST[$i]}:${ETCD_PPORT[$i]}" \
		--initial-cluster "$ETCD_CLUSTER" --initial-cluster-state "$2" \
		--initial-cluster-token "sluice-test-$$" \
		--heartbeat-interval 50 --election-timeout 500 \
		--logger zap --log-level warn >>"$ETCD_DIR/m$i.log" 2>&1 &
	ETCD_PIDS[i]=$!
}

# etcd_wait_healthy URLS SECONDS: every endpoint in URLS (comma-separated) healthy.
etcd_wait_healthy() {
	local end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -lt "$end" ]; do
		etcd_in etcdctl --endpoints="$1" --dial-timeout=500ms --command-timeout=1s \
			endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

etcd_up() {
	local ports i hosts
	command -v etcd >/dev/null && command -v etcdctl >/dev/null || {
		echo "etcd_up: etcd and etcdctl are needed (Debian: etcd-server, etcd-client)" >&2
		return 1
	}
	ETCD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sluice-etcd-$$.XXXXXX") || return 1
	read -r -a ports <<<"$(etcd_pick_ports $((2 * ETCD_N)))"
	[ "${#ports[@]}" -eq $((2 * ETCD_N)) ] || {
		echo "etcd_up: no free ports" >&2
		return 1
	}
	ETCD_CLUSTER=
	ETCD_ENDPOINTS=
	read -r -a hosts <<<"${ETCD_HOSTS:-127.0.0.1}"
	for i in $(seq 1 $ETCD_N); do
		ETCD_HOST[i]=${hosts[$((i - 1))]:-${hosts[$((${#hosts[@]} - 1))]}}
		ETCD_CPORT[i]=${ports[$((2 * i - 2))]}
		ETCD_PPORT[i]=${ports[$((2 * i - 1))]}
		ETCD_CLUSTER="${ETCD_CLUSTER:+$ETCD_CLUSTER,}m$i=http://${ETCD_HOST[i]}:${ETCD_PPORT[i]}"
		ETCD_ENDPOINTS="${ETCD_ENDPOINTS:+$ETCD_ENDPOINTS,}$(etcd_url "$i")"
	done
	export ETCD_ENDPOINTS ETCD_DIR
	for i in $(seq 1 $ETCD_N); do
		etcd_run "$i" new
	done
	etcd_wait_healthy "$ETCD_ENDPOINTS" 10 || {
		echo "etcd_up: the cluster did not become healthy within 10 s; logs:" >&2
		tail -n 5 "$ETCD_DIR"/m*.log >&2
		return 1
	}
}

etcd_member_stop() {
	local i=$1 pid=${ETCD_PIDS[$1]:-} n=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	ETCD_PIDS[i]=
	return 0
}

etcd_member_start() {
	local i=$1
	[ -z "${ETCD_PIDS[$i]:-}" ] || return 0
	etcd_run "$i" existing
	etcd_wait_healthy "$(etcd_url "$i")" 10
}

etcd_down() {
	local i pid
	for i in $(seq 1 $ETCD_N); do
		pid=${ETCD_PIDS[$i]:-}
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	for i in $(seq 1 $ETCD_N); do
		pid=${ETCD_PIDS[$i]:-}
		[ -n "$pid" ] || continue
		# Bounded: SIGKILL what did not stop within 3 s.
		for _ in $(seq 1 30); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		ETCD_PIDS[i]=
	done
	case "$ETCD_DIR" in
	*/sluice-etcd-*) rm -rf "$ETCD_DIR" ;;
	esac
	ETCD_DIR=
	return 0
}
