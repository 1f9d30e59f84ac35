#!/usr/bin/env bash
# The real test environment: Redis, FerretDB (MongoDB wire protocol on PostgreSQL) and Prometheus + promtool,
# all on 127.0.0.1, state under <repo>/.testenv/.
#
#   scripts/testenv.sh up      install what is missing, start what is not running (idempotent; seconds when warm)
#   scripts/testenv.sh down    stop what `up` started and remove the data dirs (keeps the FerretDB build cache)
#   scripts/testenv.sh status  print each server and whether it answers (exit 1 if one does not)
#   scripts/testenv.sh env     print the KEY=value lines of .testenv/env
#
# Usage from a shell: `eval "$(scripts/testenv.sh env)"` or `set -a; . .testenv/env; set +a`.
#
# Environment:
#   TESTENV_REDIS_PORT (16379)  TESTENV_MONGO_PORT (27027)  TESTENV_PROMETHEUS_PORT (19090)
#   TESTENV_POSTGRES_PORT (15432)
#   TESTENV_FERRETDB_BACKEND (postgresql): or sqlite, FerretDB's other backend (BENCHMARKS.md compares them)
#   MESHMART_CACHE ($HOME/.cache/meshmart): FerretDB is built once into $MESHMART_CACHE/bin/ferretdb-<version>.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.testenv"
RUN="$STATE/run"
LOGS="$STATE/log"
ENV_FILE="$STATE/env"
CACHE="${MESHMART_CACHE:-${HOME}/.cache/meshmart}"

HOST=127.0.0.1
REDIS_PORT="${TESTENV_REDIS_PORT:-16379}"
MONGO_PORT="${TESTENV_MONGO_PORT:-27027}"
PROM_PORT="${TESTENV_PROMETHEUS_PORT:-19090}"
PG_PORT="${TESTENV_POSTGRES_PORT:-15432}"
FERRETDB_BACKEND="${TESTENV_FERRETDB_BACKEND:-postgresql}"
case $FERRETDB_BACKEND in postgresql | sqlite) ;; *) printf 'testenv: error: TESTENV_FERRETDB_BACKEND must be postgresql or sqlite\n' >&2 && exit 2 ;; esac

FERRETDB_MODULE=github.com/FerretDB/FerretDB
FERRETDB_VERSION=v1.24.2
FERRETDB_BIN="$CACHE/bin/ferretdb-$FERRETDB_VERSION-document-locks-id-index-read-first-in100-single-untracked"

PROM_DIR="$STATE/prometheus"
PROM_CONFIG="$PROM_DIR/prometheus.yml"
PROM_TARGETS="$PROM_DIR/targets"

PG_DIR="$STATE/postgres"
PG_URL="postgres://postgres@$HOST:$PG_PORT/ferretdb"

REDIS_URL="redis://$HOST:$REDIS_PORT"
MONGO_URL="mongodb://$HOST:$MONGO_PORT/"
PROM_URL="http://$HOST:$PROM_PORT"

