#!/usr/bin/env python3
"""A fake-but-faithful Kubernetes API server for tests (Python 3.11, standard library only).

It speaks the HTTP protocol the Rust `kube` client uses: server-side apply
(`PATCH ...?fieldManager=m&force=true`, `Content-Type: application/apply-patch+yaml`),
GET, list and watch, with Kubernetes `Status` errors. It also takes the writes `kubectl`
makes behind an applier's back (JSON merge and strategic merge patches, PUT), recording
field ownership in `managedFields` as the real API server does for `operation: Update`. Every write is recorded (in memory and,
with `--record FILE`, as JSON lines). Faults are injectable by flags and at runtime through
`POST /_control`. See README.md next to this file.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import copy
import json
import re
import signal
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

# --------------------------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    plural: str
    group: str
    version: str
    kind: str
    namespaced: bool
    short_names: tuple = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified_kind(self) -> str:
        """`Deployment.apps`, as in Invalid messages."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def qualified_plural(self) -> str:
        """`deployments.apps`, as in NotFound/Conflict messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES = [
    Resource("namespaces", "", "v1", "Namespace", False, ("ns",)),
    Resource("services", "", "v1", "Service", True, ("svc",)),
    Resource("configmaps", "", "v1", "ConfigMap", True, ("cm",)),
    Resource("deployments", "apps", "v1", "Deployment", True, ("deploy",)),
    Resource("ingresses", "networking.k8s.io", "v1", "Ingress", True, ("ing",)),
    Resource("certificates", "cert-manager.io", "v1", "Certificate", True, ("cert", "certs")),
    Resource("externalsecrets", "external-secrets.io", "v1", "ExternalSecret", True, ("es",)),
]
BY_GV_PLURAL = {(r.group, r.version, r.plural): r for r in RESOURCES}
NAMESPACES = BY_GV_PLURAL[("", "v1", "namespaces")]
SEED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
DEFAULT_LB_HOSTNAME = "k8s-stargate-test.elb.example.com"
DEFAULT_WATCH_TIMEOUT = 1800.0
MAX_EVENTS = 100_000


@dataclass
class Route:
    res: Resource
    namespace: str | None  # None: cluster-scoped resource, or all namespaces
    name: str | None  # None: the collection
    sub: str | None = None  # subresource ("status")


def parse_api_path(path: str):
    """Classify an API path.

    Returns ("route", Route) | ("discovery", payload-key) | None (unknown path).
    """
    segs = [unquote(s) for s in path.strip("/").split("/")] if path.strip("/") else []
    if not segs:
        return None
    if segs[0] == "api":
        if len(segs) == 1:
            return ("discovery", ("api",))
        group, version, rest = "", segs[1], segs[2:]
    elif segs[0] == "apis":
        if len(segs) == 1:
            return ("discovery", ("apis",))
        if len(segs) == 2:
            return ("discovery", ("group", segs[1]))
        group, version, rest = segs[1], segs[2], segs[3:]
    else:
        return None
    if not any(r.group == group and r.version == version for r in RESOURCES):
        return None
    if not rest:
        return ("discovery", ("resources", group, version))
    if any(s == "" for s in rest):
        return None
    # /namespaces/{ns}/{plural}[/{name}[/{sub}]]: a namespaced resource.
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        res = BY_GV_PLURAL.get((group, version, rest[2]))
        if res is None or not res.namespaced or len(rest) > 5:
            return None
        return ("route", Route(res, rest[1], rest[3] if len(rest) > 3 else None,
                               rest[4] if len(rest) > 4 else None))
    # /{plural}[/{name}[/{sub}]]: cluster-scoped, or a namespaced resource across namespaces.
    res = BY_GV_PLURAL.get((group, version, rest[0]))
    if res is None or len(rest) > 3:
        return None
    if res.namespaced:
        if len(rest) != 1:
            return None
        return ("route", Route(res, None, None))
    return ("route", Route(res, None, rest[1] if len(rest) > 1 else None,
                           rest[2] if len(rest) > 2 else None))


# --------------------------------------------------------------------------------------------
# Errors as Kubernetes Status objects
# --------------------------------------------------------------------------------------------

REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
    413: "RequestEntityTooLarge", 415: "UnsupportedMediaType", 422: "Invalid",
    429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
}


def reason_for(code: int) -> str:
    return REASONS.get(code) or ("InternalError" if code >= 500 else "BadRequest")


class ApiError(Exception):
    def __init__(self, code: int, message: str, reason: str | None = None,
                 details: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or reason_for(code)
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict:
        return status_object(self.code, self.message, self.reason, self.details)


def status_object(code, message, reason=None, details=None) -> dict:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason or reason_for(code)}
    if details:
        body["details"] = details
    body["code"] = code
    return body


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(404, f'{res.qualified_plural} "{name}" not found', "NotFound",
                    {"name": name, "group": res.group, "kind": res.plural})


def go_repr(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class Causes:
    """Field errors, rendered like the API server's `field.ErrorList`."""

    def __init__(self):
        self.items: list[tuple[str, str, str]] = []  # (reason, field, message)

    def required(self, field, detail=""):
        self.items.append(("FieldValueRequired", field,
                           "Required value" + (f": {detail}" if detail else "")))

    def invalid(self, field, value, detail):
        self.items.append(("FieldValueInvalid", field, f"Invalid value: {go_repr(value)}: {detail}"))

    def forbidden(self, field, detail):
        self.items.append(("FieldValueForbidden", field, f"Forbidden: {detail}"))

    def unsupported(self, field, value, supported):
        vals = ", ".join(json.dumps(s) for s in supported)
        self.items.append(("FieldValueNotSupported", field,
                           f"Unsupported value: {go_repr(value)}: supported values: {vals}"))

    def error(self, res: Resource, name: str) -> ApiError | None:
        if not self.items:
            return None
        parts = [f"{field}: {msg}" for _, field, msg in self.items]
        text = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        return invalid_error(res, name, text, self.items)


def invalid_error(res: Resource, name: str, text: str, items, code: int = 422) -> ApiError:
    details = {"name": name, "group": res.group, "kind": res.kind}
    if items:
        details["causes"] = [{"reason": r, "message": m, "field": f} for r, f, m in items]
    return ApiError(code, f'{res.qualified_kind} "{name}" is invalid: {text}', reason_for(code),
                    details)


# Realistic default for `reject_names`: one field error per kind.
REJECT_DEFAULTS = {
    "Deployment": ("FieldValueRequired", "spec.template.spec.containers[0].image", "Required value"),
    "Service": ("FieldValueInvalid", "spec.ports[0].port",
                "Invalid value: 0: must be between 1 and 65535, inclusive"),
    "Ingress": ("FieldValueRequired", "spec.rules[0].http.paths[0].pathType",
                "Required value: pathType must be specified"),
    "Certificate": ("FieldValueRequired", "spec.secretName", "Required value"),
    "Namespace": ("FieldValueForbidden", "metadata.name",
                  "Forbidden: this namespace may not be created by the test server"),
    "ConfigMap": ("FieldValueInvalid", "data[bad key]",
                  'Invalid value: "bad key": a valid config key must consist of alphanumeric '
                  "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                  "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"),
}


def fault_error(code: int, res: Resource | None, namespace: str | None, name: str | None,
                message: str | None = None, source: str = "fail_writes") -> ApiError:
    """The error a faulty API server would answer with the given code."""
    name = name or ""
    kind_desc = f'{res.qualified_plural} "{name}"' if res else "the object"

    def subst(text: str) -> str:
        for key, val in (("{kind}", res.kind if res else ""), ("{name}", name),
                         ("{namespace}", namespace or ""),
                         ("{qualified_kind}", res.qualified_kind if res else ""),
                         ("{resource}", res.qualified_plural if res else "")):
            text = text.replace(key, val)
        return text

    if code == 422 and res is not None:
        if message:
            return ApiError(422, subst(message), "Invalid", {"name": name, "group": res.group, "kind": res.kind})
        reason, field, msg = REJECT_DEFAULTS[res.kind]
        return invalid_error(res, name, f"{field}: {msg}", [(reason, field, msg)])
    if message:
        return ApiError(code, subst(message), reason_for(code),
                        {"name": name, "group": res.group, "kind": res.plural} if res else None)
    headers = {}
    if code == 500:
        msg = f"Internal error occurred: injected fault ({source})"
        details = {"causes": [{"message": f"injected fault ({source})"}]}
    elif code == 503:
        msg = "the server is currently unable to handle the request"
        details = None
    elif code == 504:
        msg = ("the server was unable to return a response in the time allotted, "
               "but may still be processing the request")
        details = None
    elif code == 429:
        msg = "the server has received too many requests and has asked us to try again later"
        details = {"retryAfterSeconds": 1}
        headers = {"Retry-After": "1"}
    elif code == 409:
        msg = (f"Operation cannot be fulfilled on {kind_desc}: the object has been modified; "
               "please apply your changes to the latest version and try again")
        details = {"name": name, "group": res.group if res else "", "kind": res.plural if res else ""}
    elif code == 403:
        where = f' in the namespace "{namespace}"' if namespace else ""
        grp = res.group if res else ""
        msg = (f'{kind_desc} is forbidden: User "system:serviceaccount:stargate:stargate" cannot '
               f'patch resource "{res.plural if res else ""}" in API group "{grp}"{where}')
        details = {"name": name, "group": grp, "kind": res.plural if res else ""}
    elif code == 404 and res is not None:
        return not_found(res, name)
    elif code == 401:
        msg, details = "Unauthorized", None
    elif code == 400:
        msg, details = f"injected bad request ({source})", None
    else:
        msg, details = f"injected fault ({source}): HTTP {code}", None
    return ApiError(code, msg, reason_for(code), details, headers)


# --------------------------------------------------------------------------------------------
# Small helpers: paths in JSON objects, selectors, names
# --------------------------------------------------------------------------------------------

_MISSING = object()
SERVER_META = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
               "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")


