"""Plays tests/fixtures/rest/scenario.json against a Connect REST API and prints the golden
file (scripts/gen-rest-goldens runs it against the real worker).

The normalization here is the one tests/support/rest.rs applies to kconnect's answers; both
are described in tests/fixtures/rest/README.md, and `gen-rest-goldens --check` replays this
file's output against a fresh real worker with the Rust side to prove they agree.

usage: rest_golden_player.py SCENARIO BASE_URL DIR
"""

import http.client
import json
import sys
import time
import urllib.parse
import uuid

# Values that differ between any two workers for reasons no client may depend on.
PLACEHOLDERS = {
    "worker_id": "${WORKER_ID}",
    "trace": "${TRACE}",
    "version": "${VERSION}",
    "commit": "${COMMIT}",
    "kafka_cluster_id": "${KAFKA_CLUSTER_ID}",
}


def substitute(value, subs):
    """Fills `${NAME}` placeholders of the scenario (strings and object keys)."""
    if isinstance(value, str):
        for k, v in subs.items():
            value = value.replace(k, v)
        return value
    if isinstance(value, list):
        return [substitute(x, subs) for x in value]
    if isinstance(value, dict):
        return {substitute(k, subs): substitute(v, subs) for k, v in value.items()}
    return value


def unsubstitute(text, subs):
    for k, v in subs.items():
        text = text.replace(v, k)
    return text


def is_connector_plugin(value):
    """An entry of GET /connector-plugins for a connector, whose version is compared: Connect
    reports the version of the connector's jar (Kafka's 4.3.0, Debezium's 3.6.3.Final)."""
    return (set(value) == {"class", "type", "version"}
            and value.get("type") in ("source", "sink"))


def normalize(value, subs, key=None):
    if isinstance(value, dict) and is_connector_plugin(value):
        return {k: unsubstitute(v, subs) if isinstance(v, str) else v for k, v in value.items()}
    if isinstance(value, dict):
        return {unsubstitute(k, subs): normalize(v, subs, k) for k, v in value.items()}
    if isinstance(value, list):
        items = [normalize(x, subs) for x in value]
        if items and all(isinstance(x, str) for x in items):
            items.sort()
        return items
    if isinstance(value, str):
        if key in PLACEHOLDERS:
            return PLACEHOLDERS[key]
        return unsubstitute(value, subs)
    if key == "last_modified" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return "${TIMESTAMP}"
    return value


def pointer(doc, ptr):
    """RFC 6901 lookup; None when the path does not exist."""
    if ptr == "":
        return doc
    for raw in ptr.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return None
    return doc


def request(base, method, path, body=None):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body.encode() if body is not None else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read().decode()
    ctype = resp.getheader("Content-Type")
    conn.close()
    return resp.status, ctype, data


def wait_for(base, wait, subs, name):
    path = substitute(wait["path"], subs)
    until = {substitute(k, subs): substitute(v, subs) for k, v in wait["until"].items()}
    deadline = time.monotonic() + wait.get("timeout_s", 60)
    last = None
    while time.monotonic() < deadline:
        status, _, text = request(base, "GET", path)
        last = (status, text)
        if status == 200:
            doc = json.loads(text)
            if all(pointer(doc, p) == v for p, v in until.items()):
                return
        time.sleep(0.25)
    sys.exit(f"step {name}: waited {wait.get('timeout_s', 60)} s for {path} to show {until}; last answer {last}")


def main():
    scenario_path, base, d = sys.argv[1:4]
    scenario = json.load(open(scenario_path))
    # A fresh run id keeps connector names, consumer groups and topics unique on a shared broker.
    run = "r" + uuid.uuid4().hex[:10]
    subs = {"${DIR}": d, "${RUN}": run}
    _, _, about = request(base, "GET", "/")
    steps = []
    for step in scenario["steps"]:
        name = step["name"]
        if "wait" in step:
            wait_for(base, step["wait"], subs, name)
        body = None
        if "body" in step:
            # Compact, as the Rust harness sends it: Connect's parse errors quote columns.
            body = json.dumps(substitute(step["body"], subs), separators=(",", ":"), ensure_ascii=False)
        elif "raw_body" in step:
            body = substitute(step["raw_body"], subs)
        status, ctype, text = request(base, step["method"], substitute(step["path"], subs), body)
        out = {"name": name, "method": step["method"], "path": step["path"], "status": status,
               "content_type": ctype.split(";")[0].strip().lower() if ctype else None}
        if text:
            try:
                out["json"] = normalize(json.loads(text), subs)
            except ValueError:
                out["text"] = unsubstitute(text, subs)
        steps.append(out)
        print(f"{name}: {status}", file=sys.stderr)
    golden = {
        "about": "Recorded by scripts/gen-rest-goldens from the real Kafka Connect standalone worker; "
                 "see README.md beside this file for the normalization.",
        "recorded_with": json.loads(about),
        "worker": scenario["worker"],
        "steps": steps,
    }
    # Sorted keys: Connect serializes hash maps, so a re-recording differs only where answers do.
    json.dump(golden, sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
