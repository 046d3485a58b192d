#!/usr/bin/env bash
# bench-report.sh: runs every benchmark once and writes BENCHMARKS.md.
#
# Usage: scripts/bench-report.sh <caddy binary> [output file, default BENCHMARKS.md]
#
# 1. The Go micro-benchmarks (-benchtime $BENCHTIME, default 1s): the
#    gate's decision and its token refresh from __client on two instances
#    over bbolt, redis-server and a 3-master Redis Cluster (handlers),
#    token verify cached and uncached and mint (token), argon2id hashing
#    through the default pool and one verify (password), a sign-in by
#    email code, send and verify, on bbolt and redis-server (signin), store
#    Get/Incr on bbolt and on a real redis-server (store/bolt,
#    store/redis), the store guard's own cost (store/guard), and the
#    breach index over a generated 10-million-hash file (password/breach).
# 2. scripts/bench-gate.sh: plain reverse_proxy, reverse_proxy +
#    header_up of the identity headers, authgate, forward_auth, under
#    wrk, ROUNDS alternating rounds, medians, ratios and a CPU profile.
# Then it writes the output file from both, with the machine's core count
# and model, the date, the commit, and how loaded the machine was.
# Run from the repository root (make -f xcaddy.mk bench does). Environment:
# BENCHTIME, and ROUNDS, DURATION, WARMUP, PROFILE, PROFILE_SECONDS of
# bench-gate.sh, BENCH_COMMIT (see below). About 7
# minutes with the defaults; a failing benchmark fails the run and the
# output file is left as it was.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
	echo "usage: $0 <caddy binary> [output file]" >&2
	exit 2
