#!/usr/bin/env python3
"""Client side of bench/worker.sh (Python 3 standard library only).

    worker_client.py latency    --url U --engineer T --lead T --label L [--count N] [--prefix P]
    worker_client.py throughput --url U --engineer T --lead T --label L --kube URL
                                [--count N] [--prefix P] --worker 'CMD' [--worker 'CMD' ...]
    worker_client.py table FILE

`latency` submits and approves one service request at a time (the queue is idle each
time) and measures approval -> apply start twice: on the client, from the approve
response to the first GET /api/v1/requests/{id} (polled every 5 ms) that no longer says
`queued`; on the server, from the `request.approve` to the `request.claim` audit event
(second precision). `throughput` queues N approved requests with no worker running, then
starts the worker commands and times until all N are `applied`. Both append a row to
--results (tab-separated), which `table` prints.
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime

_local = threading.local()


class Api:
    def __init__(self, url):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port or 80

    def _conn(self):
        conn = getattr(_local, "conn", None)
        if conn is None or getattr(_local, "target", None) != (self.host, self.port):
            conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            _local.conn, _local.target = conn, (self.host, self.port)
        return conn

    def call(self, method, path, token=None, body=None):
        headers = {"accept": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        for attempt in (1, 2):
            conn = self._conn()
            try:
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                conn.close()
                _local.conn = None
                if attempt == 2:
                    raise
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode(errors="replace")
        return response.status, payload


def service(prefix, i):
    return {
        "kind": "service", "team": "payments", "cluster": "kind", "reason": "worker benchmark",
        "spec": {"name": f"{prefix}-{i:03d}", "image": "ghcr.io/acme/bench:1.0.0",
                 "port": 8080, "replicas": 1},
    }


def submit_and_approve(api, args, i):
    """Returns (id, monotonic time the approve response arrived)."""
    status, body = api.call("POST", "/api/v1/requests", args.engineer, service(args.prefix, i))
    if status != 201:
        sys.exit(f"submit {args.prefix}-{i:03d}: HTTP {status} {body}")
    rid = body["request"]["id"]
    plan_hash = body["plan"]["hash"]
    for _ in range(3):
        review = {"plan_hash": plan_hash}
        status, body = api.call("POST", f"/api/v1/requests/{rid}/approve", args.lead, review)
        approved_at = time.monotonic()
        if status == 200:
            return rid, approved_at
        # 409: the plan changed since it was read (another change landed on the same
        # objects): the answer carries the current plan; approve that one.
        if status != 409 or "plan" not in body:
            break
        plan_hash = body["plan"]["hash"]
    sys.exit(f"approve {rid}: HTTP {status} {body}")


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def parse_at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def append(results, row):
    with open(results, "a", encoding="utf-8") as out:
        out.write("\t".join(str(c) for c in row) + "\n")


def latency(args):
    api = Api(args.url)
    client_ms, server_s = [], []
    for i in range(args.count):
        rid, approved_at = submit_and_approve(api, args, i)
        seen = None
        deadline = approved_at + 60
        while seen is None:
            status, detail = api.call("GET", f"/api/v1/requests/{rid}", args.engineer)
            now = time.monotonic()
            if status != 200:
                sys.exit(f"GET request {rid}: HTTP {status} {detail}")
            if detail["request"]["status"] != "queued":
                seen = now
            elif now > deadline:
                sys.exit(f"request {rid} stayed queued for 60 s")
            else:
                time.sleep(0.005)
        client_ms.append((seen - approved_at) * 1000)
        # Idle queue for the next one: wait until this one is done.
        while True:
            status, detail = api.call("GET", f"/api/v1/requests/{rid}", args.engineer)
            state = detail["request"]["status"]
            if state == "applied":
                break
            if state == "failed" or time.monotonic() > deadline:
                sys.exit(f"request {rid} ended {state}: {detail.get('events')}")
            time.sleep(0.02)
        events = {e["action"]: e["at"] for e in detail["events"]}
        server_s.append(parse_at(events["request.claim"]) - parse_at(events["request.approve"]))
    row = [args.label, "latency", args.count,
           f"{percentile(client_ms, 50):.1f}", f"{percentile(client_ms, 99):.1f}",
           f"{percentile(server_s, 50):.0f}", f"{percentile(server_s, 99):.0f}", "", "", "", ""]
    append(args.results, row)
    print(f"{args.label}: approve -> apply start p50 {row[3]} ms, p99 {row[4]} ms "
          f"(audit events: p50 {row[5]} s, p99 {row[6]} s; n={args.count})")


def count(api, token, status):
    code, page = api.call("GET", f"/api/v1/requests?team=payments&status={status}&per_page=1", token)
    if code != 200:
        sys.exit(f"list requests: HTTP {code} {page}")
    return page["total"]


def cpu_seconds(pid):
    """User + system CPU time of process `pid` so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: utime and stime are fields 14 and 15 of stat(5).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds():
    """CPU time of every PostgreSQL process on this machine (server and backends)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm", encoding="utf-8") as comm:
                    if comm.read().strip() != "postgres":
                        continue
            except OSError:
                continue
            total += cpu_seconds(entry)
    return total


def throughput(args):
    api = Api(args.url)
    kube = Api(args.kube)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: submit_and_approve(Api(args.url), args, i)[0],
                            range(args.count)))
    queued_in = time.monotonic() - started
    kube.call("POST", "/_control/reset", body={})
    baseline = count(api, args.engineer, "applied")
    failed_before = count(api, args.engineer, "failed")
    # CPU time per job of each part, read while every process still runs (a backend's
    # time goes with it when its worker disconnects).
    others = {"pg": postgres_cpu_seconds, "api": lambda: cpu_seconds(args.kube_pid),
              "serve": lambda: cpu_seconds(args.serve_pid)}
    cpu_before = {name: read() for name, read in others.items()}
    started = time.monotonic()
    workers = [subprocess.Popen(shlex.split(cmd), stdin=subprocess.DEVNULL) for cmd in args.worker]
    try:
        deadline = started + 600
        while True:
            done = count(api, args.engineer, "applied") - baseline
            if done >= len(ids):
                break
            if count(api, args.engineer, "failed") > failed_before:
                sys.exit("a job failed")
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                sys.exit(f"only {done} of {len(ids)} applied (or a worker exited)")
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        cpu = {"worker": sum(cpu_seconds(w.pid) for w in workers)}
        cpu.update({name: read() - cpu_before[name] for name, read in others.items()})
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=15)
            except subprocess.TimeoutExpired:
                w.kill()
    _, writes = kube.call("GET", "/_control/writes")
    deployments = [w for w in writes if w["kind"] == "Deployment"]
    split = {}
    for w in deployments:
        split[w["token"]] = split.get(w["token"], 0) + 1
    span = max(w["end"] for w in writes) - min(w["start"] for w in writes)
    per_job = " ".join(f"{name} {seconds * 1000 / len(ids):.1f}" for name, seconds in cpu.items())
    row = [args.label, "throughput", len(ids), "", "", "", "",
           f"{len(ids) / elapsed:.1f}", f"{len(ids) / span:.1f}", per_job,
           " ".join(f"{k}={v}" for k, v in sorted(split.items()))]
    append(args.results, row)
    print(f"{args.label}: {len(ids)} jobs (queued in {queued_in:.1f} s) applied in {elapsed:.2f} s "
          f"= {row[7]} jobs/s from worker start, {row[8]} jobs/s first to last write; "
          f"CPU ms per job: {per_job}; split {row[10]}")


def table(args):
    header = ["run", "measure", "n", "p50 ms", "p99 ms", "audit p50 s", "audit p99 s",
              "jobs/s", "jobs/s (writes)", "CPU ms/job", "split"]
    with open(args.file, encoding="utf-8") as rows:
        data = [line.rstrip("\n").split("\t") for line in rows if line.strip()]
    widths = [max(len(r[i]) for r in [header] + data) for i in range(len(header))]
    for r in [header] + data:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("latency", "throughput"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True)
        p.add_argument("--engineer", required=True)
        p.add_argument("--lead", required=True)
        p.add_argument("--label", required=True)
        p.add_argument("--results", required=True)
        p.add_argument("--prefix", default=name[:3])
        p.add_argument("--count", type=int, default=40 if name == "latency" else 200)
        if name == "throughput":
            p.add_argument("--kube", required=True)
            p.add_argument("--worker", action="append", required=True)
            p.add_argument("--kube-pid", type=int, required=True)
            p.add_argument("--serve-pid", type=int, required=True)
    p = sub.add_parser("table")
    p.add_argument("file")
    args = parser.parse_args()
    {"latency": latency, "throughput": throughput, "table": table}[args.command](args)


if __name__ == "__main__":
    main()