def now_rfc3339(t: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


def leaf_paths(d: dict, prefix: tuple = ()) -> set:
    """Field paths of an object; maps recurse, lists and scalars are leaves (atomic)."""
    out = set()
    for k, v in d.items():
        p = prefix + (k,)
        if isinstance(v, dict) and v:
            out |= leaf_paths(v, p)
        else:
            out.add(p)
    return out


def get_path(d, p):
    for k in p:
        if not isinstance(d, dict) or k not in d:
            return _MISSING
        d = d[k]
    return d


def delete_path(d: dict, p: tuple):
    parents = []
    cur = d
    for k in p[:-1]:
        if not isinstance(cur, dict) or not isinstance(cur.get(k), dict):
            return
        parents.append((cur, k))
        cur = cur[k]
    cur.pop(p[-1], None)
    for parent, k in reversed(parents):
        if not parent[k]:
            del parent[k]
        else:
            break


def merge_into(dst: dict, src: dict):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge_into(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)


def fields_v1(paths) -> dict:
    tree: dict = {}
    for p in sorted(paths):
        node = tree
        for k in p:
            node = node.setdefault(f"f:{k}", {})
    return tree


def intent_of(body: dict) -> dict:
    """What a manager expresses in an apply: the body without identity and server fields."""
    out = {k: copy.deepcopy(v) for k, v in body.items() if k not in ("apiVersion", "kind", "status")}
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for k in SERVER_META + ("name", "namespace"):
            meta.pop(k, None)
        if not meta:
            del out["metadata"]
    elif "metadata" in out:
        del out["metadata"]
    return out


META_ORDER = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation",
              "creationTimestamp", "labels", "annotations")


def ordered(obj: dict) -> dict:
    """Keys in the order the API server writes them (cosmetic, for humans reading records)."""
    meta = obj.get("metadata") or {}
    meta = {k: meta[k] for k in META_ORDER if k in meta} | meta
    if "managedFields" in meta:
        meta["managedFields"] = meta.pop("managedFields")
    head = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": meta}
    rest = {k: v for k, v in obj.items() if k not in head and k != "status"}
    tail = {"status": obj["status"]} if "status" in obj else {}
    return head | rest | tail