fi
CADDY=$1
DEST=${2:-BENCHMARKS.md}
BENCHTIME=${BENCHTIME:-1s}
[[ -f go.mod && -x scripts/bench-gate.sh ]] || { echo "bench-report: run it from the repository root" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-report.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

START=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
T0=$(date +%s)

echo "bench-report: Go micro-benchmarks (-benchtime $BENCHTIME)"
gobench() {
	go test -run '^$' -bench "$1" -benchmem -benchtime "$BENCHTIME" "${@:2}" 2>&1 | tee -a "$WORK/go.txt" |
		grep -E '^(Benchmark|ok|FAIL|---|panic)' || true
	if grep -qE '^(FAIL|--- FAIL|panic)' "$WORK/go.txt"; then
		echo "bench-report: a Go benchmark failed" >&2
		exit 1
	fi
}
gobench . ./handlers/ ./token/ ./password/ ./store/bolt/ ./store/redis/ ./store/guard/
gobench BenchmarkCodeSendVerify ./signin/
gobench BenchmarkIndexContains ./password/breach/

echo "bench-report: the gate under wrk"
scripts/bench-gate.sh "$CADDY" "$WORK/gate"

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
ELAPSED=$(($(date +%s) - T0))

# go_table: the Go benchmark lines as a markdown table; ns/op shown in a
# readable unit, extra metrics (hashes/s, fpr, ...) in the last column,
# a part of the time per op (send-ns/op, ...) as "send 1.7 ms".
go_table() {
	echo "| package | benchmark | time/op | B/op | allocs/op | other |"
	echo "|---|---|---:|---:|---:|---|"
	awk '
	function dur(v) {
		if (v >= 1e9) return sprintf("%.2f s", v / 1e9)
		if (v >= 1e6) return sprintf("%.1f ms", v / 1e6)
		if (v >= 1e4) return sprintf("%.1f µs", v / 1e3)
		if (v >= 1e3) return sprintf("%.2f µs", v / 1e3)
		return sprintf("%.0f ns", v)
	}
	/^pkg: / {pkg = $2; sub(/^github.com\/authgate\/authgate\//, "", pkg)}
	/^Benchmark/ && / ns\/op/ {
		name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
		t = ""; bop = ""; aop = ""; extra = ""
		for (i = 3; i < NF; i += 2) {
			v = $i; u = $(i + 1)
			if (u == "ns/op") t = dur(v)
			else if (u ~ /^[a-z]+-ns\/op$/) {
				sub(/-ns\/op$/, "", u)
				extra = extra (extra == "" ? "" : ", ") u " " dur(v)
			} else if (u == "B/op") bop = v
			else if (u == "allocs/op") aop = v
			else extra = extra (extra == "" ? "" : ", ") v " " u
		}
		printf "| %s | %s | %s | %s | %s | %s |\n", pkg, name, t, bop, aop, extra
	}' "$WORK/go.txt"
}

# runs_table: runs.tsv as a markdown table.
runs_table() {
	awk -F'\t' 'NR == 1 {
		print "| round | front | req/s | p50 ms | p99 ms | front CPU µs/req | backends CPU µs/req | all CPU µs/req (wrk too) | front allocs/req | other load % |"
		print "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
		next
	}
	{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $10, $8, $9}' "$WORK/gate/runs.tsv"
}

# The headline numbers (R_GH, R_GP, D_CPU, ...; GATE_US, HDR_US, ...).
# shellcheck disable=SC1091
. "$WORK/gate/summary.env"
GATE_PCT= GATE_US= HDR_PCT= HDR_US= HEADERS_US=
if [[ -f "$WORK/gate/profile.env" ]]; then
	# shellcheck disable=SC1091
	. "$WORK/gate/profile.env"
fi
met() { awk -v x="$1" -v g="$2" -v op="$3" 'BEGIN {exit !(op == ">=" ? x >= g : x <= g)}'; }

CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
# BENCH_COMMIT names the commit when the run is not in a git checkout
# (an export of one, say).
COMMIT=${BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo "unknown")}
if [[ -z "${BENCH_COMMIT:-}" && -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
	COMMIT="$COMMIT plus uncommitted changes"
fi

{
	echo "# Benchmarks"
	echo
	echo "Written by \`make -f xcaddy.mk bench\` (\`scripts/bench-report.sh\`) from one run; do not edit by hand."
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| date | $START |"
	echo "| machine | $(getconf _NPROCESSORS_ONLN) CPUs${CPU_MODEL:+ ($CPU_MODEL)}, $(uname -sr) |"
	echo "| software | $(go env GOVERSION), $("$CADDY" version 2>/dev/null | awk '{print $1}'), wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}') |"
	echo "| commit | $COMMIT |"
	echo "| load average | before $LOAD_BEFORE, after $LOAD_AFTER |"
	echo "| run time | $((ELAPSED / 60)) min $((ELAPSED % 60)) s |"
	echo
	echo "## The gate under load"
	echo
	echo "wrk (\`-t2 -c32\`, one run per front and round after a warm-up) on loopback against four caddy fronts, each its own process, with the same upstream (a caddy answering \`respond \"upstream-ok\"\`):"
	echo
	echo "- **plain**: \`reverse_proxy\`;"
	echo "- **header_up**: \`reverse_proxy\` + \`header_up\` of X-Authgate-User-Id, X-Authgate-Session-Id and X-Authgate-Email with constant values (the signed-in user's, so the same bytes): the same request and the same identity headers as authgate, without the gate;"
	echo "- **authgate**: \`authgate\` + \`reverse_proxy\`, signed in (cached session token);"
	echo "- **forward_auth**: \`forward_auth\` to an auth endpoint that costs nothing (a caddy answering 200 with the three headers, copied with \`copy_headers\`) + \`reverse_proxy\`: the Authelia / oauth2-proxy / Authentik pattern."
	echo
	echo "Every front is sent the same \`Cookie: __session=…; __client_uat=…; __client=…\` header. wrk, the fronts and the backends share the machine's CPUs. CPU per request is user+sys of the process from \`/proc/<pid>/stat\` over the run divided by the requests; allocations per request are the front's \`Mallocs\` (\`/debug/vars\`) over the run; *other load* is CPU time the machine spent on anything else (other processes, steal) during the run. Medians of the rounds; each ratio is the median of the per-round ratios (the fronts of a round ran next to each other, odd rounds in the order above, even rounds in reverse)."
	echo
	cat "$WORK/gate/summary.md"
	echo
	echo "### Verdict"
	echo
	if met "$R_GH" 0.98 ">=" && met "$R_GP" 0.95 ">=" && met "$D_CPU" 5 "<="; then
		echo "The goals are met in this run: authgate runs at **$R_GH** of plain + header_up (goal ≥ 0.98) and at **$R_GP** of plain (goal ≥ 0.95), and its front spends **$D_CPU µs** more CPU per request than header_up's (goal ≤ 5 µs)."
	else
		echo "Not every goal is met in this run: authgate / header_up **$R_GH** (goal ≥ 0.98), authgate / plain **$R_GP** (goal ≥ 0.95), front CPU per request authgate − header_up **$D_CPU µs** (goal ≤ 5 µs)."
	fi
	echo
	echo "By CPU per request of the whole run (wrk, front and backends), which other load on the machine does not skew, authgate runs at **$R_GH_CPU** of header_up and **$R_GP_CPU** of plain ($(met "$R_GH_CPU" 0.98 ">=" && echo "≥ 0.98" || echo "below 0.98") and $(met "$R_GP_CPU" 0.95 ">=" && echo "≥ 0.95" || echo "below 0.95")). Throughput on this shared machine moves with the other load (see its column in every run), so read the req/s ratios together with these."
	if [[ -n "$GATE_US" ]]; then
		echo
		echo "Where the difference comes from, from the CPU profiles below: the gate's own work (everything in the authgate handler but reverse_proxy after it: cookie scan, identity cache lookup, stripping X-Authgate-* and \`__client\`, setting the identity headers and placeholders) is about **$GATE_US µs** per request ($GATE_PCT% of the authgate front's samples); header_up's header operations, which the authgate front does not run, are about **$HDR_US µs** per request ($HDR_PCT% of the header_up front's). So the profiles put the gate's net cost at about $(awk -v g="$GATE_US" -v h="$HDR_US" 'BEGIN {printf "%.1f", g - h}') µs per request, against the measured median difference of $D_CPU µs (per round: $D_CPU_MIN … $D_CPU_MAX µs). $(awk -v g="$GATE_US" -v h="$HDR_US" -v lo="$D_CPU_MIN" -v hi="$D_CPU_MAX" 'BEGIN {
			e = g - h
			if (e >= lo && e <= hi) print "That estimate lies within the per-round range: the rest of the measured difference is the spread between runs on this shared machine, not a cost found in any function the gate calls."
			else print "That estimate lies outside the per-round range: the rest of the measured difference is not in the functions the gate calls; the side-by-side profile diff below shows where the two fronts differ."
		}') "
		echo
		echo "Against plain (authgate / plain **$R_GP**), the gate's $GATE_US µs are $(awk -v g="$GATE_US" -v h="${HEADERS_US:-0}" 'BEGIN {print (g < h ? "the smaller part" : "not the smaller part")}'); the other part is the three identity headers themselves, which plain does not send. In the Caddy and runtime functions they go through on the front (reverse_proxy's request log, which JSON-encodes every request header of every proxied request; the request clone; writing the headers upstream; allocation and GC) the profiles put authgate − plain at about **${HEADERS_US:-?} µs** per request (the table in *Where the authgate front's CPU goes*), against a measured median front CPU difference of $D_CPU_GP µs; the upstream's CPU per request differs by $D_BACK_GP µs (authgate − plain, median of the rounds: three more headers to parse, but a Cookie header without \`__client\`). header_up pays the same (header_up / plain $R_HP). A site whose upstream needs fewer headers sends fewer with \`identity_headers\`: each one left out saves its share of those functions."
	fi
	echo
	echo "### Every run"
	echo
	runs_table
	echo
	echo "### Where the authgate front's CPU goes"
	echo
	cat "$WORK/gate/profile.md"
	echo
	echo "## Go micro-benchmarks"
	echo
	echo "\`go test -bench -benchmem -benchtime $BENCHTIME\`, single process, on the same machine right before the wrk runs."
	echo
	echo "- **handlers GateActiveSession**: the gate's decision for a signed-in request with a cached token: strip X-Authgate-*, read the cookies, the identity from the cache, set the three identity headers, drop \`__client\` from the Cookie header; *NoHeaders*: the same with \`identity_headers\` empty. One instance, no store: a cached token never touches the store, so two instances or a Redis Cluster behind them change nothing on this path (they are measured where the store is read, in GateRefresh)."
	echo "- **handlers GateRefresh**: the token refresh rate: a request with only the \`__client\` cookie (an expired \`__session\`), so the gate reads the client, its session and the user from the store and mints a new session token (RS256, the default: the signature is most of the time: compare token Mint/RS256) every time; two authgate instances (services and handlers of their own; on Redis each its own client) over one store take the requests in turn, on *bolt*, on one redis-server (*redis*) and on a real 3-master Redis Cluster (*cluster*); refreshes/s for one caller, one request at a time."
	echo "- **signin CodeSendVerify**: a sign-in by email code as clerk-js runs it, enumeration protection on (the default): create the attempt, prepare email_code (draw the code, store its MAC, hand the notice to the background delivery pool; the send ends when an in-memory deliverer has it), then attempt_first_factor with that code, which makes the session; on bbolt and on a real redis-server, a new user and client for each sign-in; *send* and *verify* are the two parts of the time per sign-in."
	echo "- **token VerifyCached / VerifyUncached / Mint**: a session token checked from the verify cache, fully (parse + signature), and issued, per algorithm."
	echo "- **password HashPool**: argon2id (m = 19 MiB, t = 2, p = 1) through the default pool (one worker per CPU, 64 waiting) from 4 callers per CPU: time per hash of the pool, hashes/s and the pool's memory ceiling (workers × m); *Verify*: one verification alone."
	echo "- **store/bolt, store/redis Get / Incr**: the store interface on bbolt and on a real local redis-server (Get from all CPUs, Incr serial); **store/guard**: the deadline and breaker wrapper over a store that answers at once, and the same store unguarded."
	echo "- **password/breach IndexContains**: one lookup in the breach index built from 10 million hashes (build time, bytes per hash and the measured false-positive rate beside it)."
	echo
	go_table
} >"$WORK/BENCHMARKS.md"
mv "$WORK/BENCHMARKS.md" "$DEST"
echo "bench-report: wrote $DEST in $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
