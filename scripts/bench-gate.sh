#!/usr/bin/env bash
# bench-gate.sh: what the authgate gate costs in front of reverse_proxy.
#
# Usage: scripts/bench-gate.sh <caddy binary built with authgate> [results dir]
#
# It starts, on loopback and free ports, separate caddy processes:
#   - upstream: `respond "upstream-ok" 200` (plus /__bench/echo, which
#     answers the identity headers and the Cookie header it received, for
#     the checks below);
#   - auth: the forward_auth endpoint that costs nothing: `respond 200`
#     with the three identity headers set;
#   - four fronts, each its own process, the same upstream behind them:
#       plain        reverse_proxy
#       header_up    reverse_proxy + header_up of the three identity
#                    headers (X-Authgate-User-Id, -Session-Id, -Email)
#                    with constant values: alice's, so the same bytes
#       authgate     authgate + reverse_proxy (storage file in a temp dir,
#                    token_lifetime 1h; alice is created through the
#                    admin API and signed in through the JSON API)
#       forward_auth forward_auth to the auth endpoint (copy_headers of
#                    the three headers) + reverse_proxy
# wrk sends every front the same request, with the same header
# `Cookie: __session=...; __client_uat=...; __client=...`. Before measuring, each front is
# checked: the upstream's 200, and the three identity headers with
# alice's values (authgate: the Cookie without __client).
#
# ROUNDS rounds (default 10) run each front once, alternating the order
# (plain header_up authgate forward_auth, then the reverse), each run a
# warm-up then `wrk -t2 -c32 -d$DURATION --latency`. Per run it records
# requests/s, p50 and p99 latency, the CPU time per request of the front
# caddy and of the backends (upstream + auth; user+sys from
# /proc/<pid>/stat before and after), the front's allocations per request
# (Mallocs from its admin /debug/vars) and how busy the machine was with
# other work (all CPU time in /proc/stat minus ours and wrk's). The
# summary gives the median of every measure, and the median of the
# per-round ratios (the fronts of one round ran next to each other in
# time, so a drift in the machine's speed cancels out): authgate /
# header_up (goal >= 0.98), authgate / plain (goal >= 0.95), and the CPU
# per request of authgate minus header_up (goal <= 5 us). Beside them, for
# a machine shared with other work: the same ratios from the CPU time the
# whole run (wrk, front, backends) spent per request, which other load
# does not skew, and from each front's least disturbed run.
#
# Then, unless PROFILE=0, it takes a CPU profile and heap profiles of the
# authgate, header_up and plain fronts under the same load
# (PROFILE_SECONDS, default 15) and lists where the authgate front's CPU
# and allocations go: the gate's share and its functions, header_up's
# header operations, the Caddy functions the identity headers go through
# on each front, and the profiles side by side.
#
# Results: in the results dir (default: a temp dir, printed), runs.tsv
# (one line per run), summary.md (the tables BENCHMARKS.md shows) and
# summary.env (its numbers, for scripts),
# profile.md and profile.env, and the profiles (*.pprof). The exit status does not depend
# on the goals. Everything it started is stopped on exit (trap).
#
# Environment: WRK (default: wrk in PATH), ROUNDS (10), DURATION (3s),
# WARMUP (1s), PROFILE (1), PROFILE_SECONDS (15). With the defaults it
# runs for about 4 minutes.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
	echo "usage: $0 <path to caddy binary> [results dir]" >&2
	exit 2