def merge_patch(target, patch, strategic: bool = False):
    """JSON merge patch (RFC 7386): maps merge recursively, null deletes, anything else
    replaces. With `strategic`, a simplified strategic merge patch: a non-empty list of maps
    that all have a string `name` (containers, env, volumes, ports…) merges by `name` into a
    current list that is also keyed by `name`, keeping the current order and appending new
    entries; an entry `{"name": n, "$patch": "delete"}` removes entry n. Every other list
    (and an empty one) replaces the current list, as in a merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif strategic and named_maps(v) and v and named_maps(out.get(k)):
            out[k] = merge_named_list(out[k], v)
        else:
            out[k] = merge_patch(out.get(k), v, strategic)
    return out


def named_maps(value) -> bool:
    return isinstance(value, list) and all(isinstance(x, dict) and isinstance(x.get("name"), str)
                                           for x in value)


def merge_named_list(current: list, patch: list) -> list:
    out = [copy.deepcopy(x) for x in current]
    for item in patch:
        at = next((i for i, x in enumerate(out) if x["name"] == item["name"]), None)
        if item.get("$patch") == "delete":
            if at is not None:
                del out[at]
            continue
        item = {k: v for k, v in item.items() if k != "$patch"}
        if at is None:
            out.append(merge_patch({}, item, True))
        else:
            out[at] = merge_patch(out[at], item, True)
    return out


def without_volatile(obj: dict) -> dict:
    o = copy.deepcopy(obj)
    meta = o.get("metadata", {})
    meta.pop("resourceVersion", None)
    meta.pop("managedFields", None)
    return o


_LS_SET = re.compile(r"([^\s!=(),]+)\s+(in|notin)\s*\(([^)]*)\)\s*")
_LS_NOT = re.compile(r"!\s*([^\s!=(),]+)\s*")
_LS_OP = re.compile(r"([^\s!=(),]+)\s*(==|!=|=)\s*([^\s!=(),]*)\s*")
_LS_KEY = re.compile(r"([^\s!=(),]+)\s*")


def split_top(s: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(s: str | None) -> list:
    reqs = []
    for part in split_top(s or ""):
        if m := _LS_SET.fullmatch(part):
            vals = {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append((m.group(1), m.group(2), vals))
        elif m := _LS_NOT.fullmatch(part):
            reqs.append((m.group(1), "!", None))
        elif m := _LS_OP.fullmatch(part):
            op = "=" if m.group(2) in ("=", "==") else "!="
            reqs.append((m.group(1), op, m.group(3)))
        elif m := _LS_KEY.fullmatch(part):
            reqs.append((m.group(1), "exists", None))
        else:
            raise ApiError(400, f"unable to parse requirement: {part!r}: invalid label selector")
    return reqs


def labels_match(labels: dict, reqs: list) -> bool:
    for key, op, val in reqs:
        has = key in labels
        cur = labels.get(key)
        if op == "=" and cur != val:
            return False
        if op == "!=" and has and cur == val:
            return False
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
        if op == "in" and (not has or cur not in val):
            return False
        if op == "notin" and has and cur in val:
            return False
    return True


def parse_field_selector(s: str | None) -> list:
    reqs = []
    for part in split_top(s or ""):
        m = re.fullmatch(r"([^\s!=]+)\s*(==|!=|=)\s*(.*)", part)
        if not m:
            raise ApiError(400, f"invalid selector: '{part}'; can't understand '{part}'")
        key, op, val = m.group(1), m.group(2), m.group(3).strip()
        if key not in ("metadata.name", "metadata.namespace"):
            raise ApiError(400, f'field label not supported: {key}')
        reqs.append((key, "!=" if op == "!=" else "=", val))
    return reqs


def fields_match(obj: dict, reqs: list) -> bool:
    meta = obj.get("metadata", {})
    for key, op, val in reqs:
        cur = meta.get("name" if key == "metadata.name" else "namespace", "")
        if (op == "=") != (cur == val):
            return False
    return True


RFC1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
RFC1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")

MSG_SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
MSG_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
MSG_DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
               "start with an alphabetic character, and end with an alphanumeric character "
               "(e.g. 'my-name',  or 'abc-123', regex used for validation is "
               "'[a-z]([-a-z0-9]*[a-z0-9])?')")
MSG_LABEL_VALUE = ("a valid label must be an empty string or consist of alphanumeric characters, "
                   "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
                   "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                   "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
MSG_NAME_PART = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                 "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  "
                 "or '123-abc', regex used for validation is "
                 "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")


def name_problem(res: Resource, name: str) -> str | None:
    if res.kind == "Namespace":
        ok = len(name) <= 63 and RFC1123_LABEL.fullmatch(name)
        return None if ok else (MSG_LABEL if len(name) <= 63 else "must be no more than 63 characters")
    if res.kind == "Service":
        ok = len(name) <= 63 and DNS1035_LABEL.fullmatch(name)
        return None if ok else (MSG_DNS1035 if len(name) <= 63 else "must be no more than 63 characters")
    ok = len(name) <= 253 and RFC1123_SUBDOMAIN.fullmatch(name)
    return None if ok else (MSG_SUBDOMAIN if len(name) <= 253 else "must be no more than 253 characters")


def check_labels(labels, field: str, causes: Causes):
    if labels is None:
        return
    if not isinstance(labels, dict):
        causes.invalid(field, labels, "must be a map of string keys to string values")
        return
    for key, val in labels.items():
        prefix, slash, part = key.rpartition("/")
        if slash and (not prefix or len(prefix) > 253 or not RFC1123_SUBDOMAIN.fullmatch(prefix)):
            causes.invalid(field, key, "prefix part " + MSG_SUBDOMAIN)
        if not part:
            causes.invalid(field, key, "name part must be non-empty")
        elif len(part) > 63:
            causes.invalid(field, key, "name part must be no more than 63 characters")
        elif not QUALIFIED_NAME.fullmatch(part):
            causes.invalid(field, key, MSG_NAME_PART)
        if not isinstance(val, str):
            causes.invalid(field, val, "label values must be strings")
        elif len(val) > 63:
            causes.invalid(field, val, "must be no more than 63 characters")
        elif not LABEL_VALUE.fullmatch(val):
            causes.invalid(field, val, MSG_LABEL_VALUE)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def validate(res: Resource, obj: dict, current: dict | None, causes: Causes):
    """A few of the API server's real validations (the ones a renderer gets wrong)."""
    meta = obj.get("metadata", {})
    check_labels(meta.get("labels"), "metadata.labels", causes)
    spec = obj.get("spec")
    if spec is not None and not isinstance(spec, dict):
        causes.invalid("spec", spec, "must be an object")
        return
    spec = spec or {}
    if res.kind == "Deployment":
        replicas = spec.get("replicas")
        if replicas is not None and (not is_int(replicas) or replicas < 0):
            causes.invalid("spec.replicas", replicas, "must be greater than or equal to 0")
        selector = spec.get("selector")
        tmpl = spec.get("template") if isinstance(spec.get("template"), dict) else {}
        tmpl_labels = (tmpl.get("metadata") or {}).get("labels") or {}
        check_labels(tmpl_labels, "spec.template.metadata.labels", causes)
        if selector is None:
            causes.required("spec.selector")
        elif not isinstance(selector, dict) or not (selector.get("matchLabels") or
                                                    selector.get("matchExpressions")):
            causes.invalid("spec.selector", selector, "empty selector is invalid for deployment")
        else:
            ml = selector.get("matchLabels") or {}
            if isinstance(ml, dict) and isinstance(tmpl_labels, dict) and any(
                    tmpl_labels.get(k) != v for k, v in ml.items()):
                causes.invalid("spec.template.metadata.labels", tmpl_labels,
                               "`selector` does not match template `labels`")
            if current is not None:
                old = (current.get("spec") or {}).get("selector")
                if old is not None and old != selector:
                    causes.invalid("spec.selector", selector, "field is immutable")
        containers = ((tmpl.get("spec") or {}) if isinstance(tmpl.get("spec"), dict) else {}).get("containers")
        if not isinstance(containers, list) or not containers:
            causes.required("spec.template.spec.containers")
        else:
            for i, c in enumerate(containers):
                c = c if isinstance(c, dict) else {}
                if not c.get("name"):
                    causes.required(f"spec.template.spec.containers[{i}].name")
                if not c.get("image"):
                    causes.required(f"spec.template.spec.containers[{i}].image")
    elif res.kind == "Service":
        stype = spec.get("type", "ClusterIP")
        if stype not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
            causes.unsupported("spec.type", stype, ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"])
        ports = spec.get("ports")
        if stype != "ExternalName" and spec.get("clusterIP") != "None" and not ports:
            causes.required("spec.ports")
        for i, p in enumerate(ports if isinstance(ports, list) else []):
            p = p if isinstance(p, dict) else {}
            port = p.get("port")
            if not is_int(port) or not 1 <= port <= 65535:
                causes.invalid(f"spec.ports[{i}].port", port if port is not None else 0,
                               "must be between 1 and 65535, inclusive")
            if len(ports) > 1 and not p.get("name"):
                causes.required(f"spec.ports[{i}].name")
            np = p.get("nodePort")
            if np is not None and stype == "ClusterIP":
                causes.forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'")
            elif np is not None and (not is_int(np) or not 30000 <= np <= 32767):
                causes.invalid(f"spec.ports[{i}].nodePort", np,
                               "provided port is not in the valid range. The range of valid ports is 30000-32767")
    elif res.kind == "Ingress":
        rules = spec.get("rules")
        if not rules and not spec.get("defaultBackend"):
            causes.invalid("spec", spec, "either `defaultBackend` or `rules` must be specified")
        for i, rule in enumerate(rules if isinstance(rules, list) else []):
            rule = rule if isinstance(rule, dict) else {}
            host = rule.get("host")
            if host is not None and not RFC1123_SUBDOMAIN.fullmatch(host.removeprefix("*.") if isinstance(host, str) else ""):
                causes.invalid(f"spec.rules[{i}].host", host, MSG_SUBDOMAIN)
            paths = ((rule.get("http") or {}).get("paths")) if isinstance(rule.get("http"), dict) else None
            if rule.get("http") is not None and not paths:
                causes.required(f"spec.rules[{i}].http.paths")
            for j, path in enumerate(paths if isinstance(paths, list) else []):
                path = path if isinstance(path, dict) else {}
                f = f"spec.rules[{i}].http.paths[{j}]"
                if not path.get("pathType"):
                    causes.required(f"{f}.pathType", "pathType must be specified")
                svc = (path.get("backend") or {}).get("service") if isinstance(path.get("backend"), dict) else None
                if not isinstance(svc, dict) or not svc.get("name"):
                    causes.invalid(f"{f}.backend", "", "resource or service backend is required")
    elif res.kind == "ConfigMap":
        data = obj.get("data")
        if data is not None and not isinstance(data, dict):
            causes.invalid("data", data, "must be a map of string keys to string values")
        for key, val in (data if isinstance(data, dict) else {}).items():
            if len(key) > 253 or not CONFIG_KEY.fullmatch(key):
                causes.invalid(f"data[{key}]", key,
                               "a valid config key must consist of alphanumeric characters, '-', "
                               "'_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex "
                               "used for validation is '[-._a-zA-Z0-9]+')")
            if not isinstance(val, str):
                causes.invalid(f"data[{key}]", val, "must be a string")
    elif res.kind == "Certificate":
        if not spec.get("secretName"):
            causes.required("spec.secretName")
        issuer = spec.get("issuerRef")
        if not isinstance(issuer, dict) or not issuer.get("name"):
            causes.required("spec.issuerRef.name")


# --------------------------------------------------------------------------------------------
# Runtime configuration (faults)
# --------------------------------------------------------------------------------------------

CONFIG_TYPES = {
    "fail_writes": int, "fail_status": int,
    "hang_writes": int, "hang_ms": int, "hang_apply": bool,
    "reject_names": list, "reject_status": int, "reject_message": (str, type(None)),
    "never_ready_names": list, "rollout_ms": int,
    "require_token": bool, "record_reads": bool, "validate": bool, "require_namespace": bool,
    "lb_hostname": str,
}


def name_in(names, kind: str, name: str) -> bool:
    return name in names or f"{kind}/{name}" in names


class Config:
    def __init__(self, values: dict):
        self.lock = threading.Lock()
        self.values = dict(values)
        self.initial = dict(values)

    def snapshot(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.values)

    def __getitem__(self, key):
        with self.lock:
            return self.values[key]

    def update(self, changes: dict) -> dict:
        if not isinstance(changes, dict):
            raise ApiError(400, "control body must be a JSON object")
        for key, val in changes.items():
            if key not in CONFIG_TYPES:
                raise ApiError(400, f"unknown control setting {key!r}; known: {sorted(CONFIG_TYPES)}")
            want = CONFIG_TYPES[key]
            if want is int and (not isinstance(val, int) or isinstance(val, bool) or val < 0):
                raise ApiError(400, f"{key} must be a non-negative integer")
            if want is bool and not isinstance(val, bool):
                raise ApiError(400, f"{key} must be true or false")
            if want is list and (not isinstance(val, list) or not all(isinstance(v, str) for v in val)):
                raise ApiError(400, f"{key} must be a list of strings")
            if want not in (int, bool, list) and not isinstance(val, want):
                raise ApiError(400, f"{key} has the wrong type")
            if key in ("fail_status", "reject_status") and not 400 <= val <= 599:
                raise ApiError(400, f"{key} must be an HTTP error status (400-599)")
        with self.lock:
            self.values.update(copy.deepcopy(changes))
            return copy.deepcopy(self.values)

    def restore(self):
        with self.lock:
            self.values = dict(copy.deepcopy(self.initial))

    def take_hang(self):
        with self.lock:
            if self.values["hang_writes"] > 0:
                self.values["hang_writes"] -= 1
                return self.values["hang_ms"], self.values["hang_apply"]
            return None

    def take_fail(self):
        with self.lock:
            if self.values["fail_writes"] > 0:
                self.values["fail_writes"] -= 1
                return self.values["fail_status"]
            return None


# --------------------------------------------------------------------------------------------
# Recorder
# --------------------------------------------------------------------------------------------


class Recorder:
    """The records of requests, in the order their responses were sent.

    A request reserves its `seq` just before it sends its response (`responding`) and is
    recorded right after (`add`, which needs `end` and `client_gone`). Records keep the order
    of the reservations, in memory and in the file, so a client that makes one request after
    another sees their records in that order; and `list` waits for the records of responses
    already sent, so a client asking for the records right after a response sees its record."""

    def __init__(self, path: str | None):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.unrecorded = 0  # responses (being) sent whose record is not added yet
        self.epoch = 0  # +1 on reset: a reservation from before a reset is void
        self.seq = 0
        self.writes: list[dict] = []
        self.reads: list[dict] = []
        self.file_next = 1  # the next seq to write to the file
        self.file_pending: dict = {}  # seq -> record (None: nothing to write) waiting for earlier seqs
        self.fh = open(path, "a", encoding="utf-8") if path else None

    def responding(self) -> tuple:
        """A recorded request is about to send its response: reserve its seq."""
        with self.lock:
            self.unrecorded += 1
            self.seq += 1
            return (self.epoch, self.seq)

    def add(self, rec: dict, write: bool, ticket: tuple | None = None):
        with self.lock:
            if ticket is not None:
                self.unrecorded -= 1
                self.cond.notify_all()
            if ticket is not None and ticket[0] == self.epoch:
                seq = ticket[1]
            else:
                self.seq += 1
                seq = self.seq
            rec = {"seq": seq, **rec}
            records = self.writes if write else self.reads
            i = len(records)
            while i > 0 and records[i - 1]["seq"] > seq:
                i -= 1
            records.insert(i, rec)
            self._file_locked(seq, rec)

    def add_nothing(self, ticket: tuple):
        """A reserved response is not recorded after all (record_reads was turned off)."""
        with self.lock:
            self.unrecorded -= 1
            self.cond.notify_all()
            if ticket[0] == self.epoch:
                self._file_locked(ticket[1], None)

    def _file_locked(self, seq: int, rec: dict | None):
        self.file_pending[seq] = rec
        wrote = False
        while self.file_next in self.file_pending:
            line = self.file_pending.pop(self.file_next)
            self.file_next += 1
            if line is not None and self.fh:
                self.fh.write(json.dumps(line, separators=(",", ":")) + "\n")
                wrote = True
        if wrote:
            self.fh.flush()

    def list(self, write: bool, since: int = 0) -> list[dict]:
        with self.lock:
            self.cond.wait_for(lambda: self.unrecorded <= 0, timeout=2.0)
            return [r for r in (self.writes if write else self.reads) if r["seq"] > since]

    def reset(self):
        with self.lock:
            self.epoch += 1
            self.seq = 0
            self.file_next = 1
            self.file_pending.clear()
            self.writes.clear()
            self.reads.clear()
            if self.fh:
                self.fh.seek(0)
                self.fh.truncate()
                self.fh.flush()


# --------------------------------------------------------------------------------------------
# The object store ("etcd" plus the controllers that set status)
# --------------------------------------------------------------------------------------------


class Entry:
    __slots__ = ("res", "obj", "owners", "managers", "due")

    def __init__(self, res, obj, owners, managers, due):
        self.res = res
        self.obj = obj  # never mutated in place once stored: replaced on every change
        # (manager, operation) -> set of field paths. Like the real API server, a manager's
        # Apply and Update entries are separate managedFields entries.
        self.owners = owners
        self.managers = managers  # (manager, operation) -> {"time"}
        self.due = due  # epoch seconds at which the "controller" marks it ready, or None


@dataclass
class Event:
    rv: int
    type: str
    res: Resource
    obj: dict
    prev: dict | None


class Store:
    def __init__(self, config: Config):
        self.config = config
        self.cond = threading.Condition()
        self.objects: dict[tuple, Entry] = {}
        self.pending: set[tuple] = set()  # keys of objects with a due readiness
        self.deleting: dict[tuple, float] = {}  # keys in foreground deletion -> when they go
        self.events: list[Event] = []
        self.event_rvs: list[int] = []
        self.rv = 0
        self.floor = 0  # watches from a resourceVersion below this get 410 Expired
        self.epoch = 0  # bumped by reset; open watches end
        self.stopping = False
        self.ip_counter = 0
        with self.cond:
            self._reset_locked()
        self.thread = threading.Thread(target=self._controller, name="controller", daemon=True)
        self.thread.start()

    # ---- lifecycle
    def reset(self):
        with self.cond:
            self._reset_locked()
            self.cond.notify_all()

    def _reset_locked(self):
        self.objects.clear()
        self.pending.clear()
        self.events.clear()
        self.event_rvs.clear()
        self.epoch += 1
        now = time.time()
        for ns in SEED_NAMESPACES:
            self.rv += 1
            obj = {"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": ns, "uid": str(uuid.uuid4()),
                                "resourceVersion": str(self.rv), "generation": 1,
                                "creationTimestamp": now_rfc3339(now),
                                "labels": {"kubernetes.io/metadata.name": ns}},
                   "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
            self.objects[("namespaces", "", ns)] = Entry(NAMESPACES, obj, {}, {}, None)
        self.floor = self.rv

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    def wake(self):
        with self.cond:
            self.cond.notify_all()

    # ---- the "controllers": readiness after rollout_ms
    def _controller(self):
        with self.cond:
            while not self.stopping:
                self._run_due_locked()
                nxt = self._next_due_locked()
                wait = 1.0 if nxt is None else max(0.0, min(1.0, nxt - time.time()))
                self.cond.wait(wait if wait > 0 else 0.001)

    def _next_due_locked(self):
        never = self.config["never_ready_names"]
        dues = [e.due for e in (self.objects[k] for k in self.pending)
                if e.due is not None and not name_in(never, e.res.kind, e.obj["metadata"]["name"])]
        dues += list(self.deleting.values())
        return min(dues) if dues else None

    def _run_due_locked(self):
        now = time.time()
        never = self.config["never_ready_names"]
        changed = False
        for key in sorted(self.pending):
            e = self.objects[key]
            if e.due is None or e.due > now or name_in(never, e.res.kind, e.obj["metadata"]["name"]):
                continue
            obj = copy.deepcopy(e.obj)
            obj["status"] = self._ready_status(e.res, obj, obj.get("status"))
            self._commit_locked(key, e, obj, "MODIFIED")
            e.due = None
            self.pending.discard(key)
            changed = True
        # Foreground deletion: the object goes once its dependents (pods) would be gone.
        for key in sorted(k for k, due in self.deleting.items() if due <= now):
            del self.deleting[key]
            if key in self.objects:
                self._remove_locked([key])
                changed = True
        if changed:
            self.cond.notify_all()

    def _commit_locked(self, key, entry: Entry, obj: dict, etype: str):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        obj = ordered(obj)
        prev = entry.obj if etype != "ADDED" else None
        entry.obj = obj
        self.objects[key] = entry
        self._event_locked(Event(self.rv, etype, entry.res, obj, prev))

    def _event_locked(self, ev: Event):
        self.events.append(ev)
        self.event_rvs.append(ev.rv)
        if len(self.events) > MAX_EVENTS:
            cut = len(self.events) // 2
            self.floor = self.event_rvs[cut - 1]
            del self.events[:cut]
            del self.event_rvs[:cut]

    # ---- status the controllers would set
    def _needs_rollout(self, res: Resource, obj: dict) -> bool:
        if res.kind in ("Deployment", "Certificate", "Ingress"):
            return True
        return res.kind == "Service" and (obj.get("spec") or {}).get("type") == "LoadBalancer"

    def _pending_status(self, res: Resource, obj: dict, prev: dict | None) -> dict:
        meta, spec = obj["metadata"], obj.get("spec") or {}
        t = now_rfc3339()
        if res.kind == "Deployment":
            n = spec.get("replicas", 1)
            return {"observedGeneration": meta["generation"], "replicas": n, "updatedReplicas": 0,
                    "readyReplicas": 0, "availableReplicas": 0, "unavailableReplicas": n,
                    "conditions": [
                        {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                         "message": "Deployment does not have minimum availability.",
                         "lastUpdateTime": t, "lastTransitionTime": t},
                        {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                         "message": f'ReplicaSet "{meta["name"]}-5d8f7c9b6" is progressing.',
                         "lastUpdateTime": t, "lastTransitionTime": t}]}
        if res.kind == "Certificate":
            return {"conditions": [
                {"type": "Ready", "status": "False", "reason": "DoesNotExist",
                 "message": "Issuing certificate as Secret does not exist",
                 "observedGeneration": meta["generation"], "lastTransitionTime": t},
                {"type": "Issuing", "status": "True", "reason": "DoesNotExist",
                 "message": "Issuing certificate as Secret does not exist",
                 "observedGeneration": meta["generation"], "lastTransitionTime": t}]}
        if res.kind in ("Ingress", "Service"):
            return {"loadBalancer": {}}
        return self._static_status(res, obj)

    def _ready_status(self, res: Resource, obj: dict, prev: dict | None) -> dict:
        meta, spec = obj["metadata"], obj.get("spec") or {}
        t = now_rfc3339()
        if res.kind == "Deployment":
            n = spec.get("replicas", 1)
            return {"observedGeneration": meta["generation"], "replicas": n, "updatedReplicas": n,
                    "readyReplicas": n, "availableReplicas": n,
                    "conditions": [
                        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                         "message": "Deployment has minimum availability.",
                         "lastUpdateTime": t, "lastTransitionTime": t},
                        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                         "message": f'ReplicaSet "{meta["name"]}-5d8f7c9b6" has successfully progressed.',
                         "lastUpdateTime": t, "lastTransitionTime": t}]}
        if res.kind == "Certificate":
            now = time.time()
            return {"conditions": [
                        {"type": "Ready", "status": "True", "reason": "Ready",
                         "message": "Certificate is up to date and has not expired",
                         "observedGeneration": meta["generation"], "lastTransitionTime": t}],
                    "notBefore": now_rfc3339(now), "notAfter": now_rfc3339(now + 90 * 86400),
                    "renewalTime": now_rfc3339(now + 60 * 86400), "revision": 1}
        if res.kind in ("Ingress", "Service"):
            return {"loadBalancer": {"ingress": [{"hostname": self.config["lb_hostname"]}]}}
        return self._static_status(res, obj)

    def _static_status(self, res: Resource, obj: dict) -> dict:
        if res.kind == "Namespace":
            return {"phase": "Active"}
        if res.kind == "Service":
            return {"loadBalancer": {}}
        return {}

    # ---- server-side defaults
    def _default_locked(self, res: Resource, obj: dict, current: dict | None, causes: Causes):
        spec = obj.get("spec")
        if res.kind == "Namespace":
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        elif res.kind == "Deployment" and isinstance(spec, dict):
            spec.setdefault("replicas", 1)
        elif res.kind == "Service" and isinstance(spec, dict):
            stype = spec.setdefault("type", "ClusterIP")
            prev_spec = (current or {}).get("spec") or {}
            if stype != "ExternalName":
                if not spec.get("clusterIP"):
                    self.ip_counter += 1
                    spec["clusterIP"] = f"10.96.{self.ip_counter // 250}.{self.ip_counter % 250 + 2}"
                spec["clusterIPs"] = [spec["clusterIP"]]
                spec.setdefault("ipFamilies", ["IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
                spec.setdefault("sessionAffinity", "None")
                spec.setdefault("internalTrafficPolicy", "Cluster")
            node_ports = stype in ("NodePort", "LoadBalancer")
            if node_ports:
                spec.setdefault("externalTrafficPolicy", "Cluster")
            else:
                spec.pop("externalTrafficPolicy", None)
            prev_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                          for p in prev_spec.get("ports") or [] if isinstance(p, dict)}
            used = self._used_node_ports_locked(exclude=obj["metadata"])
            ports = spec.get("ports")
            for i, p in enumerate(ports if isinstance(ports, list) else []):
                if not isinstance(p, dict):
                    continue
                p.setdefault("protocol", "TCP")
                if "port" in p:
                    p.setdefault("targetPort", p["port"])
                if not node_ports:
                    continue
                if p.get("nodePort") is None:
                    np = prev_ports.get((p.get("port"), p["protocol"]))
                    if np is None or np in used:
                        np = next(n for n in range(30000, 32768) if n not in used)
                    p["nodePort"] = np
                elif p["nodePort"] in used:
                    causes.invalid(f"spec.ports[{i}].nodePort", p["nodePort"], "provided port is already allocated")
                used.add(p["nodePort"])

    def _used_node_ports_locked(self, exclude: dict) -> set:
        used = set()
        for (plural, ns, name), e in self.objects.items():
            if plural != "services" or (ns == exclude.get("namespace") and name == exclude["name"]):
                continue
            for p in (e.obj.get("spec") or {}).get("ports") or []:
                if isinstance(p, dict) and p.get("nodePort"):
                    used.add(p["nodePort"])
        return used

    # ---- writes
    def apply(self, route: Route, manager: str, force: bool, body: dict, dry_run: bool):
        """Server-side apply. Returns (code, object)."""
        return self.write(route, manager, body, dry_run, "apply", force=force)

    def write(self, route: Route, manager: str, body: dict, dry_run: bool, mode: str, force: bool = False):
        """One write. Returns (code, object).

        mode: "apply" (server-side apply), "create" (POST), "replace" (PUT), "merge" (JSON merge
        patch, RFC 7386) or "strategic" (strategic merge patch, simplified: see merge_patch).
        Every mode but "apply" is an `operation: Update` for the field manager: it never
        conflicts, and it takes the fields whose values it changes (see _update_owners)."""
        res, ns, name = route.res, route.namespace, route.name
        cfg = self.config.snapshot()
        with self.cond:
            self._run_due_locked()
            now = time.time()
            key = (res.plural, ns or "", name)
            entry = self.objects.get(key)
            if res.namespaced and cfg["require_namespace"] and ("namespaces", "", ns) not in self.objects:
                raise not_found(NAMESPACES, ns)
            if mode == "create" and entry is not None:
                raise ApiError(409, f'{res.qualified_plural} "{name}" already exists', "AlreadyExists",
                               {"name": name, "group": res.group, "kind": res.plural})
            if mode in ("replace", "merge", "strategic") and entry is None:
                raise not_found(res, name)
            want_rv = (body.get("metadata") or {}).get("resourceVersion") \
                if isinstance(body.get("metadata"), dict) else None
            if want_rv and entry is not None and want_rv != entry.obj["metadata"]["resourceVersion"]:
                raise fault_error(409, res, ns, name)
            current = entry.obj if entry else None
            owners = {m: set(s) for m, s in entry.owners.items()} if entry else {}
            managers = copy.deepcopy(entry.managers) if entry else {}
            operation = "Apply" if mode == "apply" else "Update"
            me = (manager, operation)
            if mode == "apply":
                intent = intent_of(body)
                paths = leaf_paths(intent)
                if current is not None:
                    conflicts = [(m[0], p) for p in sorted(paths) for m, owned in owners.items()
                                 if m != me and p in owned and get_path(current, p) != get_path(intent, p)]
                    if conflicts and not force:
                        raise self._conflict_error(res, name, conflicts)
                    new = copy.deepcopy(current)
                    for p in owners.get(me, set()) - paths:
                        if not any(p in o for m, o in owners.items() if m != me):
                            delete_path(new, p)
                    for m, owned in owners.items():
                        if m != me:
                            owned.difference_update(p for p in paths if get_path(current, p) != get_path(intent, p))
                else:
                    new = {}
                merge_into(new, intent)
                owners[me] = paths
            elif mode in ("create", "replace"):
                new = intent_of(body)
                if current is not None:
                    # The main resource ignores status; the server keeps what it allocated.
                    if "status" in current:
                        new["status"] = copy.deepcopy(current["status"])
                    self._keep_allocated(res, current, new)
            else:
                patched = merge_patch(current, body, strategic=mode == "strategic")
                if not isinstance(patched, dict):
                    raise ApiError(400, "the patch did not result in an object", "BadRequest")
                pmeta = patched.get("metadata") if isinstance(patched.get("metadata"), dict) else {}
                if patched.get("apiVersion") != res.api_version or patched.get("kind") != res.kind:
                    raise ApiError(400, f"the patch changes the apiVersion or kind of the object (to "
                                        f"{patched.get('apiVersion')}, {patched.get('kind')})", "BadRequest")
                if pmeta.get("name") != name or (res.namespaced and pmeta.get("namespace") not in (None, "", ns)):
                    raise ApiError(400, f"the name of the object ({pmeta.get('name')}) does not match the "
                                        f"name on the URL ({name})", "BadRequest")
                new = intent_of(patched)
                if "status" in current:
                    new["status"] = copy.deepcopy(current["status"])
                self._keep_allocated(res, current, new)
            new = {"apiVersion": res.api_version, "kind": res.kind,
                   **{k: v for k, v in new.items() if k not in ("apiVersion", "kind")}}
            meta = new.setdefault("metadata", {})
            meta["name"] = name
            if res.namespaced:
                meta["namespace"] = ns
            else:
                meta.pop("namespace", None)
            causes = Causes()
            problem = name_problem(res, name)
            if problem:
                causes.invalid("metadata.name", name, problem)
            if cfg["validate"]:
                validate(res, new, current, causes)
            if not causes.items:
                self._default_locked(res, new, current, causes)
            err = causes.error(res, name)
            if err:
                raise err
            if mode != "apply":
                self._update_owners(owners, me, current, new)
            owners = {m: o for m, o in owners.items() if o}
            spec_changed = current is None or current.get("spec") != new.get("spec")
            if current is None:
                meta["uid"] = str(uuid.uuid4())
                meta["creationTimestamp"] = now_rfc3339(now)
                meta["generation"] = 1
            else:
                meta["uid"] = current["metadata"]["uid"]
                meta["creationTimestamp"] = current["metadata"]["creationTimestamp"]
                meta["generation"] = current["metadata"].get("generation", 1) + (1 if spec_changed else 0)
                for k in ("deletionTimestamp", "deletionGracePeriodSeconds"):
                    if k in current["metadata"]:
                        meta[k] = current["metadata"][k]
            due = entry.due if entry else None
            if current is None or spec_changed:
                if self._needs_rollout(res, new):
                    blocked = name_in(cfg["never_ready_names"], res.kind, name)
                    if cfg["rollout_ms"] <= 0 and not blocked:
                        new["status"] = self._ready_status(res, new, None)
                        due = None
                    else:
                        new["status"] = self._pending_status(res, new, None)
                        due = now + cfg["rollout_ms"] / 1000.0
                elif res.kind == "ConfigMap":  # has no status at all
                    due = None
                else:
                    new["status"] = self._static_status(res, new)
                    due = None
            if current is not None and owners == entry.owners and \
                    without_volatile(new) == without_volatile(current):
                return 200, copy.deepcopy(current)  # no-op write: nothing changes, not even the RV
            if me in owners:
                managers[me] = {"time": now_rfc3339(now)}
            managers = {m: v for m, v in managers.items() if m in owners}
            meta["managedFields"] = [
                {"manager": m[0], "operation": m[1], "apiVersion": res.api_version,
                 "time": managers[m]["time"], "fieldsType": "FieldsV1", "fieldsV1": fields_v1(owners[m])}
                for m in owners if m in managers]
            code = 201 if current is None else 200
            if dry_run:
                meta["resourceVersion"] = current["metadata"]["resourceVersion"] if current else ""
                return code, ordered(new)
            if entry is None:
                entry = Entry(res, current, owners, managers, due)
            else:
                entry.owners, entry.managers, entry.due = owners, managers, due
            self._commit_locked(key, entry, new, "ADDED" if current is None else "MODIFIED")
            if due is None:
                self.pending.discard(key)
            else:
                self.pending.add(key)
            self.cond.notify_all()
            return code, copy.deepcopy(entry.obj)

    @staticmethod
    def _update_owners(owners: dict, me: tuple, current: dict | None, new: dict):
        """Field ownership after an `operation: Update` (create, replace or a non-apply patch),
        as structured-merge-diff's Updater.Update computes it: the fields whose values the
        write added or changed move to the updater (they leave every other manager's set);
        fields it removed leave every set; fields it left alone, or set to the value they
        already had, stay with whoever owned them (an Update does not take them)."""
        before, after = intent_of(current or {}), intent_of(new)
        old_paths, new_paths = leaf_paths(before), leaf_paths(after)
        changed = {p for p in new_paths if get_path(before, p) != get_path(after, p)}
        removed = old_paths - new_paths
        for m, owned in owners.items():
            if m != me:
                owned.difference_update(changed | removed)
        owners[me] = (owners.get(me, set()) - removed) | changed

    @staticmethod
    def _keep_allocated(res: Resource, current: dict, new: dict):
        """A replace or patch that leaves out what the server allocated keeps it (Service
        clusterIP; node ports are kept by _default_locked)."""
        if res.kind != "Service":
            return
        spec, prev = new.get("spec"), current.get("spec") or {}
        if isinstance(spec, dict) and not spec.get("clusterIP") and prev.get("clusterIP") \
                and spec.get("type", "ClusterIP") != "ExternalName":
            spec["clusterIP"] = prev["clusterIP"]

    def _conflict_error(self, res, name, conflicts) -> ApiError:
        by_manager: dict = {}
        for m, p in conflicts:
            by_manager.setdefault(m, []).append("." + ".".join(p))
        n = len(conflicts)
        if n == 1:
            (m, fields), = by_manager.items()
            msg = f'Apply failed with 1 conflict: conflict with "{m}" using {res.api_version}: {fields[0]}'
        else:
            lines = []
            for m, fields in by_manager.items():
                lines.append(f'conflicts with "{m}" using {res.api_version}:')
                lines.extend(f"- {f}" for f in fields)
            msg = f"Apply failed with {n} conflicts: " + "\n".join(lines)
        causes = [{"reason": "FieldManagerConflict",
                   "message": f'conflict with "{m}" using {res.api_version}', "field": "." + ".".join(p)}
                  for m, p in conflicts]
        return ApiError(409, msg, "Conflict", {"name": name, "group": res.group, "kind": res.plural,
                                               "causes": causes})

    def delete(self, route: Route, options: dict | None = None):
        """DELETE with DeleteOptions. `propagationPolicy: Foreground` (with rollout_ms > 0)
        marks the object as being deleted (deletionTimestamp, the foregroundDeletion
        finalizer) and removes it rollout_ms later, as a real API server does once the
        garbage collector has removed its dependents; otherwise it goes at once."""
        res, ns, name = route.res, route.namespace, route.name
        policy = (options or {}).get("propagationPolicy")
        with self.cond:
            self._run_due_locked()
            key = (res.plural, ns or "", name)
            entry = self.objects.get(key)
            if entry is None:
                raise not_found(res, name)
            if policy == "Foreground" and self.config["rollout_ms"] > 0 and res.kind != "Namespace":
                if key not in self.deleting:
                    obj = copy.deepcopy(entry.obj)
                    obj["metadata"]["deletionTimestamp"] = now_rfc3339()
                    finalizers = obj["metadata"].setdefault("finalizers", [])
                    if "foregroundDeletion" not in finalizers:
                        finalizers.append("foregroundDeletion")
                    self._commit_locked(key, entry, obj, "MODIFIED")
                    self.deleting[key] = time.time() + self.config["rollout_ms"] / 1000.0
                    self.cond.notify_all()
                return ordered(copy.deepcopy(self.objects[key].obj))
            doomed = [key]
            if res.kind == "Namespace":
                doomed += sorted(k for k in self.objects if k[1] == name and k[0] != "namespaces")
            self._remove_locked(doomed)
            self.cond.notify_all()
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": name, "group": res.group, "kind": res.plural,
                                "uid": entry.obj["metadata"]["uid"]}}

    def _remove_locked(self, doomed: list):
        for k in reversed(doomed):
            e = self.objects.pop(k)
            self.pending.discard(k)
            self.deleting.pop(k, None)
            self.rv += 1
            obj = copy.deepcopy(e.obj)
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._event_locked(Event(self.rv, "DELETED", e.res, obj, e.obj))

    # ---- reads
    def patch_status(self, route: Route, patch: dict, dry_run: bool, strategic: bool) -> dict:
        """A merge patch of the object's `status` only, as a controller writes it through the
        `/status` subresource; everything else in the patch is ignored."""
        with self.cond:
            self._run_due_locked()
            key = (route.res.plural, route.namespace or "", route.name)
            e = self.objects.get(key)
            if e is None:
                raise not_found(route.res, route.name)
            status = patch.get("status")
            if status is None:
                return copy.deepcopy(e.obj)
            if not isinstance(status, dict):
                raise ApiError(400, "status must be an object", "BadRequest")
            obj = copy.deepcopy(e.obj)
            obj["status"] = merge_patch(obj.get("status") or {}, status, strategic)
            if obj["status"] == e.obj.get("status") or dry_run:
                return obj if dry_run else copy.deepcopy(e.obj)
            # A controller's status is final: no rollout overwrites it.
            e.due = None
            self.pending.discard(key)
            self._commit_locked(key, e, obj, "MODIFIED")
            self.cond.notify_all()
            return copy.deepcopy(e.obj)

    def get(self, route: Route) -> dict:
        with self.cond:
            self._run_due_locked()
            e = self.objects.get((route.res.plural, route.namespace or "", route.name))
            if e is None:
                raise not_found(route.res, route.name)
            return copy.deepcopy(e.obj)

    def _matches(self, route: Route, obj: dict, labels: list, fields: list) -> bool:
        meta = obj["metadata"]
        if route.namespace is not None and route.res.namespaced and meta.get("namespace") != route.namespace:
            return False
        if route.name is not None and meta["name"] != route.name:
            return False
        return labels_match(meta.get("labels") or {}, labels) and fields_match(obj, fields)

    def list(self, route: Route, labels: list, fields: list, limit: int | None, cont: str | None) -> dict:
        with self.cond:
            self._run_due_locked()
            items = [copy.deepcopy(e.obj) for k, e in sorted(self.objects.items())
                     if k[0] == route.res.plural and self._matches(route, e.obj, labels, fields)]
            rv = self.rv
        meta: dict = {"resourceVersion": str(rv)}
        if cont:
            try:
                after = tuple(json.loads(base64.urlsafe_b64decode(cont.encode())))
            except Exception:
                raise ApiError(400, "continue key is not valid: illegal base64 data")
            items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after]
        if limit and len(items) > limit:
            last = items[limit - 1]["metadata"]
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps([last.get("namespace", ""), last["name"]]).encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        return {"kind": f"{route.res.kind}List", "apiVersion": route.res.api_version,
                "metadata": meta, "items": items}

    def objects_snapshot(self) -> list[dict]:
        with self.cond:
            self._run_due_locked()
            return [copy.deepcopy(e.obj) for _, e in sorted(self.objects.items())]

    # ---- watch
    def watch_start(self, route: Route, labels, fields, rv_param: str | None, initial_events: bool):
        """Returns (initial events, start rv, epoch) or raises ApiError (410 as an ERROR event)."""
        with self.cond:
            self._run_due_locked()
            if rv_param in (None, "", "0") or initial_events:
                initial = [("ADDED", copy.deepcopy(e.obj)) for k, e in sorted(self.objects.items())
                           if k[0] == route.res.plural and self._matches(route, e.obj, labels, fields)]
                return initial, self.rv, self.epoch
            try:
                start = int(rv_param)
            except ValueError:
                raise ApiError(400, f'resourceVersion: Invalid value: "{rv_param}": must be an integer')
            if start < self.floor:
                raise ApiError(410, f"too old resource version: {start} ({self.floor})", "Expired")
            return [], start, self.epoch

    def watch_next(self, route: Route, labels, fields, last: int, epoch: int, deadline: float):
        """Blocks until events after `last`, the deadline, a reset or shutdown.

        Returns (events as (type, obj) pairs, new last rv, finished?)."""
        with self.cond:
            while True:
                if self.stopping or self.epoch != epoch:
                    return [], last, True
                i = bisect.bisect_right(self.event_rvs, last)
                if i < len(self.events):
                    break
                remaining = deadline - time.time()
                if remaining <= 0:
                    return [], last, True
                self.cond.wait(min(remaining, 1.0))
            out = []
            for ev in self.events[i:]:
                if ev.res.plural != route.res.plural:
                    continue
                now_match = self._matches(route, ev.obj, labels, fields)
                was_match = ev.prev is not None and self._matches(route, ev.prev, labels, fields)
                if ev.type == "MODIFIED":
                    if now_match and was_match:
                        out.append(("MODIFIED", ev.obj))
                    elif now_match:
                        out.append(("ADDED", ev.obj))
                    elif was_match:
                        out.append(("DELETED", ev.obj))
                elif now_match:
                    out.append((ev.type, ev.obj))
            return [(t, copy.deepcopy(o)) for t, o in out], self.events[-1].rv, False


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------

