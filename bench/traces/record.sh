#!/usr/bin/env bash
# Re-records the real-program traces of the corpus (bench/traces/README.md)
# with `rtmem record`, from programs installed as Debian packages:
#
#   apt-get install -y --no-install-recommends openssl jq mosquitto mosquitto-clients lua5.4
#   bash bench/traces/record.sh [RTMEM]     (default: build/gcc/tools/rtmem)
#
# Network only on 127.0.0.1 (ports 14433 and 18830). Writes
# bench/traces/*.trace.xz (xz -9). The traces differ in detail from run to run
# (timing, library versions, hash seeds); the committed ones are one such run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
R=${1:-$ROOT/build/gcc/tools/rtmem}
OUT=$ROOT/bench/traces
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"

# 1. TLS 1.3 handshake + one line of data, client side (openssl s_client),
#    ECDSA P-256 self-signed certificate pinned as the only CA (no system store).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout key.pem -out cert.pem -days 30 -subj /CN=localhost 2>/dev/null
openssl s_server -accept 127.0.0.1:14433 -cert cert.pem -key key.pem -quiet >srv.log 2>&1 &
SRV=$!
sleep 1
(echo "hello rtmem"; sleep 1) | "$R" record -o tls_openssl_client.trace -- \
    openssl s_client -connect 127.0.0.1:14433 -servername localhost -CAfile cert.pem \
    -no-CApath -no-CAstore -verify_return_error -quiet >/dev/null
kill "$SRV"; wait "$SRV" 2>/dev/null || true

# 2. jq: parse 400 sensor records (38 KB), filter, group, encode to a string and parse it again.
awk 'BEGIN { printf "["; for (i = 0; i < 400; i++) { if (i) printf ",";
    printf "{\"id\":%d,\"name\":\"sensor-%03d\",\"t\":%d,\"v\":[%d.%d,%d,%d],\"ok\":%s,\"tags\":[\"a%d\",\"zone%d\"]}",
        i, i, 1700000000 + i * 60, i % 50, i % 10, (i * 7) % 100, (i * 13) % 97, (i % 3 ? "true" : "false"), i % 5, i % 4 }
    print "]" }' >sensors.json
"$R" record -o jq_json.trace -- jq -c '[.[] | select(.ok) | {id, name, avg: ((.v|add)/(.v|length)), tags: (.tags|join(","))}] | group_by(.tags) | map({tags: .[0].tags, n: length, ids: map(.id)}) | tojson | fromjson' sensors.json >/dev/null

# 3. MQTT broker (mosquitto) on 127.0.0.1:18830: one subscriber (QoS 1, sensors/#),
#    300 QoS 1 + 300 QoS 0 JSON messages from two publishers plus 30 short-lived
#    publisher connections; stopped with SIGINT (clean exit, so the recorder flushes).
cat >mq.conf <<EOF
listener 18830 127.0.0.1
allow_anonymous true
persistence false
log_dest none
EOF
"$R" record -o mqtt_mosquitto_broker.trace -- mosquitto -c mq.conf >mq.log 2>&1 &
RPID=$!
sleep 1
MPID=$(pgrep -P "$RPID")
timeout 30 mosquitto_sub -h 127.0.0.1 -p 18830 -t 'sensors/#' -q 1 -C 600 >sub.out &
SUB=$!
sleep 0.5
for i in $(seq 1 300); do echo "{\"id\":$i,\"temp\":$((200 + i % 37)),\"hum\":$((40 + i % 19))}"; done >msgs.txt
mosquitto_pub -h 127.0.0.1 -p 18830 -t sensors/room1/env -q 1 -l <msgs.txt
for i in $(seq 1 30); do
    mosquitto_pub -h 127.0.0.1 -p 18830 -t "sensors/room$((i % 4))/status" -q $((i % 2)) -m "status $i ok"
done
mosquitto_pub -h 127.0.0.1 -p 18830 -t sensors/room2/env -q 0 -l <msgs.txt
wait "$SUB"
kill -INT "$MPID"
wait "$RPID"

# 4. Lua 5.4 interpreter: a config-store / message-queue script building tables and strings.
cat >tables.lua <<'EOF'
local store, queue = {}, {}
for round = 1, 12 do
  for i = 1, 200 do
    local key = "dev/" .. (i % 37) .. "/param" .. (i % 11)
    store[key] = { value = i * round, unit = (i % 2 == 0) and "mV" or "mA", hist = {} }
    local h = store[key].hist
    for j = 1, (i % 5) + 1 do h[#h + 1] = string.format("%d:%d", round, j) end
    queue[#queue + 1] = table.concat({ "msg", round, i, key }, "|")
  end
  local parts = {}
  for k = 1, #queue, 3 do parts[#parts + 1] = queue[k]:upper():sub(1, 24) end
  local joined = table.concat(parts, ";")
  queue = {}
  if round % 4 == 0 then store = {}; collectgarbage() end
  assert(#joined > 0)
end
print("done")
EOF
"$R" record -o lua_tables.trace -- lua5.4 tables.lua >/dev/null

for t in tls_openssl_client jq_json mqtt_mosquitto_broker lua_tables; do
    xz -9 -c "$t.trace" >"$OUT/$t.trace.xz"
    echo "record.sh: $OUT/$t.trace.xz: $(grep -vc '^#' "$t.trace") events"
done