log() { printf 'testenv: %s\n' "$*" >&2; }
die() {
  printf 'testenv: error: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------------------------------
# processes: alive, pid_of, stop, spawn, listening, wait_for

# shellcheck source=scripts/testenv-lib.sh
. "$ROOT/scripts/testenv-lib.sh"

# ---------------------------------------------------------------------------------------------------------------------
# health checks

redis_ok() {
  local reply
  # shellcheck disable=SC2016 # expanded by the inner shell
  reply=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "PING\r\n" >&3 && IFS= read -r line <&3 && printf %s "$line"' \
    "$HOST" "$REDIS_PORT" 2>/dev/null) || return 1
  [[ $reply == +PONG* ]]
}

mongo_ok() {
  listening "$MONGO_PORT" || return 1
  # `ferretdb ping` is no use here: in v1.24 it requires --setup-database, which requires the new authentication.
  # So ping with the project's own MongoDB driver.
  [ -d "$ROOT/node_modules/mongodb" ] || die "$ROOT/node_modules/mongodb is missing: run \`npm ci\` first"
  (cd "$ROOT" && timeout 10 node -e '
    const { MongoClient } = require("mongodb");
    const client = new MongoClient(process.argv[1], { serverSelectionTimeoutMS: 3000 });
    client.db("admin").command({ ping: 1 }).then(() => client.close(), () => process.exit(1));
  ' "$MONGO_URL" >/dev/null 2>&1)
}

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_ctl" ] && printf '%s\n' "$dir" && return 0
  done
  return 1
}

pg_ok() {
  [ "$FERRETDB_BACKEND" = postgresql ] || return 0
  local bin
  bin=$(pg_bin) || return 1
  "$bin/pg_isready" -q -h "$HOST" -p "$PG_PORT" -d ferretdb -U postgres 2>/dev/null
}

prom_ok() {
  curl -fsS -m 2 -o /dev/null "$PROM_URL/-/ready" 2>/dev/null
}

# The Prometheus on the port is ours: its loaded configuration reads our targets directory.
prom_is_ours() {
  curl -fsS -m 2 "$PROM_URL/api/v1/status/config" 2>/dev/null | grep -qF -- "$PROM_TARGETS/"
}

# ---------------------------------------------------------------------------------------------------------------------
# installation

APT_UPDATED=0
apt_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root or sudo to install: $*"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null || die "apt-get not found: install $* yourself (Debian/Ubuntu packages)"
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    APT_UPDATED=1
  fi
  log "apt-get install -y $*"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v curl >/dev/null || missing+=(curl) # the plug-ins' health checks
  if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then missing+=(prometheus); fi
  if [ "$FERRETDB_BACKEND" = postgresql ] && ! pg_bin >/dev/null; then missing+=(postgresql); fi
  if ((${#missing[@]} > 0)); then apt_install "${missing[@]}"; fi
  command -v redis-server >/dev/null || die "redis-server still not on PATH after installing redis-server"
  command -v prometheus >/dev/null || die "prometheus still not on PATH after installing prometheus"
  command -v promtool >/dev/null || die "promtool still not on PATH after installing prometheus"
  command -v chromium >/dev/null || die "chromium still not on PATH after installing chromium"
}

# ---------------------------------------------------------------------------------------------------------------------
# plug-ins: every executable scripts/testenv.d/*.sh adds one server. Each is called as `<plugin> up|down|status` with
# TESTENV_STATE, TESTENV_CACHE, TESTENV_HOST and TESTENV_FERRETDB_BIN (the test FerretDB) exported; `up` builds/starts
# (idempotent) and prints the KEY=value lines it adds to .testenv/env on stdout (logs on stderr); `down` stops it;
# `status` prints one line like the built-in ones and exits 1 when it does not answer.
PLUGINS_DIR="$ROOT/scripts/testenv.d"
plugins() {
  local f
  for f in "$PLUGINS_DIR"/*.sh; do
    [ -x "$f" ] && printf '%s\n' "$f"
  done
  return 0
}
run_plugins() {
  local action=$1 f rc=0
  export TESTENV_STATE="$STATE" TESTENV_CACHE="$CACHE" TESTENV_HOST="$HOST" TESTENV_FERRETDB_BIN="$FERRETDB_BIN"
  while IFS= read -r f; do
    [ -n "$f" ] || continue
    # stdin is the list itself: a plug-in that reads stdin (kube-node's image imports did) would swallow the rest.
    "$f" "$action" </dev/null || rc=1
  done < <(plugins)
  return "$rc"
}

# Build FerretDB from its module source. `go install ...@version` builds a binary that panics at start
# ("Invalid build/version/version.txt file content"): build/version/version.txt is generated from git in the FerretDB
# repository and is not part of the module, so it is written here before building.
# FerretDB 1.24 runs update, findAndModify and delete as read-then-write without a transaction, so two concurrent
# updates of one document can lose one of them, and a conditional update can match twice (seen: 16 of 20 racing
# conditional updates matched). MongoDB and DocumentDB make every single-document write atomic, and the services rely
# on it (stock never negative, outbox next to state). So each write command takes a lock before it runs: a write to
# one document (its filter names a string or ObjectID _id) takes that document's lock under a shared lock of its
# collection, and writes to different documents go on side by side; any other write takes its collection's lock alone.
# An insert needs no lock of its own (the unique indexes decide) and shares the collection's.
serialize_writes() {
  local dir=$1 f
  cat >"$dir/meshmart_lock.go" <<'GO'
package handler

import (
	"fmt"
	"sync"

	"github.com/FerretDB/wire"

	"github.com/FerretDB/FerretDB/internal/types"
)

var (
	meshmartCollections sync.Map // "db.collection" -> *sync.RWMutex
	meshmartDocsMu      sync.Mutex
	meshmartDocs        = map[string]*meshmartDocLock{}
)

type meshmartDocLock struct {
	mu   sync.Mutex
	refs int
}

// meshmartLock makes the command's write atomic, as MongoDB makes every single-document write.
func meshmartLock(msg *wire.OpMsg) func() {
	doc, err := opMsgDocument(msg)
	if err != nil {
		return func() {}
	}
	command := doc.Command()
	db, _ := doc.Get("$db")
	coll, _ := doc.Get(command)
	key := fmt.Sprintf("%v.%v", db, coll)
	c, _ := meshmartCollections.LoadOrStore(key, &sync.RWMutex{})
	collection := c.(*sync.RWMutex)
	if command == "insert" {
		collection.RLock()
		return collection.RUnlock
	}
	id, ok := meshmartTarget(doc, command)
	if !ok {
		collection.Lock()
		return collection.Unlock
	}
	collection.RLock()
	docKey := key + "\x00" + id
	meshmartDocsMu.Lock()
	l := meshmartDocs[docKey]
	if l == nil {
		l = &meshmartDocLock{}
		meshmartDocs[docKey] = l
	}
	l.refs++
	meshmartDocsMu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		meshmartDocsMu.Lock()
		if l.refs--; l.refs == 0 {
			delete(meshmartDocs, docKey)
		}
		meshmartDocsMu.Unlock()
		collection.RUnlock()
	}
}

// meshmartTarget is the _id the command's one filter names, if it writes one document chosen by _id.
func meshmartTarget(doc *types.Document, command string) (string, bool) {
	var filter any
	switch command {
	case "findAndModify", "findandmodify":
		filter, _ = doc.Get("query")
	case "update", "delete":
		field, q := "updates", "q"
		if command == "delete" {
			field = "deletes"
		}
		list, _ := doc.Get(field)
		ops, ok := list.(*types.Array)
		if !ok || ops.Len() != 1 {
			return "", false
		}
		first, _ := ops.Get(0)
		op, ok := first.(*types.Document)
		if !ok {
			return "", false
		}
		filter, _ = op.Get(q)
	}
	f, ok := filter.(*types.Document)
	if !ok {
		return "", false
	}
	id, _ := f.Get("_id")
	switch id := id.(type) {
	case string:
		return "s" + id, true
	case types.ObjectID:
		return fmt.Sprintf("o%x", [12]byte(id)), true
	}
	return "", false
}
GO
  for f in msg_update msg_findandmodify msg_delete msg_insert; do
    sed -i 's/^\(func (h \*Handler) Msg[A-Za-z]*(connCtx context.Context, msg \*wire.OpMsg) (\*wire.OpMsg, error) {\)$/\1\n\tdefer meshmartLock(msg)()/' \
      "$dir/$f.go"
    grep -q 'defer meshmartLock(msg)()' "$dir/$f.go" || die "FerretDB patch: handler function not found in $dir/$f.go"
  done
}

# FerretDB 1.24's PostgreSQL backend turns a filter {_id: <string|ObjectID>} into `_jsonb->'_id' @> $v`, a containment
# test no index serves: every lookup by _id read the whole table (6 ms at 5,000 documents, growing). An _id is never an
# array, so `_jsonb->'_id' = $v` selects exactly the same documents and uses the unique index FerretDB creates on that
# expression. The rest of the filter is still applied by FerretDB after the query, as before.
index_id_lookups() {
  local file=$1/internal/backends/postgresql/query.go anchor='		path, err := types.NewPathFromString(rootKey)'
  grep -qF -- "$anchor" "$file" || die "FerretDB patch: prepareWhereClause not found in $file"
  awk -v anchor="$anchor" '
    $0 == anchor && !done {
      print "\t\t// meshmart: _id equality on the indexed expression (see scripts/testenv.sh)."
      print "\t\tif rootKey == \"_id\" {"
      print "\t\t\tswitch v := rootVal.(type) {"
      print "\t\t\tcase string, types.ObjectID:"
      print "\t\t\t\tfilters = append(filters, fmt.Sprintf(`%s = %s`, metadata.IDColumn, p.Next()))"
      print "\t\t\t\targs = append(args, string(must.NotFail(sjson.MarshalSingleValue(v))))"
      print "\t\t\t\tcontinue"
      print "\t\t\t}"
      print "\t\t}"
      print ""
      done = 1
    }
    { print }
  ' "$file" >"$file.patched" && mv "$file.patched" "$file"
  grep -q 'meshmart: _id equality' "$file" || die "FerretDB patch: could not patch $file"
}

# FerretDB 1.24's update and findAndModify keep the query's rows open (and with them a connection of the PostgreSQL
# pool) while they write each matched document on a second connection. With as many updates at once as the pool has
# connections (50), each holds one and waits for another: every command then waits forever, pings included (found by
# the checkout benchmark at 20 checkouts/s: the services' readiness checks timed out and never recovered). The matched
# documents are read to the end, which releases the first connection, before anything is written; a findAndModify
# that removes closes its query before the delete.
read_then_write() {
  local update=$1/internal/handler/common/update.go famd=$1/internal/handler/msg_findandmodify.go
  local anchor='	isFindAndModify := (strings.ToLower(cmd) == "findandmodify")'
  grep -qF -- "$anchor" "$update" || die "FerretDB patch: UpdateDocument not found in $update"
  awk -v anchor="$anchor" '
    { print }
    $0 == anchor && !done {
      print ""
      print "\t// meshmart: every matched document read (and the query'"'"'s connection released) before writing (scripts/testenv.sh)."
      print "\tmeshmartMatched, err := iterator.ConsumeValues(iterator.Interface[struct{}, *types.Document](iter))"
      print "\tif err != nil {"
      print "\t\treturn nil, lazyerrors.Error(err)"
      print "\t}"
      print "\tmeshmartSlice := iterator.ForSlice(meshmartMatched)"
      print "\tdefer meshmartSlice.Close()"
      print "\titer = iterator.Values(meshmartSlice)"
      print "\tdefer iter.Close()"
      done = 1
    }
  ' "$update" >"$update.patched" && mv "$update.patched" "$update"
  grep -q 'meshmartMatched' "$update" || die "FerretDB patch: could not patch $update"
  grep -q '"github.com/FerretDB/FerretDB/internal/util/iterator"' "$update" ||
    sed -i 's|^import (|import (\n\t"github.com/FerretDB/FerretDB/internal/util/iterator"|' "$update"
  local remove='		_, doc, err = iter.Next()'
  [ "$(grep -cxF -- "$remove" "$famd")" = 1 ] || die "FerretDB patch: findAndModify's remove not found in $famd"
  awk -v anchor="$remove" '
    { print }
    $0 == anchor { print "\t\titer.Close() // meshmart: the query'"'"'s connection released before the delete (scripts/testenv.sh)" }
  ' "$famd" >"$famd.patched" && mv "$famd.patched" "$famd"
}

# FerretDB 1.24's PostgreSQL backend pushes only equalities down to PostgreSQL; a filter with `$in` reads every document
# of the collection and decodes each in Go before it filters. The services' sweeps ask with `$in` — sagas by their
# active statuses, reservations and stock levels by a list of ids — so each sweep decoded the whole collection, and
# more with every checkout (at 20 checkouts/s for a minute, 28% of FerretDB's CPU went to finds, most of it decoding
# these scans). `$in` of strings or ObjectIDs now becomes one condition per value: `_jsonb->'_id' = $v OR …` on _id
# (an _id is never an array; the unique index FerretDB creates on that expression serves it), `_jsonb->'f' @> $v OR …`
# on any other field (what the equality pushdown uses: it also matches an array holding $v, as `$in` does). Every
# document the filter matches is still selected, and FerretDB still applies the whole filter after the query. A list of
# more than 100 values is left to FerretDB as before (each value is a query parameter; PostgreSQL takes 65,535).
push_down_in() {
  local file=$1/internal/backends/postgresql/query.go anchor="				case \"\$ne\":"
  [ "$(grep -cxF -- "$anchor" "$file")" = 1 ] || die "FerretDB patch: the \$ne case of prepareWhereClause not found in $file"
  awk -v anchor="$anchor" '
    $0 == anchor && !done {
      print "\t\t\t\tcase \"$in\":"
      print "\t\t\t\t\t// meshmart: $in of strings or ObjectIDs pushed down (scripts/testenv.sh)."
      print "\t\t\t\t\tmeshmartList, ok := v.(*types.Array)"
      print "\t\t\t\t\tif !ok || meshmartList.Len() == 0 || meshmartList.Len() > 100 {"
      print "\t\t\t\t\t\tcontinue"
      print "\t\t\t\t\t}"
      print "\t\t\t\t\tmeshmartValues := make([]string, 0, meshmartList.Len())"
      print "\t\t\t\t\tfor i := 0; i < meshmartList.Len(); i++ {"
      print "\t\t\t\t\t\tswitch e := must.NotFail(meshmartList.Get(i)).(type) {"
      print "\t\t\t\t\t\tcase string, types.ObjectID:"
      print "\t\t\t\t\t\t\tmeshmartValues = append(meshmartValues, string(must.NotFail(sjson.MarshalSingleValue(e))))"
      print "\t\t\t\t\t\t}"
      print "\t\t\t\t\t}"
      print "\t\t\t\t\tif len(meshmartValues) != meshmartList.Len() {"
      print "\t\t\t\t\t\tcontinue"
      print "\t\t\t\t\t}"
      print "\t\t\t\t\tmeshmartAlternatives := make([]string, 0, len(meshmartValues))"
      print "\t\t\t\t\tfor _, value := range meshmartValues {"
      print "\t\t\t\t\t\tif rootKey == \"_id\" {"
      print "\t\t\t\t\t\t\tmeshmartAlternatives = append(meshmartAlternatives, fmt.Sprintf(`%s = %s`, metadata.IDColumn, p.Next()))"
      print "\t\t\t\t\t\t\targs = append(args, value)"
      print "\t\t\t\t\t\t} else {"
      print "\t\t\t\t\t\t\tmeshmartAlternatives = append(meshmartAlternatives, fmt.Sprintf(`%s%s%s @> %s`, metadata.DefaultColumn, keyOperator, p.Next(), p.Next()))"
      print "\t\t\t\t\t\t\targs = append(args, key, value)"
      print "\t\t\t\t\t\t}"
      print "\t\t\t\t\t}"
      print "\t\t\t\t\tfilters = append(filters, `(`+strings.Join(meshmartAlternatives, ` OR `)+`)`)"
      print ""
      done = 1
    }
    { print }
  ' "$file" >"$file.patched" && mv "$file.patched" "$file"
  grep -q "meshmart: [$]in of strings" "$file" || die "FerretDB patch: could not patch $file"
}

# FerretDB 1.24's PostgreSQL backend wraps every write in a transaction of its own, also when the write is a single
# statement: a document updated, or documents inserted in one INSERT (every write of the services). PostgreSQL runs a
# single statement atomically anyway, so BEGIN and COMMIT were two more round trips to the server per write, about 60
# per checkout. A single statement now runs on its own; writes of more than one statement keep their transaction.
single_statement_writes() {
  local dir=$1/internal/backends/postgresql file
  file=$dir/collection.go
  cat >"$dir/meshmart_single.go" <<'GO'
package postgresql

import (
	"context"
	"errors"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/FerretDB/FerretDB/internal/backends"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// meshmartInsert runs one INSERT without a transaction around it: PostgreSQL applies it whole or not at all.
func meshmartInsert(ctx context.Context, p *pgxpool.Pool, q string, args []any) (*backends.InsertAllResult, error) {
	if _, err := p.Exec(ctx, q, args...); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == pgerrcode.UniqueViolation {
			return nil, backends.NewError(backends.ErrorCodeInsertDuplicateID, err)
		}

		return nil, lazyerrors.Error(err)
	}

	return new(backends.InsertAllResult), nil
}

// meshmartUpdateOne writes one document with one UPDATE, without a transaction around it.
func meshmartUpdateOne(ctx context.Context, p *pgxpool.Pool, q string, doc *types.Document) (*backends.UpdateAllResult, error) {
	b, err := sjson.Marshal(doc)
	if err != nil {
		return nil, lazyerrors.Error(err)
	}

	id, _ := doc.Get("_id")
	must.NotBeZero(id)

	tag, err := p.Exec(ctx, q, b, must.NotFail(sjson.MarshalSingleValue(id)))
	if err != nil {
		return nil, lazyerrors.Error(err)
	}

	return &backends.UpdateAllResult{Updated: int32(tag.RowsAffected())}, nil
}
GO
  [ "$(grep -cxF -- '	err = pool.InTransaction(ctx, p, func(tx pgx.Tx) error {' "$file")" = 2 ] ||
    die "FerretDB patch: the transactions of InsertAll and UpdateAll not found in $file"
  awk '
    /^func \(c \*collection\) InsertAll\(/ { fn = "insert" }
    /^func \(c \*collection\) UpdateAll\(/ { fn = "update" }
    $0 == "\terr = pool.InTransaction(ctx, p, func(tx pgx.Tx) error {" {
      print "\t// meshmart: a single statement runs without BEGIN and COMMIT (scripts/testenv.sh)."
      if (fn == "insert") {
        print "\tif n := len(params.Docs); n > 0 && n <= c.r.BatchSize {"
        print "\t\tq, args, err := prepareInsertStatement(c.dbName, meta.TableName, meta.Capped(), params.Docs)"
        print "\t\tif err != nil {"
        print "\t\t\treturn nil, lazyerrors.Error(err)"
        print "\t\t}"
        print ""
        print "\t\treturn meshmartInsert(ctx, p, q, args)"
        print "\t}"
      } else {
        print "\tif len(params.Docs) == 1 {"
        print "\t\treturn meshmartUpdateOne(ctx, p, q, params.Docs[0])"
        print "\t}"
      }
      print ""
      patched++
    }
    { print }
    END { if (patched != 2) exit 1 }
  ' "$file" >"$file.patched" || die "FerretDB patch: could not patch $file"
  mv "$file.patched" "$file"
}

# FerretDB tracks the lifetime of its iterators and other resources for its own leak checks: each one is added to a
# pprof profile with the stack that created it, and given a finalizer. Under the checkout benchmark's load that was 7%
# of its CPU (capturing stacks), for a check that only finds FerretDB's own bugs; the test FerretDB skips it.
untrack_resources() {
  local file=$1/internal/util/resource/resource.go fn
  for fn in 'func Track(obj any, token \*Token) {' 'func Untrack(obj any, token \*Token) {'; do
    [ "$(grep -c "^$fn\$" "$file")" = 1 ] || die "FerretDB patch: '$fn' not found in $file"
    sed -i "s/^\\($fn\\)\$/\\1\\n\\treturn \\/\\/ meshmart: no tracking (scripts\\/testenv.sh)\\n/" "$file"
  done
  [ "$(grep -c 'meshmart: no tracking' "$file")" = 2 ] || die "FerretDB patch: could not patch $file"
}

build_ferretdb() (
  command -v go >/dev/null ||
    die "Go is not installed, and it is needed once to build FerretDB $FERRETDB_VERSION into $FERRETDB_BIN." \
      "Install Go >= 1.24 (https://go.dev/dl/ or apt-get install golang-go if recent enough) and re-run."
  log "building FerretDB $FERRETDB_VERSION (first run only, cached in $CACHE/bin)"
  start=$SECONDS
  work=$(mktemp -d "${TMPDIR:-/tmp}/meshmart-ferretdb.XXXXXX")
  trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
  cd "$work"
  json=$(go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION") ||
    die "go mod download $FERRETDB_MODULE@$FERRETDB_VERSION failed: $json"
  dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then die "no module directory in the output of go mod download: $json"; fi
  cp -R "$dir" "$work/src"
  chmod -R u+w "$work/src"
  printf '%s\n' "$FERRETDB_VERSION" >"$work/src/build/version/version.txt"
  printf 'meshmart-testenv\n' >"$work/src/build/version/package.txt"
  serialize_writes "$work/src/internal/handler"
  index_id_lookups "$work/src"
  read_then_write "$work/src"
  push_down_in "$work/src"
  single_statement_writes "$work/src"
  untrack_resources "$work/src"
  (cd "$work/src" && go build -trimpath -o "$work/ferretdb" ./cmd/ferretdb) || die "go build of FerretDB failed"
  built=$("$work/ferretdb" --version 2>&1 || true)
  case $built in
    *"version: $FERRETDB_VERSION"*) ;;
    *) die "the FerretDB binary just built does not report version $FERRETDB_VERSION: $built" ;;
  esac
  mkdir -p "$CACHE/bin"
  cp "$work/ferretdb" "$FERRETDB_BIN.tmp.$$"
  mv -f "$FERRETDB_BIN.tmp.$$" "$FERRETDB_BIN"
  log "built $FERRETDB_BIN in $((SECONDS - start))s"
)

ensure_ferretdb() {
  if [ ! -x "$FERRETDB_BIN" ]; then build_ferretdb; fi
}

# ---------------------------------------------------------------------------------------------------------------------
# servers: start_X starts X unless it already answers; the caller then waits for it.

start_redis() {
  if redis_ok; then
    log "redis already answering on $REDIS_URL"
    return
  fi
  stop redis redis-server
  if listening "$REDIS_PORT"; then die "port $HOST:$REDIS_PORT is taken by something that is not Redis"; fi
  log "starting redis on $REDIS_URL"
  mkdir -p "$STATE/redis"
  : >"$LOGS/redis.log"
  redis-server --bind "$HOST" --port "$REDIS_PORT" --save '' --appendonly no \
    --daemonize yes --pidfile "$RUN/redis.pid" --logfile "$LOGS/redis.log" --dir "$STATE/redis" >/dev/null 9>&-
}

# PostgreSQL as FerretDB's storage. The server refuses to run as root, so as root it runs as the `postgres` user the
# Debian package creates. synchronous_commit=off: a commit does not wait for its WAL flush (a crash of the machine may
# lose the last fraction of a second; a crash or restart of FerretDB or of the server process loses nothing committed).
# default_toast_compression=lz4: documents over 2 KB (sagas, order views) are compressed on every write; with the
# default pglz that was 7% of PostgreSQL's CPU under the checkout benchmark's load, lz4 costs a fraction of it.
as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_postgres() {
  [ "$FERRETDB_BACKEND" = postgresql ] || return 0
  local bin
  bin=$(pg_bin) || die "PostgreSQL's pg_ctl not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
  if pg_ok; then
    log "postgresql already answering on $HOST:$PG_PORT"
    return
  fi
  if listening "$PG_PORT"; then die "port $HOST:$PG_PORT is taken by something that is not our PostgreSQL"; fi
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$PG_DIR"; fi
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    log "initdb $PG_DIR/data"
    as_pg_owner "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync -E UTF8 >"$LOGS/postgres-initdb.log" 2>&1 ||
      die "initdb failed (log: $LOGS/postgres-initdb.log)"
  fi
  log "starting postgresql on $HOST:$PG_PORT"
  : >"$LOGS/postgres.log"
  chmod a+w "$LOGS/postgres.log"
  as_pg_owner "$bin/pg_ctl" -D "$PG_DIR/data" -l "$LOGS/postgres.log" -w -t 60 start -o \
    "-p $PG_PORT -c listen_addresses=$HOST -k $PG_DIR -c synchronous_commit=off -c max_connections=300 -c shared_buffers=64MB -c default_toast_compression=lz4" \
    >/dev/null 9>&- || die "postgresql did not start (log: $LOGS/postgres.log)"
  as_pg_owner "$bin/psql" -q -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'" | grep -q 1 ||
    as_pg_owner "$bin/createdb" -h "$HOST" -p "$PG_PORT" -U postgres ferretdb || die "createdb ferretdb failed"
}

stop_postgres() {
  local bin
  [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
  bin=$(pg_bin) || return 0
  log "stopping postgresql"
  as_pg_owner "$bin/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
}

start_ferretdb() {
  if mongo_ok; then
    log "ferretdb already answering on $MONGO_URL"
    return
  fi
  stop ferretdb "$FERRETDB_BIN"
  if listening "$MONGO_PORT"; then
    die "port $HOST:$MONGO_PORT is taken by something that does not answer a MongoDB ping"
  fi
  log "starting ferretdb $FERRETDB_VERSION ($FERRETDB_BACKEND) on $MONGO_URL"
  mkdir -p "$STATE/ferretdb/data"
  local storage
  if [ "$FERRETDB_BACKEND" = postgresql ]; then
    storage=(--handler=postgresql --postgresql-url="$PG_URL")
  else
    # WAL without an fsync per commit, like the PostgreSQL setting above.
    storage=(--handler=sqlite --sqlite-url="file:$STATE/ferretdb/data/?_pragma=synchronous(normal)")
  fi
  spawn ferretdb nohup "$FERRETDB_BIN" \
    --listen-addr="$HOST:$MONGO_PORT" \
    "${storage[@]}" \
    --state-dir="$STATE/ferretdb" \
    --telemetry=disable \
    --debug-addr=- \
    --log-level=warn
}

write_prometheus_config() {
  local tmp="$PROM_CONFIG.tmp.$$"
  mkdir -p "$PROM_DIR/data" "$PROM_TARGETS"
  cat >"$tmp" <<EOF
# Written by scripts/testenv.sh: tests drop file_sd target files (*.json) into $PROM_TARGETS.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: meshmart
    file_sd_configs:
      - files:
          - $PROM_TARGETS/*.json
        refresh_interval: 1s
EOF
  if cmp -s "$tmp" "$PROM_CONFIG"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$PROM_CONFIG"
}

start_prometheus() {
  local changed=0
  write_prometheus_config && changed=1
  if prom_ok; then
    prom_is_ours || die "port $HOST:$PROM_PORT is taken by a Prometheus that does not read $PROM_TARGETS"
    if ((changed)); then
      log "prometheus configuration changed, reloading"
      curl -fsS -m 5 -X POST "$PROM_URL/-/reload" >/dev/null || die "prometheus reload failed"
    fi
    log "prometheus already answering on $PROM_URL"
    return
  fi
  stop prometheus "$PROM_CONFIG"
  if listening "$PROM_PORT"; then die "port $HOST:$PROM_PORT is taken by something that is not a ready Prometheus"; fi
  log "starting prometheus on $PROM_URL"
  spawn prometheus nohup "$(command -v prometheus)" \
    --config.file="$PROM_CONFIG" \
    --storage.tsdb.path="$PROM_DIR/data" \
    --web.listen-address="$HOST:$PROM_PORT" \
    --web.enable-lifecycle \
    --log.level=warn
}

write_env() {
  local tmp="$ENV_FILE.tmp.$$"
  cat >"$tmp" <<EOF
REDIS_URL=$REDIS_URL
MONGO_URL=$MONGO_URL
PROMETHEUS_URL=$PROM_URL
PROMTOOL=$(command -v promtool)
PROMETHEUS_TARGETS_DIR=$PROM_TARGETS
CHROMIUM_PATH=$(command -v chromium)
FERRETDB_BIN=$FERRETDB_BIN
EOF
  mv -f "$tmp" "$ENV_FILE"
}

# Serialize concurrent up/down (e.g. two `make test` at once). The servers are started with fd 9 closed, otherwise
# they would hold the lock forever.
lock() {
  mkdir -p "$STATE"
  if command -v flock >/dev/null; then
    exec 9>"$STATE/.lock"
    flock -w 300 9 || die "timed out waiting for $STATE/.lock (another testenv.sh up/down running?)"
  fi
}

# ---------------------------------------------------------------------------------------------------------------------
# subcommands

cmd_up() {
  lock
  mkdir -p "$RUN" "$LOGS"
  ensure_packages
  ensure_ferretdb
  start_redis
  start_postgres
  start_ferretdb
  start_prometheus
  wait_for redis 15 redis_ok
  wait_for ferretdb 30 mongo_ok
  wait_for prometheus 30 prom_ok
  write_env
  local extra
  extra=$(run_plugins up) || die "a test server plug-in failed to start (see above)"
  if [ -n "$extra" ]; then printf '%s\n' "$extra" >>"$ENV_FILE"; fi
  log "up in ${SECONDS}s (state: $STATE)"
  cat "$ENV_FILE"
}

cmd_down() {
  lock
  run_plugins down || true
  stop prometheus "$PROM_CONFIG"
  stop ferretdb "$FERRETDB_BIN"
  stop_postgres
  stop redis redis-server
  rm -rf "$STATE/redis" "$STATE/ferretdb" "$PG_DIR" "$PROM_DIR" "$RUN" "$LOGS" "$ENV_FILE"
  log "down (cache kept: $CACHE)"
}

cmd_status() {
  local all=0 pid
  line() {
    local name=$1 url=$2 check=$3 pattern=$4 state
    if "$check"; then
      state=answering
    else
      state="NOT answering"
      all=1
    fi
    if pid=$(pid_of "$name" "$pattern"); then state="$state (pid $pid)"; fi
    printf '%-11s %-30s %s\n' "$name" "$url" "$state"
  }
  line redis "$REDIS_URL" redis_ok redis-server
  if [ "$FERRETDB_BACKEND" = postgresql ]; then line postgres "postgres://$HOST:$PG_PORT" pg_ok postgres; fi
  line ferretdb "$MONGO_URL" mongo_ok "$FERRETDB_BIN"
  line prometheus "$PROM_URL" prom_ok "$PROM_CONFIG"
  if command -v promtool >/dev/null && promtool --version >/dev/null 2>&1; then
    printf '%-11s %-30s %s\n' promtool "$(command -v promtool)" "$(promtool --version 2>&1 | head -n 1)"
  else
    printf '%-11s %-30s %s\n' promtool - "NOT installed"
    all=1
  fi
  run_plugins status || all=1
  return "$all"
}

cmd_env() {
  [ -f "$ENV_FILE" ] || die "$ENV_FILE does not exist: start the test environment with \`make testenv-up\` (scripts/testenv.sh up)"
  cat "$ENV_FILE"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *)
    printf 'usage: %s up|down|status|env\n' "$0" >&2
    exit 2
    ;;
esac
