#!/usr/bin/env python3
"""Client side of bench/events.sh (Python 3 standard library only).

    events_client.py comments --url U --engineer T --lead T --label L [--count N] [--idle N]
    events_client.py worker   --url U --engineer T --lead T --label L --kube URL
                              [--count N] [--idle N]
    events_client.py table FILE

Both follow one request's live timeline (GET /api/v1/requests/{id}/events) on a stream
read by its own thread, which notes when each event arrives, while --idle other streams
stay open, ten on each of other requests (never read, and their requests never move).

`comments` posts N comments one at a time as the lead and measures, for each, from just
before the POST is sent to the arrival of its timeline entry: an upper bound on commit ->
client, since the commit happens inside that POST (same process as the stream).

`worker` submits, approves and follows N service requests one at a time while a worker
applies them to the test Kubernetes API server (testing/kube-api/server.py). The worker
commits "applying object k of M" right after its write of object k-1 returns, and
"waiting"/"ready" right after its last write: each such event is measured from the end
of that write, as the API server recorded it (same clock), to its arrival. An upper bound
again (it includes the worker's own commit), and with `stargate worker` the commit comes
from another process. Both append a row to --results (tab-separated), which `table`
prints.
"""

import argparse
import http.client
import json
import queue
import socket
import sys
import threading
import time
import urllib.parse

PATIENCE = 30


class Api:
    def __init__(self, url):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.conn = None

    def call(self, method, path, token=None, body=None):
        headers = {"accept": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=PATIENCE)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode(errors="replace")
        return response.status, payload


class Stream:
    """A live timeline read on its own thread: (arrival monotonic, arrival wall clock,
    event, data) tuples on `events`; None when the server ends it."""

    def __init__(self, url, token, rid):
        parsed = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=None)
        self.conn.request("GET", f"/api/v1/requests/{rid}/events?since=now",
                          headers={"authorization": f"Bearer {token}",
                                   "accept": "text/event-stream"})
        self.response = self.conn.getresponse()
        if self.response.status != 200:
            sys.exit(f"stream on {rid}: HTTP {self.response.status} {self.response.read()!r}")
        self.events = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        kind, data = "", []
        try:
            while True:
                line = self.response.readline()
                if not line:
                    break
                line = line.decode().rstrip("\r\n")
                if line == "":
                    if kind:
                        self.events.put((time.monotonic(), time.time(), kind, "\n".join(data)))
                    kind, data = "", []
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass  # closed by close(), or by the server
        self.events.put(None)

    def next(self):
        try:
            item = self.events.get(timeout=PATIENCE)
        except queue.Empty:
            sys.exit(f"no event within {PATIENCE} s")
        if item is None:
            sys.exit("the stream ended early")
        return item

    def close(self):
        self.conn.close()


