#!/usr/bin/env bash
# Writes crates/cli/hot-functions.txt: the functions an agent and a server run as they start, join,
# serve a short workload and idle, agent's first. The release build links them first and together
# (crates/cli/build.rs), so an idle process maps a few MiB of its code instead of most of it: the
# kernel maps a binary's code 64 KB around each page touched. Run it again after large changes,
# when `api_load`'s idle RSS rises: names that no longer exist are skipped, new functions go last.
#
# Usage: scripts/order-functions.sh   (needs valgrind; builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cargo build --release -p flotilla
bin=$root/target/release/flotilla
work=$(mktemp -d)
trap 'pkill -INT -f "$work" 2>/dev/null || true; sleep 2; rm -rf "$work"' EXIT
export HOME=$work XDG_CONFIG_HOME=$work/config
password=order-functions-password
grind() { valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/$1.cg" "${@:2}"; }

# Waits until the file $1 holds the text $2, for at most two minutes.
wait_for() {
    for _ in $(seq 240); do grep -q "$2" "$1" && return; sleep 0.5; done
    echo "no '$2' in $1" >&2
    exit 1
}

grind server "$bin" server --listen 127.0.0.1:0 --data-dir "$work/data" --bootstrap-password "$password" >"$work/server.log" 2>&1 &
wait_for "$work/server.log" "listening on "
url=$(grep -o 'listening on [^ ]*' "$work/server.log" | head -1 | cut -d' ' -f3)
FLOTILLA_PASSWORD=$password "$bin" login --url "$url" --user admin --project admin >/dev/null
token=$("$bin" host join-token | grep -o 'flt_[0-9a-f]*' | head -1)
grind agent "$bin" agent --server "$url" --join-token "$token" --runtime sim --name sim-1 --listen 127.0.0.1:0 \
    --state-dir "$work/agent" --cpus 64 --memory-mib 65536 >"$work/agent.log" 2>&1 &
wait_for "$work/agent.log" "joined the region"

# A user's first minutes: containers, a profile, a cluster scaled out and in, lists, events.
for i in 1 2 3; do "$bin" container run --name "c$i" --image any/image:1 --cpu 0.01 --memory 4 >/dev/null; done
printf 'type: container.docker\nversion: "1.0"\nproperties:\n  image: any/image:1\n  cpu: 0.01\n  memory: 4\n' >"$work/profile.yaml"
"$bin" profile create --spec-file "$work/profile.yaml" web >/dev/null
"$bin" cluster create --profile web --desired-capacity 3 web >/dev/null
sleep 5
"$bin" cluster scale-out web >/dev/null
sleep 5
"$bin" cluster scale-in web >/dev/null
sleep 5
for list in "container list" "container show c1" "cluster show web" "node list" "action list" "host list" \
    "network list" "port list" "event list" "profile list" "whoami"; do
    # shellcheck disable=SC2086
    "$bin" $list >/dev/null
done
curl -fsS -o /dev/null "$url/metrics"
curl -fsS -o /dev/null "$url/readyz"
for i in 1 2 3; do "$bin" container delete --stop "c$i" >/dev/null; done
"$bin" cluster delete web >/dev/null
sleep 20

pkill -INT -f "callgrind.*agent --server $url"
wait_for "$work/agent.log" "Collected"
pkill -INT -f "callgrind.*server --listen 127.0.0.1:0 --data-dir $work/data"
wait_for "$work/server.log" "Collected"

# The binary's code symbols, and the functions each profile saw run: callgrind names a function
# once, where it first appears, as the one running (fn=) or as one called (cfn=); it marks
# recursion with 'N.
nm --defined-only "$bin" | awk '$2 ~ /^[tT]$/ {print $3}' | sort -u >"$work/symbols"
ran() { grep -o '^c\?fn=([0-9]*) .*' "$work/$1.cg" | cut -d' ' -f2- | sed "s/'[0-9]*\$//" | sort -u | comm -12 - "$work/symbols"; }
out=crates/cli/hot-functions.txt
{
    echo "# Written by scripts/order-functions.sh: the agent's functions, then the server's. Linked first (build.rs)."
    ran agent
    ran server | comm -23 - <(ran agent)
} >"$out"
echo "$out: $(grep -vc '^#' "$out") functions"
