# shellcheck shell=bash
# Shared by scripts/bench-remote.sh: a real OpenSSH sshd and a real Garage S3
# server (2.x) on free loopback ports, each with its own keys and files in a
# directory the caller gives, the way tests/e2e/servers/{sshd,garage}.rs start
# them. Both are started in the background by this shell and stopped by the
# pids it recorded (with whatever they forked), never by name:
#
#   start_sshd DIR      sets SSHD_PID SSHD_PORT SSHD_DIR SSHD_CONFIG (ssh -F file)
#                       SSHD_IDENTITY SSHD_KNOWN_HOSTS SSHD_REMOTE (sftp start dir)
#   start_garage DIR    sets GARAGE_PID GARAGE_S3_PORT GARAGE_ADMIN_PORT
#                       GARAGE_ENDPOINT GARAGE_BUCKET GARAGE_REGION
#                       GARAGE_KEY_ID GARAGE_SECRET GARAGE_DIR
#   stop_servers        stops both (safe to call twice; for an EXIT trap)
#   server_cpu_ticks sshd|garage
#                       CPU ticks the server used so far: garage's own (all its
#                       threads); for sshd the listener's plus those of every
#                       session it has reaped (children's CPU is added to the
#                       parent when it reaps them, so call sshd_wait_idle first)
#
# Needs: /usr/sbin/sshd, ssh, ssh-keygen (openssh-server, openssh-client),
# curl, and BACKUP_TEST_GARAGE or garage on PATH (scripts/lib/garage.sh's
# ensure_garage builds it once).

SSHD_PID=
GARAGE_PID=

_srv_log() { printf '[servers %s] %s\n' "$(date +%T)" "$*" >&2; }

# free_port: a port free a moment ago on 127.0.0.1 (callers retry on a bind
# failure, as the tests do).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null && return 0
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return 0; }
    done
}

# _descendants PID: every descendant of PID, from ps's parent links.
_descendants() {
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { kids[$2] = kids[$2] " " $1 }
        END {
            n = split(kids[root], q, " ")
            for (i = 1; i <= n; i++) {
                print q[i]
                m = split(kids[q[i]], more, " ")
                for (j = 1; j <= m; j++) q[++n] = more[j]
            }
        }'
}