def open_idle(api, args, n):
    """n streams, ten to a request of their own (pending review, so nothing moves),
    opened (200 checked) and never read again."""
    parsed = urllib.parse.urlsplit(args.url)
    rids = [submit(api, args, 900 + k)[0] for k in range((n + 9) // 10)]
    sockets = []
    for k in range(n):
        request = (f"GET /api/v1/requests/{rids[k // 10]}/events?since=now HTTP/1.1\r\n"
                   f"Host: {parsed.hostname}:{parsed.port}\r\n"
                   f"Authorization: Bearer {args.engineer}\r\n"
                   "Accept: text/event-stream\r\n\r\n").encode()
        sock = socket.create_connection((parsed.hostname, parsed.port), timeout=PATIENCE)
        sock.sendall(request)
        head = sock.recv(4096)
        if not head.startswith(b"HTTP/1.1 200"):
            sys.exit(f"idle stream refused: {head[:200]!r}")
        sockets.append(sock)
    return sockets


def service(prefix, i):
    return {
        "kind": "service", "team": "payments", "cluster": "kind", "reason": "events benchmark",
        "spec": {"name": f"{prefix}-{i:03d}", "image": "ghcr.io/acme/bench:1.0.0",
                 "port": 8080, "replicas": 1},
    }


def submit(api, args, i):
    """The new request's id and the hash of its plan (what an approval names)."""
    status, body = api.call("POST", "/api/v1/requests", args.engineer, service(args.prefix, i))
    if status != 201:
        sys.exit(f"submit {args.prefix}-{i:03d}: HTTP {status} {body}")
    return body["request"]["id"], body["plan"]["hash"]


def approve(api, args, rid, plan_hash):
    for _ in range(3):
        status, body = api.call("POST", f"/api/v1/requests/{rid}/approve", args.lead,
                                {"plan_hash": plan_hash})
        if status == 200:
            return
        # 409: the plan changed since it was read (the team's namespace landed): the
        # answer carries the current plan; approve that one.
        if status != 409 or "plan" not in body:
            break
        plan_hash = body["plan"]["hash"]
    sys.exit(f"approve {rid}: HTTP {status} {body}")


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def report(args, kind, samples, note=""):
    row = [args.label, kind, args.idle, len(samples), f"{percentile(samples, 50):.1f}",
           f"{percentile(samples, 99):.1f}", f"{max(samples):.1f}", note]
    with open(args.results, "a", encoding="utf-8") as out:
        out.write("\t".join(str(c) for c in row) + "\n")
    print(f"{args.label} ({kind}, {args.idle} idle streams): p50 {row[4]} ms, p99 {row[5]} ms, "
          f"max {row[6]} ms (n={len(samples)}) {note}")


def comments(args):
    api = Api(args.url)
    watched, _ = submit(api, args, 0)
    idle = open_idle(api, args, args.idle)
    stream = Stream(args.url, args.engineer, watched)
    stream.next()  # the status it starts with
    samples, posts = [], []
    for i in range(args.count):
        text = f"bench comment {i}"
        sent = time.monotonic()
        status, body = api.call("POST", f"/api/v1/requests/{watched}/comments", args.lead,
                                {"comment": text})
        answered = time.monotonic()
        if status != 200:
            sys.exit(f"comment: HTTP {status} {body}")
        while True:
            arrived, _, kind, data = stream.next()
            if kind == "timeline" and json.loads(data)["detail"].get("comment") == text:
                break
        samples.append((arrived - sent) * 1000)
        posts.append((answered - sent) * 1000)
        time.sleep(0.02)
    stream.close()
    for sock in idle:
        sock.close()
    report(args, "comment via API", samples,
           f"POST itself p50 {percentile(posts, 50):.1f}, p99 {percentile(posts, 99):.1f}")


def worker(args):
    api = Api(args.url)
    kube = Api(args.kube)
    idle = open_idle(api, args, args.idle)
    samples = []
    for i in range(args.count):
        rid, plan_hash = submit(api, args, i)
        kube.call("POST", "/_control/reset", body={})
        stream = Stream(args.url, args.engineer, rid)
        stream.next()  # pending_review
        approve(api, args, rid, plan_hash)
        progress = []
        while True:
            _, wall, kind, data = stream.next()
            if kind == "status" and data in ("applied", "failed"):
                if data == "failed":
                    sys.exit(f"request {rid} failed")
                break
            if kind == "timeline":
                event = json.loads(data)
                if event["action"] == "apply.progress":
                    progress.append((wall, event["detail"]))
        stream.close()
        _, writes = kube.call("GET", "/_control/writes")
        ends = [w["end"] for w in sorted(writes, key=lambda w: w["seq"])]
        for wall, detail in progress:
            step = detail.get("step")
            if step == "apply" and detail.get("object", 1) >= 2:
                samples.append((wall - ends[detail["object"] - 2]) * 1000)
            elif step in ("wait", "ready"):
                samples.append((wall - ends[-1]) * 1000)
                # Only the first one follows a write directly.
                break
    for sock in idle:
        sock.close()
    report(args, "worker progress", samples)


def table(args):
    header = ["run", "change", "idle streams", "n", "p50 ms", "p99 ms", "max ms", ""]
    rows = [header] + [line.rstrip("\n").split("\t") for line in open(args.file, encoding="utf-8")]
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    for k, r in enumerate(rows):
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("comments", "worker"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True)
        p.add_argument("--engineer", required=True)
        p.add_argument("--lead", required=True)
        p.add_argument("--label", required=True)
        p.add_argument("--results", required=True)
        p.add_argument("--count", type=int, default=100)
        p.add_argument("--idle", type=int, default=0)
        p.add_argument("--prefix", default="ev")
        if name == "worker":
            p.add_argument("--kube", required=True)
    p = sub.add_parser("table")
    p.add_argument("file")
    args = parser.parse_args()
    {"comments": comments, "worker": worker, "table": table}[args.command](args)


if __name__ == "__main__":
    main()