WRITE_METHODS = ("PATCH", "POST", "PUT", "DELETE")
APPLY_CT = "application/apply-patch+yaml"
MERGE_CT = "application/merge-patch+json"
STRATEGIC_CT = "application/strategic-merge-patch+json"
PATCH_MODES = {APPLY_CT: "apply", MERGE_CT: "merge", STRATEGIC_CT: "strategic"}


def discovery(key: tuple, server_address: str):
    if key == ("api",):
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}
    groups = {}
    for r in RESOURCES:
        if r.group:
            groups.setdefault(r.group, [])
            if r.version not in groups[r.group]:
                groups[r.group].append(r.version)

    def group_obj(g):
        versions = [{"groupVersion": f"{g}/{v}", "version": v} for v in groups[g]]
        return {"name": g, "versions": versions, "preferredVersion": versions[0]}

    if key == ("apis",):
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group_obj(g) for g in groups]}
    if key[0] == "group":
        if key[1] not in groups:
            return None
        return {"kind": "APIGroup", "apiVersion": "v1", **group_obj(key[1])}
    _, group, version = key
    resources = []
    for r in RESOURCES:
        if r.group == group and r.version == version:
            resources.append({"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced,
                              "kind": r.kind, "verbs": ["create", "delete", "get", "list", "patch", "watch"],
                              "shortNames": list(r.short_names)})
            resources.append({"name": f"{r.plural}/status", "singularName": "", "namespaced": r.namespaced,
                              "kind": r.kind, "verbs": ["get"]})
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server_version = "stargate-kube-api-test/1"
    sys_version = ""

    # set on the class by make_server
    store: Store
    config: Config
    recorder: Recorder
    verbose: bool = False

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("kube-api: %s %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self._dispatch("GET")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # ---- plumbing
    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _responding(self):
        if getattr(self, "_record_pending", False):
            self._record_pending = False
            self._ticket = self.recorder.responding()

    def _send_json(self, code: int, obj, headers: dict | None = None):
        data = json.dumps(obj, separators=(",", ":")).encode()
        self._responding()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_text(self, code: int, text: str):
        data = text.encode()
        self._responding()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _chunk(self, data: bytes):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _user_agent_manager(self) -> str:
        """The field manager of a create, replace or non-apply patch without `fieldManager`:
        like the real API server, the User-Agent up to its first `/` (kubectl's
        `kubectl/v1.33.0 (linux/amd64) kubernetes/abc` gives `kubectl`), at most 128
        characters; "unknown" without a User-Agent."""
        agent = (self.headers.get("User-Agent") or "").split("/")[0].strip()
        return agent[:128] or "unknown"

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None

    # ---- dispatch
    def _dispatch(self, method: str):
        start = time.time()
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            body = self._read_body()
        except Exception:
            self.close_connection = True
            return
        if url.path == "/_control" or url.path.startswith("/_control/"):
            self._control(method, url.path, query, body)
            return
        token = self._token()
        rec = {"start": start, "end": None, "method": method, "path": url.path, "query": url.query,
               "field_manager": query.get("fieldManager"), "force": query.get("force") == "true",
               "dry_run": query.get("dryRun") == "All", "token": token, "status": None,
               "kind": None, "namespace": None, "name": None, "fault": None, "object": None}
        if method in WRITE_METHODS and body:
            try:
                rec["object"] = json.loads(body)
            except ValueError:
                rec["object"] = None
                rec["body_text"] = body.decode("utf-8", "replace")[:4096]
        code = 500
        self._ticket = None
        self._record_pending = method in WRITE_METHODS or \
            (self.config["record_reads"] and url.path not in ("/healthz", "/readyz", "/livez"))
        try:
            code = self._api(method, url.path, query, body, token, rec)
        except (BrokenPipeError, ConnectionResetError):
            rec["client_gone"] = True
            self.close_connection = True
        except ApiError as e:
            code = e.code
            try:
                self._send_json(e.code, e.status(), e.headers)
            except (BrokenPipeError, ConnectionResetError):
                rec["client_gone"] = True
                self.close_connection = True
        except Exception as e:  # a bug here: answer like the API server would, and say so
            traceback.print_exc(file=sys.stderr)
            code = 500
            try:
                self._send_json(500, status_object(500, f"Internal error occurred: test server bug: {e!r}"))
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
        rec["status"] = code
        rec["end"] = time.time()
        ticket, self._ticket, self._record_pending = self._ticket, None, False
        if method in WRITE_METHODS:
            self.recorder.add(rec, write=True, ticket=ticket)
        elif self.config["record_reads"] and url.path not in ("/healthz", "/readyz", "/livez"):
            self.recorder.add(rec, write=False, ticket=ticket)
        elif ticket is not None:
            self.recorder.add_nothing(ticket)

    def _api(self, method, path, query, body, token, rec) -> int:
        if self.config["require_token"] and not token:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        if path in ("/healthz", "/readyz", "/livez") and method == "GET":
            self._send_text(200, "ok")
            return 200
        if path == "/version" and method == "GET":
            self._send_json(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0",
                                  "gitCommit": "0000000000000000000000000000000000000000",
                                  "gitTreeState": "clean", "buildDate": "2025-04-23T00:00:00Z",
                                  "goVersion": "go1.24.2", "compiler": "gc", "platform": "linux/amd64"})
            return 200
        parsed = parse_api_path(path)
        if parsed is None:
            raise ApiError(404, "the server could not find the requested resource", "NotFound",
                           {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]})
        if parsed[0] == "discovery":
            if method != "GET":
                raise ApiError(405, f"the server does not allow this method on the requested resource")
            host, port = self.server.server_address[:2]
            payload = discovery(parsed[1], f"{host}:{port}")
            if payload is None:
                raise ApiError(404, "the server could not find the requested resource", "NotFound")
            self._send_json(200, payload)
            return 200
        route: Route = parsed[1]
        res = route.res
        rec["kind"], rec["namespace"], rec["name"] = res.kind, route.namespace, route.name
        if route.sub not in (None, "status"):
            raise ApiError(404, "the server could not find the requested resource", "NotFound")
        if method == "GET":
            if route.name is None:
                return self._list_or_watch(route, query)
            if query.get("watch") in ("1", "true"):
                return self._watch(route, query)
            self._send_json(200, self.store.get(route))
            return 200
        # writes
        if route.sub == "status" and method == "PATCH" and route.name is not None:
            return self._patch_status(route, query, rec)
        if route.sub is not None or (method in ("PATCH", "PUT", "DELETE") and route.name is None):
            raise ApiError(405, f"{method} {path} is not supported by the test server: it speaks PATCH (apply, "
                                f"merge and strategic merge), PUT and DELETE on objects, POST create on "
                                f"collections, GET, list and watch", "MethodNotAllowed")
        if method == "POST" and (route.name is not None or (res.namespaced and route.namespace is None)):
            raise ApiError(405, f"POST is only allowed on a collection path", "MethodNotAllowed")
        hang = self.config.take_hang()
        if hang is not None:
            rec["fault"] = "hang"
            time.sleep(hang[0] / 1000.0)
            if not hang[1]:
                raise fault_error(504, res, route.namespace, route.name, source="hang_writes")
        fail = self.config.take_fail()
        if fail is not None:
            rec["fault"] = "fail"
            body_name = (rec["object"] or {}).get("metadata", {}).get("name") \
                if isinstance(rec["object"], dict) and isinstance(rec["object"].get("metadata"), dict) else None
            raise fault_error(fail, res, route.namespace, route.name or body_name, source="fail_writes")
        if method == "DELETE":
            options = rec["object"] if isinstance(rec["object"], dict) else None
            if options is None and query.get("propagationPolicy"):
                options = {"propagationPolicy": query.get("propagationPolicy")}
            self._send_json(200, self.store.delete(route, options))
            return 200
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if method == "PATCH":
            mode = PATCH_MODES.get(ctype)
            if mode is None:
                raise ApiError(415, f'the body of the request was in an unknown format - accepted media '
                                    f'types include: {", ".join(PATCH_MODES)} (got Content-Type "{ctype}")',
                                    "UnsupportedMediaType")
        else:
            if ctype not in ("application/json", ""):
                raise ApiError(415, f'the body of the request was in an unknown format - accepted media '
                                    f'types include: application/json (got "{ctype}")', "UnsupportedMediaType")
            mode = "create" if method == "POST" else "replace"
        if mode == "apply":
            manager = query.get("fieldManager") or ""
            if not manager:
                raise ApiError(400, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                    'is required for apply patch', "BadRequest")
        else:
            manager = query.get("fieldManager") or self._user_agent_manager()
        if query.get("force") not in (None, "true", "false"):
            raise ApiError(400, f'force: Invalid value: "{query["force"]}": must be true or false')
        if mode != "apply" and query.get("force") == "true":
            what = "PatchOptions" if method == "PATCH" else ("CreateOptions" if method == "POST" else "UpdateOptions")
            raise ApiError(422, f'{what}.meta.k8s.io "" is invalid: force: Forbidden: may not be specified '
                                f'for non-apply patch', "Invalid")
        obj = rec["object"]
        if not isinstance(obj, dict):
            what = "not valid JSON" if obj is None else "not a JSON object"
            raise ApiError(400, f"error decoding YAML: the request body is {what} (the test server accepts "
                                f"JSON, which is YAML, only)", "BadRequest")
        if mode in ("merge", "strategic"):
            if name_in(self.config["reject_names"], res.kind, route.name):
                rec["fault"] = "reject"
                raise fault_error(self.config["reject_status"], res, route.namespace, route.name,
                                  self.config["reject_message"], source="reject_names")
            code, stored = self.store.write(route, manager, obj, query.get("dryRun") == "All", mode)
            self._send_json(code, stored)
            return code
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        if method == "POST":
            route = Route(res, route.namespace, meta.get("name"))
            if not route.name:
                raise invalid_error(res, "", 'metadata.name: Required value: name or generateName is required',
                                    [("FieldValueRequired", "metadata.name", "Required value: name or generateName is required")])
            rec["name"] = route.name
        if obj.get("apiVersion") != res.api_version:
            raise ApiError(400, f"the API version in the data ({obj.get('apiVersion')}) does not match the "
                                f"expected API version ({res.api_version})", "BadRequest")
        if obj.get("kind") != res.kind:
            raise ApiError(400, f"the kind in the data ({obj.get('kind')}) does not match the expected kind "
                                f"({res.kind}) for {path}", "BadRequest")
        if meta.get("name") != route.name:
            raise ApiError(400, f"the name of the object ({meta.get('name')}) does not match the name on the "
                                f"URL ({route.name})", "BadRequest")
        if res.namespaced and meta.get("namespace") not in (None, "", route.namespace):
            raise ApiError(400, "the namespace of the provided object does not match the namespace sent on "
                                "the request", "BadRequest")
        if name_in(self.config["reject_names"], res.kind, route.name):
            rec["fault"] = "reject"
            raise fault_error(self.config["reject_status"], res, route.namespace, route.name,
                              self.config["reject_message"], source="reject_names")
        code, stored = self.store.write(route, manager, obj, query.get("dryRun") == "All", mode,
                                        force=query.get("force") == "true")
        self._send_json(code, stored)
        return code

    def _patch_status(self, route: Route, query, rec) -> int:
        """`PATCH <object>/status` with a merge or strategic merge patch: what a controller
        (the Deployment controller, cert-manager, a load-balancer controller) writes."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        mode = PATCH_MODES.get(ctype)
        if mode not in ("merge", "strategic"):
            raise ApiError(415, f'the test server takes merge and strategic merge patches of status '
                                f'(got Content-Type "{ctype}")', "UnsupportedMediaType")
        if not isinstance(rec["object"], dict):
            raise ApiError(400, "the patch must be a JSON object", "BadRequest")
        stored = self.store.patch_status(route, rec["object"], query.get("dryRun") == "All",
                                         mode == "strategic")
        self._send_json(200, stored)
        return 200

    def _list_or_watch(self, route: Route, query) -> int:
        if query.get("watch") in ("1", "true"):
            return self._watch(route, query)
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"))
        limit = query.get("limit")
        try:
            limit = int(limit) if limit else None
        except ValueError:
            raise ApiError(400, f'limit: Invalid value: "{limit}": must be an integer')
        self._send_json(200, self.store.list(route, labels, fields, limit, query.get("continue")))
        return 200

    def _watch(self, route: Route, query) -> int:
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"))
        try:
            timeout = float(query.get("timeoutSeconds") or 0) or DEFAULT_WATCH_TIMEOUT
        except ValueError:
            raise ApiError(400, "timeoutSeconds must be a number")
        deadline = time.time() + timeout
        initial_events = query.get("sendInitialEvents") == "true"
        expired = None
        try:
            initial, last, epoch = self.store.watch_start(route, labels, fields, query.get("resourceVersion"),
                                                          initial_events)
        except ApiError as e:
            if e.code != 410:
                raise
            expired, initial, last, epoch = e, [], 0, 0
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.flush()

        def emit(etype, obj):
            self._chunk((json.dumps({"type": etype, "object": obj}, separators=(",", ":")) + "\n").encode())

        if expired is not None:
            emit("ERROR", expired.status())
        else:
            for etype, obj in initial:
                emit(etype, obj)
            if initial_events:
                emit("BOOKMARK", {"kind": route.res.kind, "apiVersion": route.res.api_version,
                                  "metadata": {"resourceVersion": str(last),
                                               "annotations": {"k8s.io/initial-events-end": "true"}}})
            while True:
                events, last, done = self.store.watch_next(route, labels, fields, last, epoch, deadline)
                for etype, obj in events:
                    emit(etype, obj)
                if done:
                    break
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return 200

    # ---- control API (never recorded, never needs a token)
    def _control(self, method, path, query, body):
        try:
            if path == "/_control" and method == "GET":
                self._send_json(200, self.config.snapshot())
            elif path == "/_control" and method == "POST":
                try:
                    changes = json.loads(body or b"{}")
                except ValueError:
                    raise ApiError(400, "control body must be JSON")
                result = self.config.update(changes)
                self.store.wake()
                self._send_json(200, result)
            elif path == "/_control/writes" and method == "GET":
                self._send_json(200, self.recorder.list(True, int(query.get("since") or 0)))
            elif path == "/_control/reads" and method == "GET":
                self._send_json(200, self.recorder.list(False, int(query.get("since") or 0)))
            elif path == "/_control/objects" and method == "GET":
                objs = self.store.objects_snapshot()
                if query.get("kind"):
                    objs = [o for o in objs if o["kind"] == query["kind"]]
                self._send_json(200, objs)
            elif path == "/_control/reset" and method == "POST":
                try:
                    opts = json.loads(body or b"{}")
                except ValueError:
                    raise ApiError(400, "reset body must be JSON")
                if isinstance(opts, dict) and opts.get("config"):
                    self.config.restore()
                self.store.reset()
                self.recorder.reset()
                self._send_json(200, {"ok": True})
            else:
                raise ApiError(404, f"unknown control endpoint {method} {path}", "NotFound")
        except ApiError as e:
            self._send_json(e.code, e.status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


# --------------------------------------------------------------------------------------------
# Kubeconfig helper and main
# --------------------------------------------------------------------------------------------


def kubeconfig_yaml(context: str, server: str, token: str | None, namespace: str | None) -> str:
    q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    lines = [
        "apiVersion: v1",
        "kind: Config",
        "preferences: {}",
        "clusters:",
        f"- name: {q(context)}",
        "  cluster:",
        f"    server: {q(server)}",
        "users:",
        f"- name: {q(context)}",
    ]
    lines += ["  user:", f"    token: {q(token)}"] if token else ["  user: {}"]
    lines += [
        "contexts:",
        f"- name: {q(context)}",
        "  context:",
        f"    cluster: {q(context)}",
        f"    user: {q(context)}",
    ]
    if namespace:
        lines.append(f"    namespace: {q(namespace)}")
    lines.append(f"current-context: {q(context)}")
    return "\n".join(lines) + "\n"


def write_kubeconfig(path: str, context: str, server: str, token: str | None, namespace: str | None):
    with open(path, "w", encoding="utf-8") as f:
        f.write(kubeconfig_yaml(context, server, token, namespace))


def names_arg(values) -> list[str]:
    out = []
    for v in values or []:
        out += [n.strip() for n in v.split(",") if n.strip()]
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description="Fake-but-faithful Kubernetes API server for tests.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 (default): an ephemeral port")
    p.add_argument("--record", metavar="FILE", help="append one JSON line per write (flushed)")
    p.add_argument("--record-reads", action="store_true", help="also record GETs")
    p.add_argument("--require-token", action="store_true", help="401 for requests without a bearer token")
    p.add_argument("--rollout-ms", type=int, default=0, help="delay before status turns ready")
    p.add_argument("--fail-writes", type=int, default=0)
    p.add_argument("--fail-status", type=int, default=500)
    p.add_argument("--hang-writes", type=int, default=0)
    p.add_argument("--hang-ms", type=int, default=30000)
    p.add_argument("--hang-no-apply", action="store_true",
                   help="after a hang answer 504 without applying (default: apply, then answer)")
    p.add_argument("--reject-names", action="append", metavar="NAMES", help="comma-separated; repeatable")
    p.add_argument("--reject-status", type=int, default=422)
    p.add_argument("--reject-message")
    p.add_argument("--never-ready-names", action="append", metavar="NAMES", help="comma-separated; repeatable")
    p.add_argument("--no-validate", action="store_true", help="skip the built-in field validation")
    p.add_argument("--no-require-namespace", action="store_true",
                   help="allow namespaced objects in namespaces that do not exist")
    p.add_argument("--lb-hostname", default=DEFAULT_LB_HOSTNAME)
    p.add_argument("--verbose", action="store_true", help="log requests to stderr")
    p.add_argument("--kubeconfig-out", metavar="PATH",
                   help="after binding, write a kubeconfig pointing at this server (with --context/--token)")
    p.add_argument("--write-kubeconfig", metavar="PATH", help="write a kubeconfig and exit (needs --server)")
    p.add_argument("--context", default="stargate-test")
    p.add_argument("--server", help="server URL for --write-kubeconfig, e.g. http://127.0.0.1:8080")
    p.add_argument("--token", help="bearer token for the kubeconfig user")
    p.add_argument("--namespace", help="default namespace for the kubeconfig context")
    a = p.parse_args(argv)

    if a.write_kubeconfig:
        if not a.server:
            p.error("--write-kubeconfig needs --server URL")
        write_kubeconfig(a.write_kubeconfig, a.context, a.server, a.token, a.namespace)
        return 0

    config = Config({
        "fail_writes": a.fail_writes, "fail_status": a.fail_status,
        "hang_writes": a.hang_writes, "hang_ms": a.hang_ms, "hang_apply": not a.hang_no_apply,
        "reject_names": names_arg(a.reject_names), "reject_status": a.reject_status,
        "reject_message": a.reject_message, "never_ready_names": names_arg(a.never_ready_names),
        "rollout_ms": a.rollout_ms, "require_token": a.require_token, "record_reads": a.record_reads,
        "validate": not a.no_validate, "require_namespace": not a.no_require_namespace,
        "lb_hostname": a.lb_hostname,
    })
    try:
        config.update(config.snapshot())  # validates the flags
    except ApiError as e:
        p.error(e.message)
    store = Store(config)
    recorder = Recorder(a.record)
    handler = type("BoundHandler", (Handler,), {"store": store, "config": config, "recorder": recorder,
                                                "verbose": a.verbose})
    server = Server((a.host, a.port), handler)
    host, port = server.server_address[:2]
    if a.kubeconfig_out:
        write_kubeconfig(a.kubeconfig_out, a.context, f"http://{host}:{port}", a.token, a.namespace)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    sys.stdout.write(f"listening on {host}:{port}\n")
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    store.stop()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