# _stop PID COMM: if PID is still our COMM process, SIGKILL its descendants
# (sshd sessions), SIGTERM it, wait up to 10 s, then SIGKILL.
_stop() {
    local pid=$1 comm=$2 kid i
    [[ -n $pid ]] || return 0
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) != "$comm" ]]; then
        wait "$pid" 2>/dev/null || true
        return 0
    fi
    for kid in $(_descendants "$pid"); do kill -KILL "$kid" 2>/dev/null || true; done
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || break
        # A zombie child of ours still has its comm: reap it.
        [[ $(awk '{sub(/^.*\) /, ""); print $1}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
        sleep 0.1
    done
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] &&
        [[ $(awk '{sub(/^.*\) /, ""); print $1}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

stop_servers() {
    if [[ -n $SSHD_PID ]]; then
        _srv_log "stopping sshd (pid $SSHD_PID)"
        _stop "$SSHD_PID" sshd
        SSHD_PID=
    fi
    if [[ -n $GARAGE_PID ]]; then
        _srv_log "stopping garage (pid $GARAGE_PID)"
        _stop "$GARAGE_PID" garage
        GARAGE_PID=
    fi
}

# --- sshd ----------------------------------------------------------------------

start_sshd() {
    SSHD_DIR=$1
    local d=$SSHD_DIR attempt i
    [[ -x /usr/sbin/sshd ]] || { _srv_log "/usr/sbin/sshd is missing: install openssh-server"; return 1; }
    mkdir -p /run/sshd "$d/remote"
    ssh-keygen -q -t ed25519 -N '' -C 'bench sshd host key' -f "$d/host_key"
    ssh-keygen -q -t ed25519 -N '' -C 'bench client key' -f "$d/id_ed25519"
    cp "$d/id_ed25519.pub" "$d/authorized_keys"
    SSHD_IDENTITY=$d/id_ed25519
    SSHD_KNOWN_HOSTS=$d/known_hosts
    SSHD_CONFIG=$d/ssh_config
    SSHD_REMOTE=$d/remote
    for attempt in 1 2 3 4 5; do
        SSHD_PORT=$(free_port)
        cat >"$d/sshd_config" <<EOF
# Written by scripts/lib/bench-servers.sh
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile none
AuthorizedKeysFile $d/authorized_keys
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
X11Forwarding no
PrintMotd no
# Benchmark connections come in quick succession.
MaxStartups 100
Subsystem sftp internal-sftp -d $SSHD_REMOTE
EOF
        echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1-2 "$d/host_key.pub")" >"$SSHD_KNOWN_HOSTS"
        cat >"$SSHD_CONFIG" <<EOF
# Written by scripts/lib/bench-servers.sh
Host 127.0.0.1
  Port $SSHD_PORT
  User root
  IdentityFile $SSHD_IDENTITY
  IdentitiesOnly yes
  UserKnownHostsFile $SSHD_KNOWN_HOSTS
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  UpdateHostKeys no
  BatchMode yes
  ConnectTimeout 10
EOF
        local start
        start=0; [[ -f $d/sshd.log ]] && start=$(wc -c <"$d/sshd.log")
        /usr/sbin/sshd -D -e -f "$d/sshd_config" </dev/null >>"$d/sshd.log" 2>&1 &
        SSHD_PID=$!
        for i in $(seq 200); do
            if tail -c +$((start + 1)) "$d/sshd.log" | grep -qF "Server listening on 127.0.0.1 port $SSHD_PORT."; then
                break
            fi
            [[ -d /proc/$SSHD_PID ]] && [[ $(awk '{sub(/^.*\) /, ""); print $1}' "/proc/$SSHD_PID/stat") != Z ]] || break
            sleep 0.1
        done
        if tail -c +$((start + 1)) "$d/sshd.log" | grep -qF "Server listening on 127.0.0.1 port $SSHD_PORT."; then
            break
        fi
        _stop "$SSHD_PID" sshd
        SSHD_PID=
        if ((attempt < 5)) && tail -c +$((start + 1)) "$d/sshd.log" | grep -qE 'Address already in use|Cannot bind any address'; then
            continue
        fi
        _srv_log "sshd did not start:"; tail -20 "$d/sshd.log" >&2
        return 1
    done
    if ! ssh -F "$SSHD_CONFIG" 127.0.0.1 true </dev/null >&2; then
        _srv_log "ssh -F $SSHD_CONFIG 127.0.0.1 true failed:"; tail -20 "$d/sshd.log" >&2
        return 1
    fi
    _srv_log "sshd (pid $SSHD_PID) on 127.0.0.1:$SSHD_PORT, sftp sessions start in $SSHD_REMOTE"
}

# sshd_wait_idle: until the listener has no session left (up to 10 s), so
# that the sessions' CPU has been added to its children's time.
sshd_wait_idle() {
    local i
    [[ -n $SSHD_PID ]] || return 0
    for i in $(seq 100); do
        [[ -z $(_descendants "$SSHD_PID") ]] && return 0
        sleep 0.1
    done
    _srv_log "WARNING: sshd still has sessions after 10 s"
}

# --- garage --------------------------------------------------------------------

_garage() { "$GARAGE_BIN" -c "$GARAGE_DIR/garage.toml" "$@"; }

# _http_status PORT PATH: the status code, or 000 if nothing answers.
_http_status() { curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1$2" 2>/dev/null || true; }

start_garage() {
    GARAGE_DIR=$1
    GARAGE_BIN=${BACKUP_TEST_GARAGE:-$(command -v garage || true)}
    [[ -n $GARAGE_BIN && -x $GARAGE_BIN ]] || { _srv_log "no garage binary (BACKUP_TEST_GARAGE; scripts/lib/garage.sh)"; return 1; }
    GARAGE_REGION=garage
    GARAGE_BUCKET=bench
    local d=$GARAGE_DIR attempt i rpc code start
    mkdir -p "$d"
    for attempt in 1 2 3 4 5; do
        GARAGE_S3_PORT=$(free_port)
        rpc=$(free_port)
        GARAGE_ADMIN_PORT=$(free_port)
        cat >"$d/garage.toml" <<EOF
# Written by scripts/lib/bench-servers.sh (as tests/e2e/servers/garage.rs)
metadata_dir = "$d/meta"
data_dir = "$d/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"

[s3_api]
s3_region = "$GARAGE_REGION"
api_bind_addr = "127.0.0.1:$GARAGE_S3_PORT"

[admin]
api_bind_addr = "127.0.0.1:$GARAGE_ADMIN_PORT"
admin_token = "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
EOF
        start=0; [[ -f $d/garage.log ]] && start=$(wc -c <"$d/garage.log")
        RUST_LOG=${RUST_LOG:-garage=info} NO_COLOR=1 "$GARAGE_BIN" -c "$d/garage.toml" server </dev/null >>"$d/garage.log" 2>&1 &
        GARAGE_PID=$!
        for i in $(seq 600); do
            code=$(_http_status "$GARAGE_ADMIN_PORT" /health)
            if [[ $code != 000 ]] && (exec 3<>"/dev/tcp/127.0.0.1/$GARAGE_S3_PORT") 2>/dev/null; then
                break
            fi
            [[ -d /proc/$GARAGE_PID ]] && [[ $(awk '{sub(/^.*\) /, ""); print $1}' "/proc/$GARAGE_PID/stat") != Z ]] || break
            sleep 0.1
        done
        if [[ $(_http_status "$GARAGE_ADMIN_PORT" /health) != 000 ]]; then
            break
        fi
        _stop "$GARAGE_PID" garage
        GARAGE_PID=
        if ((attempt < 5)) && tail -c +$((start + 1)) "$d/garage.log" | grep -q 'Address already in use'; then
            continue
        fi
        _srv_log "garage did not start:"; tail -20 "$d/garage.log" >&2
        return 1
    done
    local id out
    id=$(_garage node id -q | cut -d@ -f1 | tr -d '[:space:]')
    [[ $id =~ ^[0-9a-f]{64}$ ]] || { _srv_log "garage node id -q printed '$id'"; return 1; }
    _garage layout assign -z dc1 -c 100G "$id" >/dev/null
    _garage layout apply --version 1 >/dev/null
    for ((i = 0; i < 600; i++)); do
        [[ $(_http_status "$GARAGE_ADMIN_PORT" /health) == 200 ]] && break
        sleep 0.1
    done
    [[ $(_http_status "$GARAGE_ADMIN_PORT" /health) == 200 ]] || { _srv_log "garage not healthy after layout apply"; tail -20 "$d/garage.log" >&2; return 1; }
    _garage bucket create "$GARAGE_BUCKET" >/dev/null
    out=$(_garage key create bench-key)
    GARAGE_KEY_ID=$(awk -F': *' '/^ *Key ID:/ {print $2; exit}' <<<"$out" | tr -d '[:space:]')
    GARAGE_SECRET=$(awk -F': *' '/^ *Secret key:/ {print $2; exit}' <<<"$out" | tr -d '[:space:]')
    [[ -n $GARAGE_KEY_ID && -n $GARAGE_SECRET ]] || { _srv_log "no key in garage key create's output:"; echo "$out" >&2; return 1; }
    _garage bucket allow --read --write --owner "$GARAGE_BUCKET" --key "$GARAGE_KEY_ID" >/dev/null
    GARAGE_ENDPOINT=http://127.0.0.1:$GARAGE_S3_PORT
    _srv_log "garage (pid $GARAGE_PID) S3 on $GARAGE_ENDPOINT, bucket $GARAGE_BUCKET, key $GARAGE_KEY_ID"
}

# --- accounting ------------------------------------------------------------------

server_cpu_ticks() {
    local pid
    case $1 in
        sshd) pid=$SSHD_PID ;;
        garage) pid=$GARAGE_PID ;;
        *) echo 0; return ;;
    esac
    [[ -n $pid && -r /proc/$pid/stat ]] || { echo 0; return; }
    # utime stime cutime cstime (fields 14-17)
    awk '{sub(/^.*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$pid/stat"
}
