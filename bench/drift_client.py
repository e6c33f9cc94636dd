#!/usr/bin/env python3
"""Client side of bench/drift.sh (Python 3 standard library only).

  seed    --kube URL --db FILE --namespaces N --per-namespace M
          N namespaces on the test API server, each with M/2 Deployments and M/2 Services
          applied server-side as `stargate` (the objects Stargate renders: its labels, one
          container, one port), and the same manifests in Stargate's `applied_objects`
          (SQLite), as if requests had applied them.
  interval --kube URL --db FILE --objects N --timeout S
          waits until the first drift check has recorded N objects; prints the wall time
          from its first LIST to the last row, and the LIST calls the server received.
  watch   --kube URL --db FILE --changes K --timeout S
          waits until the watches are open (the LISTs they start from done), then K times:
          scales one Deployment with a kubectl merge patch and times it until Stargate
          marks it drifted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sqlite3
import statistics
import sys
import threading
import time
from urllib.parse import urlsplit


def connection(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)


def request(conn, method, path, body=None, content_type="application/json", agent="bench"):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": content_type, "User-Agent": agent}
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    text = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {text[:300]!r}")
    return json.loads(text) if text else None


def labels(name: str, team: str) -> dict:
    return {"app.kubernetes.io/managed-by": "stargate", "app.kubernetes.io/name": name,
            "stargate.dev/request": "1", "stargate.dev/team": team}


def deployment(ns: str, name: str) -> dict:
    selector = {"app.kubernetes.io/name": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels(name, ns)},
            "spec": {"replicas": 2, "selector": {"matchLabels": selector},
                     "template": {"metadata": {"labels": selector},
                                  "spec": {"containers": [{
                                      "name": name, "image": f"ghcr.io/acme/{name}:1.0.0",
                                      "ports": [{"name": "http", "containerPort": 8080}],
                                      "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}}}


def service(ns: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": labels(name, ns)},
            "spec": {"selector": {"app.kubernetes.io/name": name},
                     "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}}


def path_of(obj: dict) -> str:
    ns, name = obj["metadata"].get("namespace"), obj["metadata"]["name"]
    return {"Namespace": f"/api/v1/namespaces/{name}",
            "Deployment": f"/apis/apps/v1/namespaces/{ns}/deployments/{name}",
            "Service": f"/api/v1/namespaces/{ns}/services/{name}"}[obj["kind"]]


def apply_all(url: str, objects: list[dict], threads: int = 4) -> None:
    def work(chunk):
        conn = connection(url)
        for obj in chunk:
            request(conn, "PATCH", path_of(obj) + "?fieldManager=stargate&force=true", obj,
                    "application/apply-patch+yaml")
    chunks = [objects[i::threads] for i in range(threads)]
    workers = [threading.Thread(target=work, args=(c,)) for c in chunks]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def seed(args) -> None:
    started = time.time()
    namespaces = [f"team-{i:03d}" for i in range(args.namespaces)]
    ns_objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in namespaces]
    apply_all(args.kube, ns_objects)
    objects = []
    for ns in namespaces:
        for i in range(args.per_namespace // 2):
            objects.append(deployment(ns, f"svc-{i:03d}"))
            objects.append(service(ns, f"svc-{i:03d}"))
    apply_all(args.kube, objects)
    db = sqlite3.connect(args.db)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    db.executemany(
        "INSERT INTO applied_objects (cluster, kind, namespace, name, manifest_json, applied_at)"
        " VALUES ('kind', ?, ?, ?, ?, ?)",
        [(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"], json.dumps(o), now) for o in objects])
    db.commit()
    print(f"seeded {len(objects)} objects in {len(namespaces)} namespaces in {time.time() - started:.1f} s")


def reads(url: str, since: int = 0) -> list[dict]:
    conn = connection(url)
    return request(conn, "GET", f"/_control/reads?since={since}")


def last_read(args) -> None:
    print(max([r["seq"] for r in reads(args.kube)] or [0]))


def count_rows(db_path: str, where: str = "1 = 1") -> int:
    db = sqlite3.connect(db_path, timeout=30)
    try:
        return db.execute(f"SELECT COUNT(*) FROM object_drift WHERE {where}").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def interval(args) -> None:
    deadline = time.time() + args.timeout
    while count_rows(args.db) < args.objects:
        if time.time() > deadline:
            raise SystemExit(f"the check recorded {count_rows(args.db)} of {args.objects} objects in time")
        time.sleep(0.05)
    done = time.time()
    lists = [r for r in reads(args.kube, args.since) if "watch=" not in (r.get("query") or "")
             and r["path"].startswith(("/api/v1/namespaces/", "/apis/apps/v1/namespaces/"))]
    first = min(r["start"] for r in lists)
    last_list = max(r["end"] for r in lists)
    print(f"interval check: {args.objects} objects, {len(lists)} LIST calls, "
          f"LISTs {last_list - first:.2f} s, first LIST to all recorded {done - first:.2f} s")


def watch(args) -> None:
    deadline = time.time() + args.timeout
    # Each kind's watch starts from a LIST in pages of 500; it is open once the last page
    # is read (a watch call is recorded only when it ends).
    expected = 2 * -(-args.objects // 2 // 500)
    while True:
        pages = [r for r in reads(args.kube, args.since) if "limit=" in (r.get("query") or "")]
        if len(pages) >= expected:
            break
        if time.time() > deadline:
            raise SystemExit(f"the watches did not list in time ({len(pages)} of {expected} pages)")
        time.sleep(0.1)
    time.sleep(1)
    print(f"watch start: {len(pages)} paged LIST calls for 2 kinds, "
          f"{max(r['end'] for r in pages) - min(r['start'] for r in pages):.2f} s")
    conn = connection(args.kube)
    latencies = []
    for i in range(args.changes):
        ns, name = f"team-{i % 100:03d}", "svc-000"
        where = f"kind = 'Deployment' AND namespace = '{ns}' AND name = '{name}' AND state = 'drifted'"
        started = time.time()
        request(conn, "PATCH", f"/apis/apps/v1/namespaces/{ns}/deployments/{name}",
                {"spec": {"replicas": 5}}, "application/merge-patch+json", "kubectl/v1.33.0")
        while count_rows(args.db, where) == 0:
            if time.time() > deadline:
                raise SystemExit(f"change {i} not marked in time")
            time.sleep(0.01)
        latencies.append(time.time() - started)
    latencies.sort()
    print(f"watch: live change -> drift mark, {len(latencies)} changes: "
          f"median {statistics.median(latencies) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--kube", required=True)
    s.add_argument("--db", required=True)
    s.add_argument("--namespaces", type=int, default=100)
    s.add_argument("--per-namespace", type=int, default=100)
    i = sub.add_parser("interval")
    i.add_argument("--kube", required=True)
    i.add_argument("--db", required=True)
    i.add_argument("--objects", type=int, required=True)
    i.add_argument("--timeout", type=float, default=600)
    w = sub.add_parser("watch")
    w.add_argument("--kube", required=True)
    w.add_argument("--db", required=True)
    w.add_argument("--objects", type=int, required=True)
    w.add_argument("--changes", type=int, default=10)
    w.add_argument("--timeout", type=float, default=600)
    for p in (i, w):
        p.add_argument("--since", type=int, default=0, help="count the reads after this seq")
    last = sub.add_parser("last-read")
    last.add_argument("--kube", required=True)
    args = parser.parse_args()
    {"seed": seed, "interval": interval, "watch": watch, "last-read": last_read}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