fi
CADDY=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[[ -x "$CADDY" ]] || { echo "bench-gate: $1 is not an executable" >&2; exit 2; }
WRK=${WRK:-$(command -v wrk || true)}
[[ -n "$WRK" ]] || { echo "bench-gate: wrk not found (set WRK=/path/to/wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "bench-gate: curl not found" >&2; exit 2; }
ROUNDS=${ROUNDS:-10}
DURATION=${DURATION:-3s}
WARMUP=${WARMUP:-1s}
PROFILE=${PROFILE:-1}
PROFILE_SECONDS=${PROFILE_SECONDS:-15}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench-gate: ROUNDS must be a positive integer" >&2; exit 2; }
[[ "$PROFILE_SECONDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench-gate: PROFILE_SECONDS must be a positive integer" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-gate.XXXXXX")
OUT=${2:-$WORK/results}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
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
	# The results stay when they are not inside WORK.
	if [[ "$OUT" == "$WORK"/* ]]; then
		echo "bench-gate: results were in $OUT (removed with the temp dir; pass a results dir to keep them)" >&2
	fi
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
# now (and that no earlier call returned), below the ephemeral range, so
# that no outgoing connection (wrk's, curl's) takes it before caddy binds.
read -r EPHEMERAL_LOW _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || EPHEMERAL_LOW=32768
PORT_LOW=$((EPHEMERAL_LOW > 12000 ? 10000 : 1100))
PORT_SPAN=$((EPHEMERAL_LOW - PORT_LOW - 1))
TAKEN=" "
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((PORT_LOW + RANDOM % PORT_SPAN))
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

CLK_TCK=$(getconf CLK_TCK)
NCPU=$(getconf _NPROCESSORS_ONLN)
# cpu_ticks PID...: user+system CPU time of processes, in clock ticks.
cpu_ticks() {
	local pid t=0
	for pid in "$@"; do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
	done
	echo "$t"
}
# child_ticks: CPU time of this script's waited-for children (wrk, awk...).
child_ticks() { awk '{print $16 + $17}' "/proc/$$/stat"; }
# busy_ticks: CPU time the whole machine spent on anything but idle and
# iowait (first line of /proc/stat).
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# mallocs ADMIN: the Go heap allocations so far of the caddy behind ADMIN.
# (the first "Mallocs" of memstats; the later ones are by size class).
mallocs() { curl -s --max-time 5 "$1/debug/vars" | grep -o '"Mallocs": *[0-9]*' | head -n 1 | grep -o '[0-9]*$'; }

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

# to_ms VALUE: a wrk latency (850.00us, 1.23ms, 1.01s) in milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n *= 1; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
		printf "%.3f", n
	}'
}

# The fronts, in the order of odd rounds.
FRONTS=(plain header_up authgate forward_auth)
declare -A SITE PID ADMIN

free_port UP_PORT
free_port AUTH_PORT
for f in "${FRONTS[@]}"; do
	free_port port
	free_port admin
	SITE[$f]="http://127.0.0.1:$port"
	ADMIN[$f]="http://127.0.0.1:$admin"
done

# --- the backends (the same for every front)
start_caddy upstream "{
	admin off
	persist_config off
}
http://127.0.0.1:$UP_PORT {
	bind 127.0.0.1
	respond /__bench/echo \"{header.X-Authgate-User-Id}|{header.X-Authgate-Session-Id}|{header.X-Authgate-Email}|{header.Cookie}\" 200
	respond \"upstream-ok\" 200
}"
UP_PID=$LAST_PID

# global ADMIN_URL: the global options of a front (its admin endpoint
# serves /debug/vars and /debug/pprof).
global() { printf 'admin %s\n\tpersist_config off' "${1#http://}"; }

start_caddy authgate "{
	$(global "${ADMIN[authgate]}")
	authgate {
		storage file $WORK/authgate.db
		token_lifetime 1h
		email log
		sms log
	}
}
${SITE[authgate]} {
	bind 127.0.0.1
	authgate
	reverse_proxy 127.0.0.1:$UP_PORT
}"
PID[authgate]=$LAST_PID

start_caddy plain "{
	$(global "${ADMIN[plain]}")
}
${SITE[plain]} {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$UP_PORT
}"
PID[plain]=$LAST_PID

wait_http "http://127.0.0.1:$UP_PORT/" "$UP_PID"
wait_http "${SITE[plain]}/" "${PID[plain]}"
wait_http "${SITE[authgate]}/" "${PID[authgate]}"

# Alice, signed in through the JSON API like a browser would.
EMAIL=bench@example.com
PASSWORD=bench-Quartz-Lantern-91
code=$(curl -s -o "$WORK/user.json" -w '%{http_code}' --max-time 10 \
	-H 'Content-Type: application/json' \
	-d "{\"email_address\":[\"$EMAIL\"],\"password\":\"$PASSWORD\"}" \
	"${ADMIN[authgate]}/authgate/v1/users")
[[ "$code" == 200 ]] || die "creating the user: HTTP $code $(cat "$WORK/user.json")"

code=$(curl -s -o "$WORK/signin.json" -w '%{http_code}' --max-time 10 \
	-c "$WORK/cookies.txt" -H "Origin: ${SITE[authgate]}" \
	--data-urlencode strategy=password --data-urlencode "identifier=$EMAIL" --data-urlencode "password=$PASSWORD" \
	"${SITE[authgate]}/__authgate/v1/client/sign_ins")
[[ "$code" == 200 ]] || die "signing in: HTTP $code $(cat "$WORK/signin.json")"
grep -q '"status":"complete"' "$WORK/signin.json" || die "sign-in not complete: $(cat "$WORK/signin.json")"

# Netscape cookie file; curl writes HttpOnly cookies as #HttpOnly_<domain>.
cookie_value() { awk -v n="$1" -F'\t' 'NF >= 7 && $6 == n {v = $7} END {print v}' "$WORK/cookies.txt"; }
SESSION=$(cookie_value __session)
CLIENT=$(cookie_value __client)
CLIENT_UAT=$(cookie_value __client_uat)
[[ -n "$SESSION" && -n "$CLIENT" && -n "$CLIENT_UAT" ]] || die "sign-in did not set __session, __client and __client_uat"
# As a browser sends them after the sign-in (__client_uat with the token).
COOKIE="Cookie: __session=$SESSION; __client_uat=$CLIENT_UAT; __client=$CLIENT"

# What the upstream receives through authgate: alice's identity headers.
echo_via() { curl -s --max-time 5 -H 'Accept: text/html' -H "$COOKIE" "$1/__bench/echo"; }
got=$(echo_via "${SITE[authgate]}")
IFS='|' read -r USER_ID SESSION_ID EMAIL_SEEN UP_COOKIE <<<"$got"
[[ "$USER_ID" == user_* && -n "$SESSION_ID" && "$EMAIL_SEEN" == "$EMAIL" ]] ||
	die "authgate: the upstream got identity headers '$got'"
[[ "$UP_COOKIE" == "__session=$SESSION; __client_uat=$CLIENT_UAT" ]] ||
	die "authgate: the upstream got Cookie '$UP_COOKIE', want only __session and __client_uat"

# --- header_up and forward_auth send alice's values as constants.
start_caddy header_up "{
	$(global "${ADMIN[header_up]}")
}
${SITE[header_up]} {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$UP_PORT {
		header_up X-Authgate-User-Id $USER_ID
		header_up X-Authgate-Session-Id $SESSION_ID
		header_up X-Authgate-Email $EMAIL
	}
}"
PID[header_up]=$LAST_PID

start_caddy auth "{
	admin off
	persist_config off
}
http://127.0.0.1:$AUTH_PORT {
	bind 127.0.0.1
	header X-Authgate-User-Id $USER_ID
	header X-Authgate-Session-Id $SESSION_ID
	header X-Authgate-Email $EMAIL
	respond 200
}"
AUTH_PID=$LAST_PID

start_caddy forward_auth "{
	$(global "${ADMIN[forward_auth]}")
}
${SITE[forward_auth]} {
	bind 127.0.0.1
	forward_auth 127.0.0.1:$AUTH_PORT {
		uri /auth
		copy_headers X-Authgate-User-Id X-Authgate-Session-Id X-Authgate-Email
	}
	reverse_proxy 127.0.0.1:$UP_PORT
}"
PID[forward_auth]=$LAST_PID
wait_http "http://127.0.0.1:$AUTH_PORT/" "$AUTH_PID"
wait_http "${SITE[header_up]}/" "${PID[header_up]}"
wait_http "${SITE[forward_auth]}/" "${PID[forward_auth]}"

# Every front answers the upstream's 200 to the measured request, and the
# upstream gets alice's three headers through all but plain.
for f in "${FRONTS[@]}"; do
	code=$(curl -s -o "$WORK/check.txt" -w '%{http_code}' --max-time 5 -H "$COOKIE" "${SITE[$f]}/")
	[[ "$code" == 200 && "$(cat "$WORK/check.txt")" == "upstream-ok" ]] ||
		die "$f: the measured request got HTTP $code '$(cat "$WORK/check.txt")', not the upstream's 200"
	got=$(echo_via "${SITE[$f]}")
	want="$USER_ID|$SESSION_ID|$EMAIL|"
	[[ $f == plain ]] && want="|||"
	[[ "$got" == "$want"* ]] || die "$f: the upstream got identity headers '$got', want '$want...'"
done
anon=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Accept: text/html' "${SITE[authgate]}/")
[[ "$anon" == 303 ]] || die "authgate: an anonymous navigation got HTTP $anon, want 303"

# run_wrk ROUND FRONT: warm-up, then the measured run; appends a line to
# runs.tsv. Fails when any response was not 2xx/3xx.
RUNS="$OUT/runs.tsv"
printf 'round\tfront\treq_per_s\tp50_ms\tp99_ms\tfront_cpu_us\tbackend_cpu_us\tallocs_per_req\tother_load_pct\ttotal_cpu_us\n' >"$RUNS"
run_wrk() {
	local round=$1 f=$2 out="$WORK/wrk-$2-$1.txt" reqs rps p50 p99 m0 m1 f0 f1 b0 b1 c0 c1 s0 s1 t0 t1
	wrk_bg "$WORK/warmup.txt" -t2 -c32 -d"$WARMUP" -H "$COOKIE" "${SITE[$f]}/"
	m0=$(mallocs "${ADMIN[$f]}")
	t0=$(date +%s.%N)
	f0=$(cpu_ticks "${PID[$f]}") b0=$(cpu_ticks "$UP_PID" "$AUTH_PID") c0=$(child_ticks) s0=$(busy_ticks)
	wrk_bg "$out" -t2 -c32 -d"$DURATION" --latency -H "$COOKIE" "${SITE[$f]}/"
	f1=$(cpu_ticks "${PID[$f]}") b1=$(cpu_ticks "$UP_PID" "$AUTH_PID") c1=$(child_ticks) s1=$(busy_ticks)
	t1=$(date +%s.%N)
	m1=$(mallocs "${ADMIN[$f]}")
	if grep -q 'Non-2xx or 3xx' "$out"; then
		die "$f: some responses were not 2xx/3xx: $(grep 'Non-2xx' "$out")"
	fi
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	reqs=$(awk '/ requests in / {print $1}' "$out")
	[[ -n "$rps" && -n "$reqs" && "$reqs" -gt 0 ]] || die "$f: no request count in the wrk output"
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
	awk -v r="$round" -v f="$f" -v rps="$rps" -v p50="$p50" -v p99="$p99" -v n="$reqs" -v hz="$CLK_TCK" \
		-v fr=$((f1 - f0)) -v be=$((b1 - b0)) -v ch=$((c1 - c0)) -v busy=$((s1 - s0)) \
		-v m="$((m1 - m0))" -v ncpu="$NCPU" -v t0="$t0" -v t1="$t1" 'BEGIN {
		secs = t1 - t0 # the window the ticks were read over
		other = (busy - fr - be - ch) / hz / (ncpu * secs) * 100
		if (other < 0) other = 0
		printf "%d\t%s\t%.1f\t%.3f\t%.3f\t%.1f\t%.1f\t%.1f\t%.0f\t%.1f\n", r, f, rps, p50, p99, fr / hz * 1e6 / n, be / hz * 1e6 / n, m / n, other, (fr + be + ch) / hz * 1e6 / n
	}' >>"$RUNS"
	tail -n 1 "$RUNS" | awk -F'\t' '{printf "round %d %-13s %9s req/s  p50 %7s ms  p99 %7s ms  front %6s us/req  backends %6s us/req  %5s allocs/req  other load %s%%\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}'
}

[[ "$DURATION" =~ ^[1-9][0-9]*s$ ]] || die "DURATION must be whole seconds, like 8s"
echo "bench-gate: $ROUNDS rounds of ${FRONTS[*]} ($DURATION each, after a $WARMUP warm-up), $NCPU CPUs"
for ((round = 1; round <= ROUNDS; round++)); do
	if ((round % 2)); then
		order=("${FRONTS[@]}")
	else
		order=(forward_auth authgate header_up plain)
	fi
	for f in "${order[@]}"; do
		run_wrk "$round" "$f"
	done
done

# --- summary: medians over the rounds, and the medians of per-round ratios.
median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
col() { awk -F'\t' -v f="$1" -v c="$2" 'NR > 1 && $2 == f {print $c}' "$RUNS"; }
# ratio A B COL: per round, A's COL over B's; or with "-", A's minus B's.
per_round() {
	awk -F'\t' -v a="$1" -v b="$2" -v c="$3" -v op="$4" 'NR > 1 {v[$1, $2] = $c; r[$1] = 1}
		END {for (k in r) if ((k, a) in v && (k, b) in v) print (op == "-" ? v[k, a] - v[k, b] : v[k, a] / v[k, b])}' "$RUNS"
}
R_GH=$(per_round authgate header_up 3 / | median | awk '{printf "%.3f", $1}')
R_GP=$(per_round authgate plain 3 / | median | awk '{printf "%.3f", $1}')
D_CPU=$(per_round authgate header_up 6 - | median | awk '{printf "%.1f", $1}')
R_HP=$(per_round header_up plain 3 / | median | awk '{printf "%.3f", $1}')
R_FP=$(per_round forward_auth plain 3 / | median | awk '{printf "%.3f", $1}')
R_GF=$(per_round authgate forward_auth 3 / | median | awk '{printf "%.2f", $1}')
D_CPU_GP=$(per_round authgate plain 6 - | median | awk '{printf "%.1f", $1}')
D_BACK_GP=$(per_round authgate plain 7 - | median | awk '{printf "%.1f", $1}')
D_CPU_MIN=$(per_round authgate header_up 6 - | sort -g | head -n 1 | awk '{printf "%.1f", $1}')
D_CPU_MAX=$(per_round authgate header_up 6 - | sort -g | tail -n 1 | awk '{printf "%.1f", $1}')
R_GH_MIN=$(per_round authgate header_up 3 / | sort -g | head -n 1 | awk '{printf "%.3f", $1}')
R_GH_MAX=$(per_round authgate header_up 3 / | sort -g | tail -n 1 | awk '{printf "%.3f", $1}')
# Best runs: each front's highest req/s and lowest front CPU per request
# over the rounds, the runs least disturbed by other load.
best() { col "$1" "$2" | sort -g | if [[ $3 == max ]]; then tail -n 1; else head -n 1; fi; }
R_GH_BEST=$(awk -v g="$(best authgate 3 max)" -v h="$(best header_up 3 max)" 'BEGIN {printf "%.3f", g / h}')
R_GP_BEST=$(awk -v g="$(best authgate 3 max)" -v p="$(best plain 3 max)" 'BEGIN {printf "%.3f", g / p}')
D_CPU_BEST=$(awk -v g="$(best authgate 6 min)" -v h="$(best header_up 6 min)" 'BEGIN {printf "%.1f", g - h}')
# The same ratio from CPU time instead of wall time: the inverse ratio of
# the whole benchmark's CPU per request (wrk + front + backends). On a
# machine whose CPUs the benchmark saturates this is the throughput ratio
# with equal CPU for both, so other load on the machine cancels out.
R_GH_CPU=$(per_round header_up authgate 10 / | median | awk '{printf "%.3f", $1}')
R_GP_CPU=$(per_round plain authgate 10 / | median | awk '{printf "%.3f", $1}')
OTHER_MEDIAN=$(awk -F'\t' 'NR > 1 {print $9}' "$RUNS" | median)
OTHER_MAX=$(awk -F'\t' 'NR > 1 {print $9}' "$RUNS" | sort -g | tail -n 1)
# The headline numbers, for scripts (bench-report.sh sources it).
cat >"$OUT/summary.env" <<EOF
R_GH=$R_GH
R_GP=$R_GP
D_CPU=$D_CPU
D_CPU_MIN=$D_CPU_MIN
D_CPU_MAX=$D_CPU_MAX
D_CPU_GP=$D_CPU_GP
D_BACK_GP=$D_BACK_GP
R_GH_MIN=$R_GH_MIN
R_GH_MAX=$R_GH_MAX
R_GH_CPU=$R_GH_CPU
R_GP_CPU=$R_GP_CPU
R_GH_BEST=$R_GH_BEST
R_GP_BEST=$R_GP_BEST
D_CPU_BEST=$D_CPU_BEST
R_HP=$R_HP
R_FP=$R_FP
R_GF=$R_GF
OTHER_MEDIAN=$OTHER_MEDIAN
OTHER_MAX=$OTHER_MAX
EOF
SUMMARY="$OUT/summary.md"
{
	echo "| front | req/s | p50 | p99 | front CPU per request | backends' CPU per request | front allocations per request |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for f in "${FRONTS[@]}"; do
		printf '| %s | %s | %s ms | %s ms | %s µs | %s µs | %s |\n' "$f" \
			"$(col "$f" 3 | median | awk '{printf "%.0f", $1}')" \
			"$(col "$f" 4 | median | awk '{printf "%.2f", $1}')" \
			"$(col "$f" 5 | median | awk '{printf "%.2f", $1}')" \
			"$(col "$f" 6 | median | awk '{printf "%.1f", $1}')" \
			"$(col "$f" 7 | median | awk '{printf "%.1f", $1}')" \
			"$(col "$f" 8 | median | awk '{printf "%.1f", $1}')"
	done
	echo
	echo "| ratio (median of the $ROUNDS per-round ratios) | result | goal |"
	echo "|---|---:|---|"
	verdict() { awk -v x="$1" -v g="$2" -v op="$3" 'BEGIN {ok = (op == ">=" ? x >= g : x <= g); print (ok ? "met" : "**not met**")}'; }
	echo "| authgate / header_up, req/s | **$R_GH** (rounds: $R_GH_MIN … $R_GH_MAX) | ≥ 0.98: $(verdict "$R_GH" 0.98 ">=") |"
	echo "| authgate / plain, req/s | **$R_GP** | ≥ 0.95: $(verdict "$R_GP" 0.95 ">=") |"
	echo "| authgate − header_up, front CPU per request | **$D_CPU µs** (rounds: $D_CPU_MIN … $D_CPU_MAX) | ≤ 5 µs: $(verdict "$D_CPU" 5 "<=") |"
	echo "| authgate / header_up, by CPU per request of the whole run | $R_GH_CPU | (other load cancels out; see below) |"
	echo "| authgate / plain, by CPU per request of the whole run | $R_GP_CPU | |"
	echo "| authgate / header_up, best runs (highest req/s of each) | $R_GH_BEST | |"
	echo "| authgate / plain, best runs | $R_GP_BEST | |"
	echo "| authgate − header_up, lowest front CPU per request of each | $D_CPU_BEST µs | |"
	echo "| header_up / plain, req/s | $R_HP | (the identity headers alone) |"
	echo "| forward_auth / plain, req/s | $R_FP | |"
	echo "| authgate / forward_auth, req/s | $R_GF | |"
	echo
	echo "Other load on the machine during the measured runs (CPU time not spent by these caddies or wrk, in % of all $NCPU CPUs): median $OTHER_MEDIAN%, highest $OTHER_MAX%. The lines *by CPU per request of the whole run* divide the CPU time wrk, the front and the backends spent per request (header_up's or plain's by authgate's, per round): with the CPUs saturated, that is the throughput ratio the two would have with the same CPU available, whatever else the machine was doing. The *best runs* lines compare each front's least disturbed run (other load only ever slows a run down)."
} >"$SUMMARY"

# --- profiles of authgate and header_up under the same load.
PROFILE_MD="$OUT/profile.md"
: >"$PROFILE_MD"
if [[ "$PROFILE" != 0 ]]; then
	command -v go >/dev/null || die "PROFILE needs the go tool (go tool pprof); PROFILE=0 skips it"
	declare -A PREQS # requests during each front's profile window
	for f in authgate header_up plain; do
		wrk_bg "$WORK/warmup.txt" -t2 -c32 -d"$WARMUP" -H "$COOKIE" "${SITE[$f]}/"
		"$WRK" -t2 -c32 -d"$((PROFILE_SECONDS + 3))s" -H "$COOKIE" "${SITE[$f]}/" >"$WORK/wrk-profile-$f.txt" 2>&1 &
		WRK_PID=$!
		sleep 1
		# The heap profile is cumulative: one before and one after the CPU
		# profile give the allocations of the window.
		curl -s --max-time 10 -o "$OUT/$f.allocs0.pprof" "${ADMIN[$f]}/debug/pprof/allocs" || die "$f: no heap profile"
		w0=$(date +%s.%N)
		curl -s --max-time $((PROFILE_SECONDS + 10)) -o "$OUT/$f.pprof" "${ADMIN[$f]}/debug/pprof/profile?seconds=$PROFILE_SECONDS" ||
			die "$f: no CPU profile"
		curl -s --max-time 10 -o "$OUT/$f.allocs1.pprof" "${ADMIN[$f]}/debug/pprof/allocs" || die "$f: no heap profile"
		w1=$(date +%s.%N)
		wait "$WRK_PID" || die "wrk failed: $(cat "$WORK/wrk-profile-$f.txt")"
		WRK_PID=
		PREQS[$f]=$(awk -v r="$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk-profile-$f.txt")" -v a="$w0" -v b="$w1" 'BEGIN {printf "%.0f", r * (b - a)}')
	done
	# share PROFILE FOCUS [IGNORE]: the % of all samples of PROFILE that
	# are under FOCUS (and in no IGNORE frame).
	share() {
		go tool pprof -top -nodecount=100000 -nodefraction=0 -edgefraction=0 -focus="$2" ${3:+-ignore="$3"} "$CADDY" "$1" 2>/dev/null |
			awk '!done && /^Showing nodes accounting for/ {for (i = 1; i <= NF; i++) if ($i ~ /%,?$/) {gsub(/[%,]/, "", $i); print $i; done = 1; break}}'
	}
	# The gate's own work: samples under authgate's ServeHTTP that are not
	# in the handlers after it (reverse_proxy). header_up's: its header
	# operations on the proxied request.
	GATE_FOCUS='authgate/caddymodule\.\(\*Handler\)\.ServeHTTP$'
	HDR_FOCUS='caddyhttp/headers\.'
	GATE_PCT=$(share "$OUT/authgate.pprof" "$GATE_FOCUS" 'reverseproxy\.')
	HDR_PCT=$(share "$OUT/header_up.pprof" "$HDR_FOCUS")
	GATE_PCT=${GATE_PCT:-0} HDR_PCT=${HDR_PCT:-0}
	cpu_g=$(col authgate 6 | median) cpu_h=$(col header_up 6 | median)
	GATE_US=$(awk -v s="$GATE_PCT" -v c="$cpu_g" 'BEGIN {printf "%.1f", s / 100 * c}')
	HDR_US=$(awk -v s="$HDR_PCT" -v c="$cpu_h" 'BEGIN {printf "%.1f", s / 100 * c}')
	cat >"$OUT/profile.env" <<EOF
GATE_PCT=$GATE_PCT
GATE_US=$GATE_US
HDR_PCT=$HDR_PCT
HDR_US=$HDR_US
EOF
	gate_top() { go tool pprof -top -focus="$GATE_FOCUS" -ignore='reverseproxy\.' "$@" "$CADDY" "$OUT/authgate.pprof" 2>/dev/null; }
	# us_of FRONT FOCUS [IGNORE]: the CPU per request that FRONT's profile
	# puts under FOCUS, at the front's median CPU per request.
	us_of() {
		awk -v s="$(share "$OUT/$1.pprof" "$2" "${3:-}")" -v c="$(col "$1" 6 | median)" 'BEGIN {printf "%.1f", (s == "" ? 0 : s) / 100 * c}'
	}
	# Where the three fronts differ, by the Caddy and runtime functions
	# the identity headers go through.
	COST_ROWS=(
		'the authgate handler (without reverse_proxy)|authgate/caddymodule\.\(\*Handler\)\.ServeHTTP$|reverseproxy\.'
		'header_up operations (caddyhttp/headers)|caddyhttp/headers\.|'
		"reverse_proxy's request log: every request header JSON-encoded (caddyhttp.LoggableHTTPRequest.MarshalLogObject)|caddyhttp\.LoggableHTTPRequest\.MarshalLogObject|"
		'cloning the request for the upstream (net/http.Header.Clone)|net/http\.Header\.Clone$|'
		'writing the request headers upstream (net/http.Header.writeSubset)|net/http\.Header\.writeSubset$|'
		'allocation (runtime.mallocgc)|runtime\.mallocgc$|'
		'garbage collection in the background (runtime.gcBgMarkWorker)|runtime\.gcBgMarkWorker$|'
	)
	# cost_table: the rows above for each front, and authgate − plain;
	# sets HEADERS_US, the sum of that difference over the rows past the
	# gate and header_up (what the extra headers cost Caddy itself).
	cost_table() {
		local row label focus ignore p h g i=0
		HEADERS_US=0
		echo "| µs per request, from the CPU profiles | plain | header_up | authgate | authgate − plain |"
		echo "|---|---:|---:|---:|---:|"
		for row in "${COST_ROWS[@]}"; do
			IFS='|' read -r label focus ignore <<<"$row"
			p=$(us_of plain "$focus" "$ignore") h=$(us_of header_up "$focus" "$ignore") g=$(us_of authgate "$focus" "$ignore")
			echo "| $label | $p | $h | $g | $(awk -v g="$g" -v p="$p" 'BEGIN {printf "%+.1f", g - p}') |"
			if ((i >= 2)); then
				HEADERS_US=$(awk -v s="$HEADERS_US" -v g="$g" -v p="$p" 'BEGIN {printf "%.1f", s + g - p}')
			fi
			i=$((i + 1))
		done
		p=$(col plain 6 | median) h=$(col header_up 6 | median) g=$(col authgate 6 | median)
		echo "| all of the front (the median of the rounds) | $p | $h | $g | $(awk -v g="$g" -v p="$p" 'BEGIN {printf "%+.1f", g - p}') |"
		p=$(col plain 7 | median) h=$(col header_up 7 | median) g=$(col authgate 7 | median)
		echo "| the backends (upstream: parsing the headers), from /proc | $p | $h | $g | $(awk -v g="$g" -v p="$p" 'BEGIN {printf "%+.1f", g - p}') |"
	}
	# allocs FRONT [pprof options]: the allocations of the profile window
	# (sampled), as a top listing with counts per request.
	allocs() {
		local f=$1
		shift
		go tool pprof -top -sample_index=alloc_objects -diff_base="$OUT/$f.allocs0.pprof" "$@" "$CADDY" "$OUT/$f.allocs1.pprof" 2>/dev/null |
			awk -v n="${PREQS[$f]}" '
			/^Showing nodes accounting for/ {
				x = $5; sub(/,$/, "", x)
				printf "allocations in the window: %.1f per request (%s objects, %d requests)\n", x / n, x, n
				next
			}
			/flat%/ {print "  allocs/req  flat%   cum allocs/req   cum%  function"; body = 1; next}
			body && NF >= 6 {
				name = $6; for (i = 7; i <= NF; i++) name = name " " $i
				printf "%12.2f %6s %12.2f %7s  %s\n", $1 / n, $2, $4 / n, $5, name
			}'
	}
	# per_req_allocs FRONT [pprof options]: allocations per request of the
	# window that the options select.
	per_req_allocs() { allocs "$@" -nodecount=100000 -nodefraction=0 | awk '!done && /^allocations in the window/ {print $5; done = 1}'; }
	GATE_ALLOCS=$(per_req_allocs authgate -focus="$GATE_FOCUS" -ignore='reverseproxy\.')
	HDR_ALLOCS=$(per_req_allocs header_up -focus="$HDR_FOCUS")
	ALL_ALLOCS_G=$(per_req_allocs authgate)
	ALL_ALLOCS_H=$(per_req_allocs header_up)
	cat >>"$OUT/profile.env" <<EOF
GATE_ALLOCS=$GATE_ALLOCS
HDR_ALLOCS=$HDR_ALLOCS
EOF
	{
		echo "CPU profiles of the authgate, header_up and plain fronts, ${PROFILE_SECONDS} s each under the same wrk load (\`/debug/pprof/profile\`), taken after the measured rounds, and heap profiles before and after each."
		echo
		echo "The authgate handler's own work (\`caddymodule.(*Handler).ServeHTTP\` without reverse_proxy after it) is **$GATE_PCT%** of the authgate front's CPU samples, about **$GATE_US µs** per request at its median $cpu_g µs. The header_up front's header operations (\`caddyhttp/headers\`, what header_up does on the proxied request) are **$HDR_PCT%** of its samples, about **$HDR_US µs** per request at its median $cpu_h µs."
		echo
		echo "The gate by function (flat and cumulative share of all the authgate front's samples; the caddyhttp frames above it are the route and middleware wrappers):"
		echo
		echo '```'
		gate_top -nodecount=30 | sed -n '/flat%/,$p'
		echo '```'
		echo
		echo "header_up's header operations by function (share of all the header_up front's samples):"
		echo
		echo '```'
		go tool pprof -top -nodecount=15 -focus="$HDR_FOCUS" "$CADDY" "$OUT/header_up.pprof" 2>/dev/null | sed -n '/flat%/,$p'
		echo '```'
		echo
		echo "Allocations, from the heap profiles before and after the CPU profile (sampled by the Go runtime, so estimates): all of the authgate front's, $ALL_ALLOCS_G per request, and header_up's, $ALL_ALLOCS_H; the gate's own **$GATE_ALLOCS per request** and header_up's header operations' **$HDR_ALLOCS per request**. The gate's by function:"
		echo
		echo '```'
		allocs authgate -focus="$GATE_FOCUS" -ignore='reverseproxy\.' -nodecount=15
		echo '```'
		echo
		echo "header_up's header operations by function:"
		echo
		echo '```'
		allocs header_up -focus="$HDR_FOCUS" -nodecount=10
		echo '```'
		echo
		echo "Where the three fronts' CPU differs, by the functions the identity headers and the gate go through (each function with what it calls; a share of the front's profile times its median CPU per request):"
		echo
		cost_table >"$WORK/cost.md"
		cat "$WORK/cost.md"
		echo
		echo "Side by side: the authgate profile minus the plain profile, scaled to the same total (\`pprof -diff_base -normalize\`), the 20 largest differences by flat time; positive is more in authgate. Lines of a few tenths of a percent either way are within the noise of two separate ${PROFILE_SECONDS}-second profiles."
		echo
		echo '```'
		go tool pprof -top -nodecount=20 -normalize -diff_base="$OUT/plain.pprof" "$CADDY" "$OUT/authgate.pprof" 2>/dev/null | sed -n '/flat%/,$p'
		echo '```'
		echo
		echo "Side by side: the authgate profile minus the header_up profile, scaled to the same total (\`pprof -diff_base -normalize\`), the 20 largest differences by flat time; positive is more in authgate. Lines of a few tenths of a percent either way are within the noise of two separate ${PROFILE_SECONDS}-second profiles."
		echo
		echo '```'
		go tool pprof -top -nodecount=20 -normalize -diff_base="$OUT/header_up.pprof" "$CADDY" "$OUT/authgate.pprof" 2>/dev/null | sed -n '/flat%/,$p'
		echo '```'
	} >"$PROFILE_MD"
	cat >>"$OUT/profile.env" <<EOF
HEADERS_US=$HEADERS_US
EOF
fi

echo
cat "$SUMMARY"
echo
echo "bench-gate: results in $OUT"
