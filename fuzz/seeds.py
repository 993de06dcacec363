#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into fuzz/corpus/<target>/ from the repo's own
files (connector and worker files, the PostgreSQL golden records, the Elasticsearch test
answers) and from hand-made pgoutput messages. Run from the repository root; scripts/fuzz
minimizes the corpora afterwards (cargo fuzz cmin)."""
import glob, hashlib, json, os, struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def files(*patterns):
    for p in patterns:
        for path in sorted(glob.glob(os.path.join(ROOT, p), recursive=True)):
            rel = os.path.relpath(path, ROOT)
            if not rel.startswith(("target/", "fuzz/")):
                yield path, open(path, "rb").read()


# Connector and worker files: first byte 0 = JSON, 1 = .properties.
for path, data in files("connectors.d/*", "tests/fixtures/**/connectors/*.json",
                        "tests/fixtures/**/*connector*.properties", "tests/fixtures/client/connectors/*.json"):
    put("connector_file", (b"\0" if path.endswith(".json") else b"\1") + data)
put("connector_file", b"\1name=p\nconnector.class=FileStreamSource\nfile=${file:/etc/s.properties:path}\n"
    b"topic=${env:TOPIC}\npassword=${directory:/run/secrets:pw}\nx=${vault:a:b} ${env:}\n"
    b"multi=a\\\n  b\\u00e9\\uD83D\\uDE00 \\t\\\\\nkey\\ with\\:colon = v\n! comment\n# c\n")
put("connector_file", b'\0{"name":"r","config":{"connector.class":"FileStreamSink","tasks.max":2,'
    b'"topics":"a,b","errors.tolerance":"all","flag":true,"n":null},"initial_state":"paused"}')
for path, data in files("tests/fixtures/**/worker.properties"):
    put("worker_file", b"\1" + data)
put("worker_file", b"\1bootstrap.servers=k:9092\nconfig.providers=env,file\n"
    b"config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider\n"
    b"config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n"
    b"offset.flush.interval.ms=${env:FLUSH}\nproducer.linger.ms=5\nlisteners=http://:8083\n"
    b"rest.advertised.port=99999\ntopic.creation.enable=maybe\n")
put("worker_file", b'\0{"bootstrap.servers":"k:9092","offset.flush.interval.ms":1000,'
    b'"config.providers":"env","config.providers.env.class":"nope"}')

# JsonConverter: first byte's bit 0 set = schemas.enable=false.
seen = 0
for path, data in files("tests/fixtures/postgres/expected.jsonl", "src/transform/testdata/raw.jsonl",
                        "tests/fixtures/reference/same-bytes/input/values.jsonl",
                        "tests/fixtures/debezium-headers/expected.jsonl"):
    for line in data.decode().splitlines()[:40]:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "value" in rec:
            for part in ("key", "value"):
                v = rec.get(part)
                if isinstance(v, dict) and "schema" in v:
                    put("json_converter", b"\0" + json.dumps(v).encode())
                    put("json_converter", b"\3" + json.dumps(v.get("payload")).encode())
        else:
            put("json_converter", b"\1" + line.encode())
for s in [
    '{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},"payload":"AJY="}',
    '{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},"payload":1.5}',
    '{"schema":{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp","optional":true,"default":0},"payload":null}',
    '{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Date"},"payload":19000}',
    '{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Time"},"payload":1000}',
    '{"schema":{"type":"map","keys":{"type":"string"},"values":{"type":"array","items":{"type":"float"}}},"payload":{"a":[1.5,2]}}',
    '{"schema":{"type":"map","keys":{"type":"int32"},"values":{"type":"boolean"}},"payload":[[1,true],[2,false]]}',
    '{"schema":{"type":"struct","fields":[{"field":"a","type":"int8","optional":true,"default":3},{"field":"b","type":"int16"}]},"payload":{"a":null,"b":7}}',
    '{"schema":null,"payload":{"x":[1,2.5,"s",null,true,{"y":{}}]}}',
    '{"schema":{"type":"string","optional":false},"payload":null}',
    '{"schema":{"type":"bytes"},"payload":"not base64!"}',
]:
    put("json_converter", b"\0" + s.encode())
    put("json_converter", b"\2" + s.encode())

# pgoutput messages; column i of relation r is read as type (r + i) % 26 of the harness's list.
def cstr(s):
    return s.encode() + b"\0"


def tuple_(vals):
    out = struct.pack(">h", len(vals))
    for v in vals:
        if v is None:
            out += b"n"
        elif v == "<u>":
            out += b"u"
        else:
            b = v.encode()
            out += b"t" + struct.pack(">i", len(b)) + b
    return out


TEXTS = ["t", "-32768", "2147483647", "-9223372036854775808", "1.5", "-2.25e-300", "12345678.91",
         "1234.56", "$1,234.56", "text \u00fc", "\\xdeadbeef", "2024-02-29", "13:14:15.123456", "01:02:03.456",
         "10:11:12.5+02", "2024-01-02 03:04:05.678901", "1999-12-31 23:59:59.999", "2024-06-01 09:00:00.25+00",
         "P1Y2M3DT4H5M6.789S", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", '{"a": [1, 2]}', "1", "1010",
         "{1,2,NULL,4}", '{"x","y z"}', '{{1,2},{3,4}}']
ODD = ["NaN", "Infinity", "-Infinity", "infinity", "-infinity", "0044-03-15 BC", "24:00:00", "-178000000 years",
       "P-1Y-2M3DT-4H-5M-6.789S", "294277-01-09 04:00:54.775807", "\\x", "\\001abc", "-0.000", "1e1000",
       "($1.00)", "-$92,233,720,368,547,758.08", "{}", '{NULL,"a\\"b"}', "", "00:00:00+14:59"]
pg = []
rel = struct.pack(">I", 16384) + cstr("public") + cstr("all_types") + b"d" + struct.pack(">h", 4)
for flags, name, oid, mod in [(1, "id", 23, -1), (0, "n", 1700, (10 << 16 | 2) + 4), (0, "ts", 1114, 3), (0, "b", 1560, 1)]:
    rel += bytes([flags]) + cstr(name) + struct.pack(">Ii", oid, mod)
pg.append(b"R" + rel)
pg.append(b"B" + struct.pack(">QqI", 0x16B3748, 757_000_000_000_000, 731))
pg.append(b"C" + b"\0" + struct.pack(">QQq", 0x16B3748, 0x16B3780, 757_000_000_000_000))
pg.append(b"O" + struct.pack(">Q", 1) + cstr("origin"))
pg.append(b"Y" + struct.pack(">I", 700000) + cstr("public") + cstr("mood"))
pg.append(b"T" + struct.pack(">I", 2) + b"\1" + struct.pack(">II", 16384, 16390))
pg.append(b"M" + b"\1" + struct.pack(">Q", 5) + cstr("prefix") + struct.pack(">I", 3) + b"abc")
for r in (0, 3, 13, 23):
    pg.append(b"I" + struct.pack(">I", r) + b"N" + tuple_(TEXTS[r:] + TEXTS[:r]))
pg.append(b"I" + struct.pack(">I", 0) + b"N" + tuple_(ODD[:26]))
pg.append(b"I" + struct.pack(">I", 6) + b"N" + tuple_(ODD[6:] + ODD[:6]))
pg.append(b"U" + struct.pack(">I", 0) + b"K" + tuple_(["1", None]) + b"N" + tuple_(["2", "<u>", None]))
pg.append(b"U" + struct.pack(">I", 2) + b"O" + tuple_(TEXTS[2:6]) + b"N" + tuple_(TEXTS[2:6]))
pg.append(b"U" + struct.pack(">I", 9) + b"N" + tuple_(["x", "\\x00ff"]))
pg.append(b"D" + struct.pack(">I", 2) + b"K" + tuple_(["2147483647"]))
for m in pg:
    put("pgoutput", m)

# The replication stream: backend messages (tag, length) around CopyData (XLogData, keepalive).
def msg(tag, body):
    return tag + struct.pack(">I", len(body) + 4) + body


def xlog(lsn, data):
    return msg(b"d", b"w" + struct.pack(">QQq", lsn, lsn + 100, 757_000_000_000_000) + data)


keepalive = msg(b"d", b"k" + struct.pack(">Qq", 0x16B3780, 757_000_000_000_000) + b"\1")
err = msg(b"E", b"SERROR\0VERROR\0C57P01\0Mterminating connection due to administrator command\0"
          b"DDetail\0HHint\0Fpostgres.c\0L3100\0RProcessInterrupts\0\0")
notice = msg(b"N", b"SNOTICE\0C00000\0Mhello\0\0")
put("replication_stream", b"".join(xlog(0x100 + i, m) for i, m in enumerate(pg[:4])) + keepalive)
put("replication_stream", keepalive + xlog(0x200, pg[7]) + notice + xlog(0x300, pg[2]) + err)
put("replication_stream", msg(b"c", b"") + msg(b"Z", b"I"))
for m in pg[7:]:
    put("replication_stream", xlog(0x400, m))

# Elasticsearch bulk answers.
for s in [
    '{"took":1,"errors":false,"items":[{"index":{"status":201}}]}',
    '{"took":1,"errors":true,"items":[{"index":{"_index":"a","_id":"1","status":201}},'
    '{"delete":{"_index":"a","_id":"2","status":404,"result":"not_found"}},'
    '{"update":{"_index":"a","_id":"3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"busy"}}},'
    '{"create":{"_index":"a","_id":"4","status":400,"error":{"type":"document_parsing_exception","reason":"bad",'
    '"caused_by":{"type":"illegal_argument_exception","reason":"nope"}}}}]}',
    '{"errors":true,"items":[{"index":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"v"}}}]}',
    '{"errors":true}',
    '{"errors":true,"items":[{"index":{"status":500,"error":{"type":"x","caused_by":"y"}}}]}',
    '<html><body>502 Bad Gateway</body></html>',
]:
    put("es_bulk_response", s)
