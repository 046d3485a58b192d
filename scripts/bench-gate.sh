#!/usr/bin/env bash
# bench-gate.sh: throughput of Caddy's reverse_proxy with and without the
# authgate gate in front of it.
#
# Usage: scripts/bench-gate.sh <path to caddy binary built with authgate>
#
# It starts, on loopback and free ports:
#   - an upstream: a separate caddy answering `respond "upstream-ok" 200`
#     (the same process for both runs);
#   - config A: a caddy with only `reverse_proxy` to the upstream;
#   - config B: a caddy with the same site and `authgate` in front (storage
#     file in a temp dir, token_lifetime 1h); a user is created through its
#     admin API and signed in through the JSON API with curl.
# Both idle while the other is measured. wrk sends the same request to both:
# `Cookie: __session=...; __client=...` (only B looks at it; both forward it
# upstream), so the ratio is the cost of the gate alone. Each run gets a
# short warm-up, then `wrk -t2 -c32 -d10s`. It prints both requests/sec,
# the ratio B/A (target >= 0.95; the exit status does not depend on it) and
# the CPU time the front caddy spent per request, which is much less
# sensitive to other load on the machine than requests/sec. Everything it
# started is stopped on exit (trap). Total run time is about 30 s.
#
# Environment: WRK (default: wrk in PATH), DURATION (default 10s),
# WARMUP (default 2s), ROUNDS (default 1: A then B once; 2 or more run
# A B B A ... and average, for busy machines).
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 <path to caddy binary>" >&2
	exit 2
fi
CADDY=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[[ -x "$CADDY" ]] || { echo "bench-gate: $1 is not an executable" >&2; exit 2; }
WRK=${WRK:-$(command -v wrk || true)}
[[ -n "$WRK" ]] || { echo "bench-gate: wrk not found (set WRK=/path/to/wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "bench-gate: curl not found" >&2; exit 2; }
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-1}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench-gate: ROUNDS must be a positive integer" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-gate.XXXXXX")
PIDS=()   # the caddy processes
WRK_PID=  # the running wrk, if any

# is_child PID: the process still runs and is this script's child (so a
# recycled pid is never signalled).
is_child() {
	[[ -r "/proc/$1/stat" ]] && [[ "$(awk '{print $4}' "/proc/$1/stat" 2>/dev/null)" == "$$" ]]
}

cleanup() {
	local pid
	for pid in "${PIDS[@]}" ${WRK_PID:+"$WRK_PID"}; do
		if is_child "$pid"; then
			kill "$pid" 2>/dev/null || true
		fi
	done
	for pid in "${PIDS[@]}" ${WRK_PID:+"$WRK_PID"}; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "bench-gate: $*" >&2
	for f in "$WORK"/*.log; do
		[[ -f "$f" ]] || continue
		echo "--- last lines of $(basename "$f")" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}

# Keep caddy's own files (autosave, instance id) in the temp dir.
export XDG_DATA_HOME="$WORK/data" XDG_CONFIG_HOME="$WORK/config"

# free_port VAR: sets VAR to a loopback port that nothing listens on right
# now (and that no earlier call returned).
TAKEN=" "
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		[[ "$TAKEN" == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			TAKEN+="$p "
			printf -v "$1" '%s' "$p"
			return 0
		fi
	done
	die "no free port found"
}

# start_caddy NAME CADDYFILE: runs caddy with the Caddyfile in the
# background and records its pid in PIDS and LAST_PID.
start_caddy() {
	local name=$1 cfg="$WORK/$1.Caddyfile"
	printf '%s\n' "$2" >"$cfg"
	"$CADDY" run --config "$cfg" --adapter caddyfile >"$WORK/$name.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# wait_http URL PID: waits until URL answers (any status), at most 10 s,
# while process PID runs.
wait_http() {
	local i
	for i in $(seq 1 100); do
		kill -0 "$2" 2>/dev/null || die "the caddy serving $1 exited"
		if curl -s -o /dev/null --max-time 1 "$1"; then
			return 0
		fi
		sleep 0.1
	done
	die "$1 did not answer within 10 s"
}

# cpu_ticks PID: user+system CPU time of a process in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)

# wrk_bg OUTFILE ARGS...: runs wrk in the background and waits for it, so
# that a signal stops the script (and, through cleanup, wrk) at once.
wrk_bg() {
	local out=$1
	shift
	"$WRK" "$@" >"$out" 2>&1 &
	WRK_PID=$!
	wait "$WRK_PID" || die "wrk failed: $(cat "$out")"
	WRK_PID=
}

# run_wrk LABEL URL PID HEADER: warm-up, then the measured run; sets RUN_RPS
# (requests/sec) and RUN_CPU (CPU microseconds per request of process PID).
# Fails when any response was not 2xx/3xx.
run_wrk() {
	local label=$1 url=$2 pid=$3 hdr=$4 out="$WORK/wrk-$1.txt" reqs t0 t1
	wrk_bg "$WORK/warmup.txt" -t2 -c32 -d"$WARMUP" -H "$hdr" "$url"
	t0=$(cpu_ticks "$pid")
	wrk_bg "$out" -t2 -c32 -d"$DURATION" --latency -H "$hdr" "$url"
	t1=$(cpu_ticks "$pid")
	echo "=== $label"
	grep -E 'Latency|Req/Sec|requests in|Requests/sec|Non-2xx|Socket errors|  50%|  99%' "$out"
	if grep -q 'Non-2xx or 3xx' "$out"; then
		die "$label: some responses were not 2xx/3xx"
	fi
	RUN_RPS=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	reqs=$(awk '/ requests in / {print $1}' "$out")
	[[ -n "$RUN_RPS" && -n "$reqs" && "$reqs" -gt 0 ]] || die "$label: no request count in the wrk output"
	RUN_CPU=$(awk -v n="$reqs" -v d="$((t1 - t0))" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')
	echo "front caddy CPU: $RUN_CPU us/request"
}

free_port UP_PORT
free_port A_PORT
free_port B_PORT
free_port ADMIN_PORT
SITE_A="http://127.0.0.1:$A_PORT"
SITE_B="http://127.0.0.1:$B_PORT"
ADMIN="http://127.0.0.1:$ADMIN_PORT"

# --- the upstream (the same for both runs)
start_caddy upstream "{
	admin off
	persist_config off
}
http://127.0.0.1:$UP_PORT {
	bind 127.0.0.1
	respond \"upstream-ok\" 200
}"
UP_PID=$LAST_PID

# --- config A: reverse_proxy only
start_caddy proxy "{
	admin off
	persist_config off
}
http://127.0.0.1:$A_PORT {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$UP_PORT
}"
A_PID=$LAST_PID

# --- config B: authgate + the same reverse_proxy
start_caddy gate "{
	admin 127.0.0.1:$ADMIN_PORT
	persist_config off
	authgate {
		storage file $WORK/authgate.db
		token_lifetime 1h
		email log
		sms log
	}
}
http://127.0.0.1:$B_PORT {
	bind 127.0.0.1
	authgate
	reverse_proxy 127.0.0.1:$UP_PORT
}"
B_PID=$LAST_PID
wait_http "http://127.0.0.1:$UP_PORT/" "$UP_PID"
wait_http "$SITE_A/" "$A_PID"
wait_http "$SITE_B/" "$B_PID"

# A user, signed in through the JSON API like a browser would.
EMAIL=bench@example.com
PASSWORD=bench-Quartz-Lantern-91
code=$(curl -s -o "$WORK/user.json" -w '%{http_code}' --max-time 10 \
	-H 'Content-Type: application/json' \
	-d "{\"email_address\":[\"$EMAIL\"],\"password\":\"$PASSWORD\"}" \
	"$ADMIN/authgate/v1/users")
[[ "$code" == 200 ]] || die "creating the user: HTTP $code $(cat "$WORK/user.json")"

code=$(curl -s -o "$WORK/signin.json" -w '%{http_code}' --max-time 10 \
	-c "$WORK/cookies.txt" -H "Origin: $SITE_B" \
	--data-urlencode strategy=password --data-urlencode "identifier=$EMAIL" --data-urlencode "password=$PASSWORD" \
	"$SITE_B/__authgate/v1/client/sign_ins")
[[ "$code" == 200 ]] || die "signing in: HTTP $code $(cat "$WORK/signin.json")"
grep -q '"status":"complete"' "$WORK/signin.json" || die "sign-in not complete: $(cat "$WORK/signin.json")"

# Netscape cookie file; curl writes HttpOnly cookies as #HttpOnly_<domain>.
cookie_value() { awk -v n="$1" -F'\t' 'NF >= 7 && $6 == n {v = $7} END {print v}' "$WORK/cookies.txt"; }
SESSION=$(cookie_value __session)
CLIENT=$(cookie_value __client)
[[ -n "$SESSION" && -n "$CLIENT" ]] || die "sign-in did not set __session and __client"
COOKIE="Cookie: __session=$SESSION; __client=$CLIENT"

# Both sites really answer with the upstream's 200; B only with the cookie.
body=$(curl -s --max-time 5 -H "$COOKIE" "$SITE_A/")
[[ "$body" == "upstream-ok" ]] || die "config A: $SITE_A/ answered '$body', not the upstream"
anon=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Accept: text/html' "$SITE_B/")
[[ "$anon" == 303 ]] || die "config B: an anonymous navigation got HTTP $anon, want 303"
code=$(curl -s -o "$WORK/check.txt" -w '%{http_code}' --max-time 5 -H 'Accept: text/html' -H "$COOKIE" "$SITE_B/")
[[ "$code" == 200 && "$(cat "$WORK/check.txt")" == "upstream-ok" ]] ||
	die "config B: the signed-in request got HTTP $code '$(cat "$WORK/check.txt")', not the upstream's 200"

# The same request (cookie included, which reverse_proxy forwards in both
# configs) against both, so the ratio is the gate's cost alone.
# ROUNDS > 1 alternates A and B (A B B A ...) and averages, which evens out
# background load on a busy machine. Besides requests/sec, the CPU time the front
# caddy spent per request is measured: unlike throughput it hardly depends
# on what else the machine is doing.
sum() { awk -v s="$1" -v x="$2" 'BEGIN {printf "%.2f", s + x}'; }
avg() { awk -v s="$1" -v n="$ROUNDS" 'BEGIN {printf "%.2f", s / n}'; }
RPS_A=0 RPS_B=0 CPU_A=0 CPU_B=0
for ((round = 1; round <= ROUNDS; round++)); do
	# Odd rounds run A first, even rounds B first (A B B A ...), so a drift
	# in machine speed during the benchmark favours neither.
	for cfg in $( ((round % 2)) && echo A B || echo B A); do
		if [[ $cfg == A ]]; then
			run_wrk "A-reverse_proxy-$round" "$SITE_A/" "$A_PID" "$COOKIE"
			RPS_A=$(sum "$RPS_A" "$RUN_RPS") CPU_A=$(sum "$CPU_A" "$RUN_CPU")
		else
			run_wrk "B-authgate+reverse_proxy-$round" "$SITE_B/" "$B_PID" "$COOKIE"
			RPS_B=$(sum "$RPS_B" "$RUN_RPS") CPU_B=$(sum "$CPU_B" "$RUN_CPU")
		fi
	done
done
RPS_A=$(avg "$RPS_A") RPS_B=$(avg "$RPS_B") CPU_A=$(avg "$CPU_A") CPU_B=$(avg "$CPU_B")

RATIO=$(awk -v a="$RPS_A" -v b="$RPS_B" 'BEGIN {printf "%.3f", b / a}')
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
echo
printf 'A reverse_proxy:          %10s req/s   %7s CPU us/req (front caddy)\n' "$RPS_A" "$CPU_A"
printf 'B authgate+reverse_proxy: %10s req/s   %7s CPU us/req (front caddy)\n' "$RPS_B" "$CPU_B"
printf 'ratio B/A:                %10s (target >= 0.95)\n' "$RATIO"
printf 'gate CPU cost:            %10s us/req (B - A)\n' "$(awk -v a="$CPU_A" -v b="$CPU_B" 'BEGIN {printf "%.1f", b - a}')"
printf 'load average:             %s (%s CPUs)\n' "$LOADAVG" "$(getconf _NPROCESSORS_ONLN)"
if awk -v r="$RATIO" 'BEGIN {exit !(r >= 0.95)}'; then
	echo "PASS"
else
	echo "BELOW TARGET"
fi
