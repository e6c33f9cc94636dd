"""Self-test of the test Kubernetes API server.

Run from the repository root: python3 -m unittest testing/kube-api/test_server.py
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


class KubeApi:
    """The server as a subprocess, plus a tiny client."""

    def __init__(self, *args):
        self.dir = tempfile.TemporaryDirectory()
        self.record = os.path.join(self.dir.name, "writes.jsonl")
        self.proc = subprocess.Popen([sys.executable, SERVER, "--port", "0", "--record", self.record, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on 127.0.0.1:"):
            self.proc.kill()
            raise RuntimeError(f"unexpected first line {line!r}: {self.proc.stderr.read()}")
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.base = f"http://127.0.0.1:{self.port}"

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.dir.cleanup()

    def request(self, method, path, body=None, content_type=None, token=None, timeout=10, raw=None,
                headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        if content_type:
            req.add_header("Content-Type", content_type)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.headers, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            payload = e.read()
            return e.code, e.headers, json.loads(payload) if payload else None

    def apply(self, path, obj, manager="stargate", force=True, token=None, **kw):
        query = "?"
        if manager is not None:
            query += f"&fieldManager={manager}"
        if force:
            query += "&force=true"
        return self.request("PATCH", path + query, obj, kw.pop("content_type", APPLY), token, **kw)

    def patch(self, path, patch, content_type=MERGE, manager=None, user_agent=None, **kw):
        """A non-apply PATCH, as `kubectl patch`/`edit`/`scale` send it."""
        query = f"?fieldManager={manager}" if manager else ""
        headers = {"User-Agent": user_agent} if user_agent else None
        return self.request("PATCH", path + query, patch, content_type, headers=headers, **kw)

    def put(self, path, obj, manager=None, **kw):
        query = f"?fieldManager={manager}" if manager else ""
        return self.request("PUT", path + query, obj, "application/json", **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def control(self, **settings):
        code, _, body = self.request("POST", "/_control", settings, "application/json")
        assert code == 200, body
        return body

    def writes(self):
        return self.request("GET", "/_control/writes")[2]

    def reset(self, config=False):
        return self.request("POST", "/_control/reset", {"config": config}, "application/json")


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def deployment(name, ns="team-a", replicas=2, image="nginx:1.27", labels=None):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": image}]}}}}


def service(name, ns="team-a", type_=None):
    spec = {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    if type_:
        spec["type"] = type_
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def ingress(name, ns="team-a"):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": ns},
            "spec": {"rules": [{"host": f"{name}.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": name, "port": {"number": 80}}}}]}}]}}


def certificate(name, ns="team-a"):
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name, "namespace": ns},
            "spec": {"secretName": f"{name}-tls", "dnsNames": [f"{name}.example.com"],
                     "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"}}}


def config_map(name, data, ns="team-a"):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


DEP = "/apis/apps/v1/namespaces/team-a/deployments"
SVC = "/api/v1/namespaces/team-a/services"
ING = "/apis/networking.k8s.io/v1/namespaces/team-a/ingresses"
CRT = "/apis/cert-manager.io/v1/namespaces/team-a/certificates"
CM = "/api/v1/namespaces/team-a/configmaps"


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = KubeApi()

    @classmethod
    def tearDownClass(cls):
        cls.k.close()

    def setUp(self):
        self.k.reset(config=True)
        code, _, body = self.k.apply("/api/v1/namespaces/team-a", namespace("team-a"))
        self.assertEqual(code, 201, body)

    def assertStatus(self, body, code, reason):
        self.assertEqual(body["kind"], "Status")
        self.assertEqual(body["apiVersion"], "v1")
        self.assertEqual(body["status"], "Failure")
        self.assertEqual(body["code"], code)
        self.assertEqual(body["reason"], reason)
        self.assertIsInstance(body["message"], str)

    # ---- apply, generation, get, list

    def test_version(self):
        code, _, body = self.k.get("/version")
        self.assertEqual((code, body["major"], body["minor"], body["gitVersion"]), (200, "1", "33", "v1.33.0"))

    def test_apply_create_reapply_and_change(self):
        code, headers, created = self.k.apply(f"{DEP}/web", deployment("web"))
        self.assertEqual(code, 201)
        self.assertEqual(headers["Content-Type"], "application/json")
        meta = created["metadata"]
        self.assertTrue(meta["uid"])
        self.assertTrue(meta["resourceVersion"].isdigit())
        self.assertEqual(meta["generation"], 1)
        self.assertTrue(meta["creationTimestamp"].endswith("Z"))
        self.assertEqual(meta["namespace"], "team-a")
        self.assertEqual(meta["managedFields"][0]["manager"], "stargate")
        self.assertEqual(created["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27")
        self.assertIn("status", created)

        code, _, same = self.k.apply(f"{DEP}/web", deployment("web"))
        self.assertEqual(code, 200)
        self.assertEqual(same["metadata"]["generation"], 1)
        self.assertEqual(same["metadata"]["uid"], meta["uid"])

        code, _, changed = self.k.apply(f"{DEP}/web", deployment("web", image="nginx:1.28"))
        self.assertEqual(code, 200)
        self.assertEqual(changed["metadata"]["generation"], 2)
        self.assertEqual(changed["metadata"]["uid"], meta["uid"])
        self.assertGreater(int(changed["metadata"]["resourceVersion"]), int(meta["resourceVersion"]))

        # A metadata-only change bumps the resourceVersion but not the generation.
        code, _, relabeled = self.k.apply(f"{DEP}/web", deployment("web", image="nginx:1.28",
                                                                    labels={"app": "web", "tier": "x"}))
        self.assertEqual(relabeled["metadata"]["generation"], 2)
        self.assertEqual(relabeled["metadata"]["labels"]["tier"], "x")

        code, _, got = self.k.get(f"{DEP}/web")
        self.assertEqual(code, 200)
        self.assertEqual(got["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.28")
        self.assertEqual(got["metadata"]["resourceVersion"], relabeled["metadata"]["resourceVersion"])

    def test_fields_dropped_from_apply_are_removed(self):
        self.k.apply(f"{DEP}/web", deployment("web", labels={"app": "web", "old": "yes"}))
        _, _, body = self.k.apply(f"{DEP}/web", deployment("web", labels={"app": "web"}))
        self.assertNotIn("old", body["metadata"]["labels"])

    def test_get_missing_is_404_status(self):
        code, headers, body = self.k.get(f"{DEP}/nope")
        self.assertEqual(code, 404)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertStatus(body, 404, "NotFound")
        self.assertEqual(body["message"], 'deployments.apps "nope" not found')
        self.assertEqual(body["details"], {"name": "nope", "group": "apps", "kind": "deployments"})

    def test_unknown_path_is_404_status(self):
        for path in ("/apis/batch/v1/namespaces/team-a/jobs/x", "/api/v1/namespaces/team-a/pods/x", "/nope"):
            code, _, body = self.k.get(path)
            self.assertEqual(code, 404, path)
            self.assertStatus(body, 404, "NotFound")

    def test_list(self):
        self.k.apply(f"{DEP}/a", deployment("a"))
        self.k.apply(f"{DEP}/b", deployment("b"))
        self.k.apply("/api/v1/namespaces/team-b", namespace("team-b"))
        self.k.apply("/apis/apps/v1/namespaces/team-b/deployments/c", deployment("c", ns="team-b"))
        code, _, body = self.k.get(DEP)
        self.assertEqual(code, 200)
        self.assertEqual(body["kind"], "DeploymentList")
        self.assertEqual(body["apiVersion"], "apps/v1")
        self.assertTrue(body["metadata"]["resourceVersion"].isdigit())
        self.assertEqual([i["metadata"]["name"] for i in body["items"]], ["a", "b"])
        self.assertEqual(body["items"][0]["kind"], "Deployment")
        _, _, body = self.k.get("/apis/apps/v1/deployments")
        self.assertEqual([i["metadata"]["name"] for i in body["items"]], ["a", "b", "c"])
        _, _, body = self.k.get(DEP + "?&labelSelector=app%3Db")
        self.assertEqual([i["metadata"]["name"] for i in body["items"]], ["b"])
        _, _, body = self.k.get(DEP + "?&fieldSelector=metadata.name%3Da")
        self.assertEqual([i["metadata"]["name"] for i in body["items"]], ["a"])
        _, _, page = self.k.get("/apis/apps/v1/deployments?&limit=2")
        self.assertEqual(len(page["items"]), 2)
        token = page["metadata"]["continue"]
        _, _, page2 = self.k.get(f"/apis/apps/v1/deployments?&limit=2&continue={token}")
        self.assertEqual([i["metadata"]["name"] for i in page2["items"]], ["c"])
        self.assertNotIn("continue", page2["metadata"])
        _, _, body = self.k.get("/api/v1/namespaces")
        self.assertEqual(body["kind"], "NamespaceList")
        names = [i["metadata"]["name"] for i in body["items"]]
        self.assertIn("team-a", names)
        self.assertIn("default", names)

    # ---- status the controllers would set

    def test_deployment_ready_after_rollout_ms(self):
        self.k.control(rollout_ms=400)
        _, _, body = self.k.apply(f"{DEP}/web", deployment("web", replicas=3))
        st = body["status"]
        self.assertEqual(st["observedGeneration"], 1)
        self.assertEqual((st["updatedReplicas"], st["availableReplicas"]), (0, 0))
        _, _, body = self.k.get(f"{DEP}/web")
        self.assertEqual(body["status"]["updatedReplicas"], 0)
        time.sleep(0.6)
        _, _, body = self.k.get(f"{DEP}/web")
        st = body["status"]
        self.assertEqual(st["observedGeneration"], body["metadata"]["generation"])
        for f in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
            self.assertEqual(st[f], 3, f)
        # a spec change starts a new rollout
        _, _, body = self.k.apply(f"{DEP}/web", deployment("web", replicas=3, image="nginx:2"))
        self.assertEqual(body["status"]["observedGeneration"], 2)
        self.assertEqual(body["status"]["updatedReplicas"], 0)
        time.sleep(0.6)
        _, _, body = self.k.get(f"{DEP}/web")
        self.assertEqual(body["status"]["updatedReplicas"], 3)

    def test_ready_immediately_without_rollout_ms(self):
        _, _, body = self.k.apply(f"{DEP}/web", deployment("web", replicas=2))
        self.assertEqual(body["status"]["availableReplicas"], 2)
        _, _, body = self.k.apply(f"{CRT}/web", certificate("web"))
        self.assertEqual(body["status"]["conditions"][0]["type"], "Ready")
        self.assertEqual(body["status"]["conditions"][0]["status"], "True")
        _, _, body = self.k.apply(f"{ING}/web", ingress("web"))
        self.assertEqual(body["status"]["loadBalancer"]["ingress"], [{"hostname": "k8s-stargate-test.elb.example.com"}])
        _, _, body = self.k.apply(f"{SVC}/web", service("web"))
        self.assertEqual(body["status"], {"loadBalancer": {}})
        _, _, body = self.k.get("/api/v1/namespaces/team-a")
        self.assertEqual(body["status"], {"phase": "Active"})

    def test_certificate_and_ingress_pending_then_ready(self):
        self.k.control(rollout_ms=300)
        _, _, cert = self.k.apply(f"{CRT}/web", certificate("web"))
        _, _, ing = self.k.apply(f"{ING}/web", ingress("web"))
        ready = [c for c in cert["status"]["conditions"] if c["type"] == "Ready"][0]
        self.assertEqual(ready["status"], "False")
        self.assertNotIn("ingress", ing["status"]["loadBalancer"])
        time.sleep(0.5)
        _, _, cert = self.k.get(f"{CRT}/web")
        _, _, ing = self.k.get(f"{ING}/web")
        self.assertEqual([(c["type"], c["status"]) for c in cert["status"]["conditions"]], [("Ready", "True")])
        self.assertEqual(ing["status"]["loadBalancer"]["ingress"][0]["hostname"], "k8s-stargate-test.elb.example.com")

    def test_never_ready_names(self):
        self.k.control(never_ready_names=["stuck"], rollout_ms=50)
        self.k.apply(f"{DEP}/stuck", deployment("stuck"))
        self.k.apply(f"{DEP}/fine", deployment("fine"))
        time.sleep(0.3)
        self.assertEqual(self.k.get(f"{DEP}/stuck")[2]["status"]["availableReplicas"], 0)
        self.assertEqual(self.k.get(f"{DEP}/fine")[2]["status"]["availableReplicas"], 2)
        self.k.control(never_ready_names=[])
        time.sleep(0.2)
        self.assertEqual(self.k.get(f"{DEP}/stuck")[2]["status"]["availableReplicas"], 2)

    def test_service_type_change_keeps_fields_and_assigns_node_port(self):
        _, _, svc = self.k.apply(f"{SVC}/web", service("web"))
        ip = svc["spec"]["clusterIP"]
        self.assertEqual(svc["spec"]["type"], "ClusterIP")
        self.assertNotIn("nodePort", svc["spec"]["ports"][0])
        code, _, svc = self.k.apply(f"{SVC}/web", service("web", type_="NodePort"))
        self.assertEqual(code, 200)
        self.assertEqual(svc["spec"]["type"], "NodePort")
        self.assertEqual(svc["spec"]["clusterIP"], ip)
        self.assertEqual(svc["spec"]["selector"], {"app": "web"})
        port = svc["spec"]["ports"][0]
        self.assertGreaterEqual(port["nodePort"], 30000)
        self.assertEqual((port["port"], port["targetPort"], port["protocol"]), (80, 8080, "TCP"))
        _, _, again = self.k.apply(f"{SVC}/web", service("web", type_="NodePort"))
        self.assertEqual(again["spec"]["ports"][0]["nodePort"], port["nodePort"])
        self.assertEqual(again["metadata"]["resourceVersion"], svc["metadata"]["resourceVersion"])
        _, _, other = self.k.apply(f"{SVC}/other", service("other", type_="NodePort"))
        self.assertNotEqual(other["spec"]["ports"][0]["nodePort"], port["nodePort"])
        _, _, back = self.k.apply(f"{SVC}/web", service("web"))
        self.assertEqual(back["spec"]["type"], "ClusterIP")
        self.assertNotIn("nodePort", back["spec"]["ports"][0])
        self.assertEqual(back["spec"]["clusterIP"], ip)

    # ---- protocol errors

    def test_config_map_entries_follow_their_manager(self):
        code, _, body = self.k.apply(f"{CM}/tcp-services", config_map("tcp-services", {"9000": "a/b:80"}))
        self.assertEqual(code, 201, body)
        self.assertNotIn("status", body)
        both = {"9000": "a/b:80", "9001": "c/d:81"}
        _, _, body = self.k.apply(f"{CM}/tcp-services", config_map("tcp-services", both))
        self.assertEqual(body["data"], both)
        # An entry the manager applied before and leaves out now is removed.
        _, _, body = self.k.apply(f"{CM}/tcp-services", config_map("tcp-services", {"9001": "c/d:81"}))
        self.assertEqual(body["data"], {"9001": "c/d:81"})
        _, _, listed = self.k.get("/api/v1/configmaps")
        self.assertEqual([i["metadata"]["name"] for i in listed["items"]], ["tcp-services"])
        code, _, body = self.k.apply(f"{CM}/bad", config_map("bad", {"bad key": "x"}))
        self.assertEqual(code, 422, body)
        self.assertIn("valid config key", body["message"])

    def test_missing_field_manager_is_400(self):
        code, _, body = self.k.apply(f"{DEP}/web", deployment("web"), manager=None)
        self.assertEqual(code, 400)
        self.assertStatus(body, 400, "BadRequest")
        self.assertIn("fieldManager", body["message"])

    def test_wrong_content_type_is_415(self):
        self.k.apply(f"{DEP}/web", deployment("web"))
        for ct in ("application/json-patch+json", "application/json", "text/plain"):
            code, _, body = self.k.apply(f"{DEP}/web", deployment("web"), content_type=ct)
            self.assertEqual(code, 415, ct)
            self.assertStatus(body, 415, "UnsupportedMediaType")

    def test_body_must_match_path(self):
        code, _, body = self.k.apply(f"{DEP}/other", deployment("web"))
        self.assertEqual(code, 400)
        self.assertStatus(body, 400, "BadRequest")
        self.assertIn("does not match the name on the URL", body["message"])
        code, _, body = self.k.apply(f"{SVC}/web", deployment("web"))
        self.assertEqual(code, 400)
        self.assertStatus(body, 400, "BadRequest")
        code, _, body = self.k.apply("/apis/apps/v1/namespaces/other/deployments/web", deployment("web"))
        self.assertEqual(code, 400)
        code, _, body = self.k.request("PATCH", f"{DEP}/web?fieldManager=x", raw=b"kind: Deployment\n",
                                       content_type=APPLY)
        self.assertEqual(code, 400)
        self.assertStatus(body, 400, "BadRequest")
        self.assertEqual(self.k.get(f"{DEP}/web")[0], 404)

    def test_namespace_must_exist(self):
        code, _, body = self.k.apply("/apis/apps/v1/namespaces/ghost/deployments/web", deployment("web", ns="ghost"))
        self.assertEqual(code, 404)
        self.assertEqual(body["message"], 'namespaces "ghost" not found')

    def test_validation_is_422(self):
        bad = deployment("web")
        del bad["spec"]["selector"]
        bad["spec"]["template"]["spec"]["containers"][0]["image"] = ""
        code, _, body = self.k.apply(f"{DEP}/web", bad)
        self.assertEqual(code, 422)
        self.assertStatus(body, 422, "Invalid")
        self.assertEqual(body["message"], 'Deployment.apps "web" is invalid: [spec.selector: Required value, '
                                          'spec.template.spec.containers[0].image: Required value]')
        self.assertEqual({c["field"] for c in body["details"]["causes"]},
                         {"spec.selector", "spec.template.spec.containers[0].image"})
        code, _, body = self.k.apply(f"{DEP}/Web_1", deployment("Web_1"))
        self.assertEqual(code, 422)
        self.assertIn("metadata.name: Invalid value", body["message"])

    def test_conflict_between_managers(self):
        self.k.apply(f"{DEP}/web", deployment("web", replicas=2), manager="other")
        code, _, body = self.k.apply(f"{DEP}/web", deployment("web", replicas=5), force=False)
        self.assertEqual(code, 409)
        self.assertStatus(body, 409, "Conflict")
        self.assertIn('conflict with "other" using apps/v1: .spec.replicas', body["message"])
        code, _, body = self.k.apply(f"{DEP}/web", deployment("web", replicas=5), force=True)
        self.assertEqual(code, 200)
        self.assertEqual(body["spec"]["replicas"], 5)

    # ---- faults

    def test_fail_writes_then_success(self):
        self.k.control(fail_writes=2)
        for _ in range(2):
            code, _, body = self.k.apply(f"{DEP}/web", deployment("web"))
            self.assertEqual(code, 500)
            self.assertStatus(body, 500, "InternalError")
        self.assertEqual(self.k.get(f"{DEP}/web")[0], 404)
        code, _, _ = self.k.apply(f"{DEP}/web", deployment("web"))
        self.assertEqual(code, 201)
        self.k.control(fail_writes=1, fail_status=503)
        code, _, body = self.k.apply(f"{DEP}/web", deployment("web"))
        self.assertEqual(code, 503)
        self.assertStatus(body, 503, "ServiceUnavailable")
        statuses = [(w["status"], w["fault"]) for w in self.k.writes() if w["kind"] == "Deployment"]
        self.assertEqual(statuses, [(500, "fail"), (500, "fail"), (201, None), (503, "fail")])

    def test_hang_writes_make_client_time_out(self):
        self.k.control(hang_writes=1, hang_ms=700)
        with self.assertRaises((TimeoutError, socket.timeout, urllib.error.URLError)):
            self.k.apply(f"{DEP}/web", deployment("web"), timeout=0.2)
        time.sleep(0.8)
        code, _, _ = self.k.apply(f"{DEP}/web", deployment("web"))
        self.assertEqual(code, 200)  # the hung write was applied after its hang (hang_apply defaults to true)
        w = [w for w in self.k.writes() if w["kind"] == "Deployment"]
        self.assertEqual(w[0]["fault"], "hang")
        self.assertGreaterEqual(w[0]["end"] - w[0]["start"], 0.7)
        self.k.control(hang_writes=1, hang_ms=10, hang_apply=False)
        code, _, body = self.k.apply(f"{DEP}/other", deployment("other"))
        self.assertEqual(code, 504)
        self.assertStatus(body, 504, "Timeout")
        self.assertEqual(self.k.get(f"{DEP}/other")[0], 404)

    def test_reject_names_422(self):
        self.k.control(reject_names=["bad-name"])
        code, headers, body = self.k.apply(f"{DEP}/bad-name", deployment("bad-name"))
        self.assertEqual(code, 422)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(set(body), {"kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"})
        self.assertStatus(body, 422, "Invalid")
        self.assertEqual(body["metadata"], {})
        self.assertEqual(body["message"], 'Deployment.apps "bad-name" is invalid: '
                                          'spec.template.spec.containers[0].image: Required value')
        self.assertEqual(body["details"], {"name": "bad-name", "group": "apps", "kind": "Deployment", "causes": [
            {"reason": "FieldValueRequired", "message": "Required value",
             "field": "spec.template.spec.containers[0].image"}]})
        self.assertEqual(self.k.apply(f"{DEP}/good", deployment("good"))[0], 201)
        self.k.control(reject_message='{qualified_kind} "{name}" is invalid: spec.replicas: nope', reject_status=422)
        _, _, body = self.k.apply(f"{DEP}/bad-name", deployment("bad-name"))
        self.assertEqual(body["message"], 'Deployment.apps "bad-name" is invalid: spec.replicas: nope')
        self.assertEqual(self.k.writes()[-1]["fault"], "reject")

    # ---- recording and control

    def test_record_file_lines(self):
        self.k.apply(f"{DEP}/web", deployment("web"), token="worker-1")
        self.k.apply(f"{DEP}/web", deployment("web"), manager=None, token="worker-2")
        self.k.get(f"{DEP}/web")  # reads are not recorded by default
        self.k.writes()  # returns once the writes answered so far are recorded (in the file too)
        with open(self.k.record) as f:
            lines = [json.loads(line) for line in f]
        self.assertEqual([r["seq"] for r in lines], [1, 2, 3])  # namespace from setUp, then two
        first = lines[1]
        for key in ("seq", "start", "end", "method", "path", "field_manager", "force", "token", "status", "object"):
            self.assertIn(key, first)
        self.assertEqual(first["method"], "PATCH")
        self.assertEqual(first["path"], f"{DEP}/web")
        self.assertEqual((first["field_manager"], first["force"], first["token"], first["status"]),
                         ("stargate", True, "worker-1", 201))
        self.assertEqual(first["object"], deployment("web"))
        self.assertLessEqual(first["start"], first["end"])
        self.assertEqual((lines[2]["token"], lines[2]["status"], lines[2]["field_manager"]), ("worker-2", 400, None))
        self.assertEqual(self.k.writes(), lines)
        self.assertEqual(self.k.request("GET", "/_control/writes?since=2")[2], lines[2:])

    def test_control_reset(self):
        self.k.apply(f"{DEP}/web", deployment("web"))
        self.k.control(fail_writes=5)
        self.assertEqual(self.k.request("GET", "/_control")[2]["fail_writes"], 5)
        code, _, body = self.k.reset()
        self.assertEqual((code, body), (200, {"ok": True}))
        self.assertEqual(self.k.writes(), [])
        with open(self.k.record) as f:
            self.assertEqual(f.read(), "")
        self.assertEqual(self.k.get(f"{DEP}/web")[0], 404)
        self.assertEqual(self.k.get("/api/v1/namespaces/team-a")[0], 404)
        self.assertEqual(self.k.get("/api/v1/namespaces/default")[0], 200)
        self.assertEqual(self.k.request("GET", "/_control")[2]["fail_writes"], 5)  # faults survive a plain reset
        self.k.reset(config=True)
        self.assertEqual(self.k.request("GET", "/_control")[2]["fail_writes"], 0)
        code, _, body = self.k.request("POST", "/_control", {"fail_writez": 1}, "application/json")
        self.assertEqual(code, 400)
        self.assertStatus(body, 400, "BadRequest")

    def test_objects_dump(self):
        self.k.apply(f"{DEP}/web", deployment("web"))
        _, _, objs = self.k.request("GET", "/_control/objects?kind=Deployment")
        self.assertEqual([o["metadata"]["name"] for o in objs], ["web"])

    def test_dry_run_stores_nothing(self):
        code, _, body = self.k.request("PATCH", f"{DEP}/web?fieldManager=stargate&dryRun=All", deployment("web"), APPLY)
        self.assertEqual(code, 201)
        self.assertEqual(body["metadata"]["generation"], 1)
        self.assertEqual(self.k.get(f"{DEP}/web")[0], 404)

    def test_create_and_delete(self):
        code, _, body = self.k.request("POST", f"{DEP}?fieldManager=stargate", deployment("web"), "application/json")
        self.assertEqual(code, 201)
        code, _, body = self.k.request("POST", f"{DEP}?fieldManager=stargate", deployment("web"), "application/json")
        self.assertEqual(code, 409)
        self.assertStatus(body, 409, "AlreadyExists")
        code, _, body = self.k.request("DELETE", f"{DEP}/web")
        self.assertEqual((code, body["status"]), (200, "Success"))
        self.assertEqual(self.k.get(f"{DEP}/web")[0], 404)

    def test_foreground_delete_keeps_the_object_marked_until_its_dependents_are_gone(self):
        self.k.control(rollout_ms=300)
        self.k.apply(f"{DEP}/web", deployment("web"))
        code, _, body = self.k.request("DELETE", f"{DEP}/web", {"propagationPolicy": "Foreground"},
                                       "application/json")
        self.assertEqual(code, 200)
        self.assertIn("deletionTimestamp", body["metadata"])
        self.assertIn("foregroundDeletion", body["metadata"]["finalizers"])
        code, _, live = self.k.get(f"{DEP}/web")
        self.assertEqual(code, 200)
        self.assertIn("deletionTimestamp", live["metadata"])
        # Deleting again while it goes is no error, and does not restart the clock.
        self.assertEqual(self.k.request("DELETE", f"{DEP}/web", {"propagationPolicy": "Foreground"},
                                        "application/json")[0], 200)
        deadline = time.time() + 3
        while self.k.get(f"{DEP}/web")[0] != 404 and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.k.get(f"{DEP}/web")[0], 404)
        # Background (or none given) deletes at once.
        self.k.apply(f"{DEP}/api", deployment("api"))
        code, _, body = self.k.request("DELETE", f"{DEP}/api", {"propagationPolicy": "Background"},
                                       "application/json")
        self.assertEqual((code, body["status"]), (200, "Success"))
        self.assertEqual(self.k.get(f"{DEP}/api")[0], 404)

    # ---- watch

    def _watch(self, path, timeout=5):
        conn = http.client.HTTPConnection("127.0.0.1", self.k.port, timeout=timeout)
        conn.request("GET", path)
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        return conn, resp

    def test_watch_from_list_resource_version(self):
        self.k.control(rollout_ms=200)
        self.k.apply(f"{DEP}/web", deployment("web"))
        _, _, lst = self.k.get(DEP + "?&fieldSelector=metadata.name%3Dweb")
        rv = lst["metadata"]["resourceVersion"]
        conn, resp = self._watch(f"{DEP}?&watch=true&timeoutSeconds=5&allowWatchBookmarks=true"
                                 f"&fieldSelector=metadata.name%3Dweb&resourceVersion={rv}")
        # the rollout finishing is a MODIFIED event (status written by the "controller")
        event = json.loads(resp.readline())
        self.assertEqual(event["type"], "MODIFIED")
        self.assertEqual(event["object"]["status"]["availableReplicas"], 2)
        self.k.apply(f"{DEP}/other", deployment("other"))  # filtered out by the field selector
        self.k.apply(f"{DEP}/web", deployment("web", replicas=4))
        event = json.loads(resp.readline())
        self.assertEqual((event["type"], event["object"]["spec"]["replicas"]), ("MODIFIED", 4))
        conn.close()

    def test_watch_initial_added_and_timeout(self):
        self.k.apply(f"{DEP}/web", deployment("web"))
        start = time.time()
        conn, resp = self._watch(f"{DEP}?&watch=true&timeoutSeconds=1&resourceVersion=0")
        events = [json.loads(line) for line in resp.read().splitlines()]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events], [("ADDED", "web")])
        self.assertGreaterEqual(time.time() - start, 0.9)
        conn.close()
        conn, resp = self._watch(f"{DEP}?&watch=true&timeoutSeconds=1&resourceVersion=1")
        event = json.loads(resp.readline())
        self.assertEqual(event["type"], "ERROR")
        self.assertEqual(event["object"]["code"], 410)
        conn.close()

    # ---- the status subresource

    def test_status_patch_writes_status_only_and_is_watched(self):
        self.k.apply(f"{CRT}/api", certificate("api"))
        _, _, lst = self.k.get(CRT)
        rv = lst["metadata"]["resourceVersion"]
        conn, resp = self._watch(f"{CRT}?&watch=true&timeoutSeconds=5&resourceVersion={rv}")
        patch = {"spec": {"secretName": "ignored"},
                 "status": {"notAfter": "2027-01-02T03:04:05Z",
                            "conditions": [{"type": "Ready", "status": "False", "reason": "Expired"}]}}
        code, _, body = self.k.patch(f"{CRT}/api/status", patch, user_agent="cert-manager/v1.16")
        self.assertEqual(code, 200, body)
        self.assertEqual(body["status"]["notAfter"], "2027-01-02T03:04:05Z")
        self.assertEqual(body["status"]["conditions"][0]["status"], "False")
        self.assertEqual(body["spec"]["secretName"], "api-tls")
        event = json.loads(resp.readline())
        self.assertEqual((event["type"], event["object"]["status"]["notAfter"]),
                         ("MODIFIED", "2027-01-02T03:04:05Z"))
        conn.close()
        # The same status again changes nothing, not even the resourceVersion.
        code, _, again = self.k.patch(f"{CRT}/api/status", patch)
        self.assertEqual(again["metadata"]["resourceVersion"], body["metadata"]["resourceVersion"])
        # Applying the spec again does not bring the controller's old status back.
        self.k.apply(f"{CRT}/api", certificate("api"))
        self.assertEqual(self.k.get(f"{CRT}/api")[2]["status"]["notAfter"], "2027-01-02T03:04:05Z")
        code, _, body = self.k.patch(f"{CRT}/nothing/status", patch)
        self.assertStatus(body, 404, "NotFound")
        code, _, body = self.k.patch(f"{CRT}/api/status", patch, content_type=APPLY)
        self.assertEqual(code, 415)

    def test_status_patch_of_a_deployment_and_an_ingress(self):
        self.k.apply(f"{DEP}/web", deployment("web", replicas=3))
        code, _, body = self.k.patch(f"{DEP}/web/status", {"status": {"availableReplicas": 1}})
        self.assertEqual((code, body["status"]["availableReplicas"], body["status"]["replicas"]), (200, 1, 3))
        self.k.apply(f"{ING}/web", ingress("web"))
        lb = {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}}
        code, _, body = self.k.patch(f"{ING}/web/status", lb, content_type=STRATEGIC)
        self.assertEqual((code, body["status"]["loadBalancer"]["ingress"]), (200, [{"ip": "203.0.113.9"}]))


def managed(obj):
    """managedFields as {(manager, operation): fieldsV1}, checking the fixed parts of each entry."""
    out = {}
    for e in obj["metadata"]["managedFields"]:
        assert e["fieldsType"] == "FieldsV1", e
        assert e["apiVersion"] == obj["apiVersion"], e
        assert e["time"].endswith("Z"), e
        key = (e["manager"], e["operation"])
        assert key not in out, f"two entries for {key}"
        out[key] = e["fieldsV1"]
    return out


REPLICAS = {"f:spec": {"f:replicas": {}}}
KUBECTL_UA = "kubectl/v1.33.0 (linux/amd64) kubernetes/8adc0f0"


class FieldManagementTest(unittest.TestCase):
    """Field ownership as the Kubernetes server-side apply documentation describes it
    (https://kubernetes.io/docs/reference/using-api/server-side-apply/), one test per example."""

    @classmethod
    def setUpClass(cls):
        cls.k = KubeApi()

    @classmethod
    def tearDownClass(cls):
        cls.k.close()

    def setUp(self):
        self.k.reset(config=True)
        code, _, body = self.k.apply("/api/v1/namespaces/team-a", namespace("team-a"))
        self.assertEqual(code, 201, body)

    def assertOk(self, result, code=200):
        self.assertEqual(result[0], code, result[2])
        return result[2]

    # "Field management": the ConfigMap example, one Apply entry with the applied fields.
    def test_field_management_example(self):
        cm = config_map("test-cm", {"key": "some value"})
        cm["metadata"]["labels"] = {"test-label": "test"}
        body = self.assertOk(self.k.apply(f"{CM}/test-cm", cm, manager="kubectl", force=False), 201)
        self.assertEqual(managed(body), {("kubectl", "Apply"): {
            "f:data": {"f:key": {}}, "f:metadata": {"f:labels": {"f:test-label": {}}}}})
        # "Whenever a field's value does change, ownership moves from its current manager to the
        # manager making the change": an Update (kubectl edit) that changes data.key takes it.
        edited = self.assertOk(self.k.patch(f"{CM}/test-cm", {"data": {"key": "new value"}},
                                            user_agent=KUBECTL_UA))
        self.assertEqual(edited["data"], {"key": "new value"})
        self.assertEqual(managed(edited), {
            ("kubectl", "Apply"): {"f:metadata": {"f:labels": {"f:test-label": {}}}},
            ("kubectl", "Update"): {"f:data": {"f:key": {}}}})

    # "Conflicts": an apply that changes another manager's field is refused; the three ways out.
    def test_conflicts_and_their_resolutions(self):
        self.assertOk(self.k.apply(f"{DEP}/web", deployment("web", replicas=3), manager="kubectl", force=False), 201)
        code, _, body = self.k.apply(f"{DEP}/web", deployment("web", replicas=5), force=False)
        self.assertEqual(code, 409, body)
        self.assertEqual(body["reason"], "Conflict")
        self.assertEqual(body["message"],
                         'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas')
        self.assertEqual(body["details"]["causes"], [{"reason": "FieldManagerConflict",
                                                      "message": 'conflict with "kubectl" using apps/v1',
                                                      "field": ".spec.replicas"}])
        # 2. Don't overwrite: leave the field out; it keeps its value and its owner.
        mine = deployment("web", replicas=3)
        del mine["spec"]["replicas"]
        body = self.assertOk(self.k.apply(f"{DEP}/web", mine, force=False))
        self.assertEqual(body["spec"]["replicas"], 3)
        fields = managed(body)
        self.assertEqual(fields[("kubectl", "Apply")]["f:spec"]["f:replicas"], {})
        self.assertNotIn("f:replicas", fields[("stargate", "Apply")]["f:spec"])
        # 3. Don't overwrite, share: apply the same value; both own the field ...
        body = self.assertOk(self.k.apply(f"{DEP}/web", deployment("web", replicas=3), force=False))
        fields = managed(body)
        self.assertIn("f:replicas", fields[("kubectl", "Apply")]["f:spec"])
        self.assertIn("f:replicas", fields[("stargate", "Apply")]["f:spec"])
        # ... and a change by either of them is now a conflict with the other.
        code, _, body = self.k.apply(f"{DEP}/web", deployment("web", replicas=4), manager="kubectl", force=False)
        self.assertEqual(code, 409, body)
        self.assertIn('conflict with "stargate"', body["message"])
        # 1. Overwrite: a forced apply changes the value and takes the field from the other.
        body = self.assertOk(self.k.apply(f"{DEP}/web", deployment("web", replicas=5), force=True))
        self.assertEqual(body["spec"]["replicas"], 5)
        fields = managed(body)
        self.assertIn("f:replicas", fields[("stargate", "Apply")]["f:spec"])
        self.assertNotIn("f:replicas", fields[("kubectl", "Apply")]["f:spec"])
        # The fields both set to the same value stay shared.
        self.assertIn("f:selector", fields[("kubectl", "Apply")]["f:spec"])
        self.assertIn("f:selector", fields[("stargate", "Apply")]["f:spec"])

    # "Managers": Update operations never conflict; the manager is fieldManager, or else the
    # User-Agent up to its first "/".
    def test_updates_never_conflict_and_take_what_they_change(self):
        applied = self.assertOk(self.k.apply(f"{DEP}/web", deployment("web", replicas=2)), 201)
        # kubectl scale / kubectl patch: a merge patch of spec.replicas.
        scaled = self.assertOk(self.k.patch(f"{DEP}/web", {"spec": {"replicas": 5}}, user_agent=KUBECTL_UA))
        self.assertEqual(scaled["spec"]["replicas"], 5)
        self.assertEqual(scaled["metadata"]["generation"], 2)
        self.assertGreater(int(scaled["metadata"]["resourceVersion"]), int(applied["metadata"]["resourceVersion"]))
        fields = managed(scaled)
        self.assertEqual(fields[("kubectl", "Update")], REPLICAS)
        self.assertNotIn("f:replicas", fields[("stargate", "Apply")]["f:spec"])
        self.assertEqual(managed(applied)[("stargate", "Apply")]["f:spec"].keys() - {"f:replicas"},
                         fields[("stargate", "Apply")]["f:spec"].keys())
        # Now stargate's own apply conflicts with the Update's owner ...
        code, _, body = self.k.apply(f"{DEP}/web", deployment("web", replicas=2), force=False)
        self.assertEqual(code, 409, body)
        self.assertEqual(body["message"],
                         'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas')
        # ... until it forces: the field comes back, and the emptied Update entry goes.
        body = self.assertOk(self.k.apply(f"{DEP}/web", deployment("web", replicas=2), force=True))
        self.assertEqual(body["spec"]["replicas"], 2)
        self.assertEqual(list(managed(body)), [("stargate", "Apply")])
        # fieldManager wins over the User-Agent; without either the manager is "unknown".
        body = self.assertOk(self.k.patch(f"{DEP}/web", {"metadata": {"labels": {"a": "1"}}},
                                          manager="ops-script", user_agent=KUBECTL_UA))
        self.assertEqual(managed(body)[("ops-script", "Update")], {"f:metadata": {"f:labels": {"f:a": {}}}})
        raw = json.dumps({"metadata": {"labels": {"b": "2"}}}).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.k.port, timeout=5)
        conn.putrequest("PATCH", f"{DEP}/web", skip_accept_encoding=True)
        conn.putheader("Content-Type", MERGE)
        conn.putheader("Content-Length", str(len(raw)))
        conn.endheaders(raw)
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        self.assertEqual(resp.status, 200, body)
        self.assertEqual(managed(body)[("unknown", "Update")], {"f:metadata": {"f:labels": {"f:b": {}}}})

    # An Update takes only what it changes: a field set to the value it already has keeps its
    # owner (structured-merge-diff's Updater.Update adds compare.Modified and compare.Added only).
    def test_update_to_the_same_value_takes_nothing(self):
        applied = self.assertOk(self.k.apply(f"{DEP}/web", deployment("web", replicas=2)), 201)
        same = self.assertOk(self.k.patch(f"{DEP}/web", {"spec": {"replicas": 2}}, user_agent=KUBECTL_UA))
        self.assertEqual(same["metadata"]["resourceVersion"], applied["metadata"]["resourceVersion"])
        self.assertEqual(managed(same), managed(applied))
        both = self.assertOk(self.k.patch(f"{DEP}/web", {"spec": {"replicas": 2},
                                                         "metadata": {"labels": {"edited": "yes"}}},
                                          user_agent=KUBECTL_UA))
        self.assertEqual(both["metadata"]["generation"], 1)  # metadata only
        fields = managed(both)
        self.assertEqual(fields[("kubectl", "Update")], {"f:metadata": {"f:labels": {"f:edited": {}}}})
        self.assertEqual(fields[("stargate", "Apply")], managed(applied)[("stargate", "Apply")])

    # A merge patch's null deletes a field: it leaves every manager's set, so the next apply
    # sets it again without a conflict.
    def test_merge_patch_null_deletes(self):
        self.assertOk(self.k.apply(f"{DEP}/web", deployment("web", labels={"app": "web", "tier": "x"})), 201)
        body = self.assertOk(self.k.patch(f"{DEP}/web", {"metadata": {"labels": {"tier": None}}},
                                          user_agent=KUBECTL_UA))
        self.assertEqual(body["metadata"]["labels"], {"app": "web"})
        fields = managed(body)
        self.assertNotIn(("kubectl", "Update"), fields)  # it removed a field, and took nothing
        self.assertEqual(fields[("stargate", "Apply")]["f:metadata"], {"f:labels": {"f:app": {}}})
        body = self.assertOk(self.k.apply(f"{DEP}/web", deployment("web", labels={"app": "web", "tier": "x"}),
                                          force=False))
        self.assertEqual(body["metadata"]["labels"], {"app": "web", "tier": "x"})

    # "Transferring ownership": handing spec.replicas over to the HPA without it being reset.
    def test_transferring_ownership_to_the_hpa(self):
        nginx = deployment("nginx-deployment", replicas=3)
        self.assertOk(self.k.apply(f"{DEP}/nginx-deployment", nginx, manager="kubectl", force=False), 201)
        # The HPA (kube-controller-manager, through an Update) has not written replicas yet.
        # Step 1: a temporary manager applies a manifest with only replicas: it shares the field.
        replicas_only = {"apiVersion": "apps/v1", "kind": "Deployment",
                         "metadata": {"name": "nginx-deployment", "namespace": "team-a"},
                         "spec": {"replicas": 3}}
        body = self.assertOk(self.k.apply(f"{DEP}/nginx-deployment", replicas_only,
                                          manager="handover-to-hpa", force=False))
        self.assertEqual(managed(body)[("handover-to-hpa", "Apply")], REPLICAS)
        self.assertIn("f:replicas", managed(body)[("kubectl", "Apply")]["f:spec"])
        # Step 2: the user removes replicas from their configuration; it is not deleted.
        without = deployment("nginx-deployment", replicas=3)
        del without["spec"]["replicas"]
        body = self.assertOk(self.k.apply(f"{DEP}/nginx-deployment", without, manager="kubectl", force=False))
        self.assertEqual(body["spec"]["replicas"], 3)
        self.assertNotIn("f:replicas", managed(body)[("kubectl", "Apply")]["f:spec"])
        # Step 3: the HPA sets a new value; the temporary manager owns nothing more and is gone.
        body = self.assertOk(self.k.patch(f"{DEP}/nginx-deployment", {"spec": {"replicas": 7}},
                                          manager="kube-controller-manager"))
        self.assertEqual(body["spec"]["replicas"], 7)
        fields = managed(body)
        self.assertEqual(fields[("kube-controller-manager", "Update")], REPLICAS)
        self.assertNotIn(("handover-to-hpa", "Apply"), fields)
        # Had the HPA owned replicas already, the handover apply would have conflicted ("do nothing").
        code, _, body = self.k.apply(f"{DEP}/nginx-deployment", replicas_only, manager="handover-to-hpa",
                                     force=False)
        self.assertEqual(code, 409, body)
        self.assertIn('conflict with "kube-controller-manager"', body["message"])
        # The user applying without replicas leaves the HPA's value alone.
        body = self.assertOk(self.k.apply(f"{DEP}/nginx-deployment", without, manager="kubectl", force=False))
        self.assertEqual(body["spec"]["replicas"], 7)

    # The race the handover avoids: dropping a field nobody else owns deletes it, and the
    # server default (replicas: 1) comes back.
    def test_dropping_an_unshared_field_resets_it_to_the_default(self):
        self.assertOk(self.k.apply(f"{DEP}/web", deployment("web", replicas=3), manager="kubectl"), 201)
        without = deployment("web")
        del without["spec"]["replicas"]
        body = self.assertOk(self.k.apply(f"{DEP}/web", without, manager="kubectl"))
        self.assertEqual(body["spec"]["replicas"], 1)
        self.assertNotIn("f:replicas", managed(body)[("kubectl", "Apply")]["f:spec"])

    # "Using Server-Side Apply in a controller" / "Comparison with Client Side Apply": a manager's
    # Apply and Update entries are separate, and an apply conflicts with its own Update entry.
    def test_apply_and_update_entries_of_one_manager_are_separate(self):
        created = self.assertOk(self.k.request("POST", f"{DEP}?fieldManager=stargate", deployment("web"),
                                               "application/json"), 201)
        fields = managed(created)
        self.assertEqual(list(fields), [("stargate", "Update")])
        # A create's Update owns what the server defaulted too (it is in the object it created).
        self.assertIn("f:replicas", fields[("stargate", "Update")]["f:spec"])
        self.assertEqual(fields[("stargate", "Update")]["f:metadata"], {"f:labels": {"f:app": {}}})
        code, _, body = self.k.apply(f"{DEP}/web", deployment("web", replicas=4), force=False)
        self.assertEqual(code, 409, body)
        self.assertIn('conflict with "stargate" using apps/v1: .spec.replicas', body["message"])
        body = self.assertOk(self.k.apply(f"{DEP}/web", deployment("web", replicas=2), force=False))
        fields = managed(body)
        self.assertEqual(set(fields), {("stargate", "Update"), ("stargate", "Apply")})
        self.assertIn("f:replicas", fields[("stargate", "Update")]["f:spec"])
        self.assertIn("f:replicas", fields[("stargate", "Apply")]["f:spec"])

    def test_put_replaces_and_checks_the_resource_version(self):
        self.assertEqual(self.k.put(f"{DEP}/web", deployment("web"))[0], 404)
        applied = self.assertOk(self.k.apply(f"{DEP}/web", deployment("web", labels={"app": "web", "x": "1"})), 201)
        stale = deployment("web", image="nginx:1.28")
        stale["metadata"]["resourceVersion"] = "1"
        code, _, body = self.k.put(f"{DEP}/web", stale)
        self.assertEqual(code, 409, body)
        self.assertEqual(body["reason"], "Conflict")
        self.assertIn("the object has been modified", body["message"])
        fresh = deployment("web", image="nginx:1.28")  # without the label x
        fresh["metadata"]["resourceVersion"] = applied["metadata"]["resourceVersion"]
        body = self.assertOk(self.k.put(f"{DEP}/web", fresh, manager="kubectl-replace"))
        self.assertEqual(body["metadata"]["labels"], {"app": "web"})
        self.assertEqual(body["metadata"]["generation"], 2)
        self.assertEqual(body["metadata"]["uid"], applied["metadata"]["uid"])
        self.assertEqual(body["status"]["readyReplicas"], 2)
        fields = managed(body)
        self.assertEqual(fields[("kubectl-replace", "Update")],
                         {"f:spec": {"f:template": {"f:spec": {"f:containers": {}}}}})
        self.assertNotIn("f:x", fields[("stargate", "Apply")]["f:metadata"]["f:labels"])
        # stargate's apply had only the containers under template.spec: that node is gone.
        self.assertEqual(fields[("stargate", "Apply")]["f:spec"]["f:template"],
                         {"f:metadata": {"f:labels": {"f:app": {}}}})
        # A Service replaced without its clusterIP keeps it.
        svc = self.assertOk(self.k.apply(f"{SVC}/web", service("web")), 201)
        body = self.assertOk(self.k.put(f"{SVC}/web", service("web")))
        self.assertEqual(body["spec"]["clusterIP"], svc["spec"]["clusterIP"])
        self.assertEqual(body["metadata"]["resourceVersion"], svc["metadata"]["resourceVersion"])  # no-op

    def test_strategic_merge_patch_merges_named_lists(self):
        dep = deployment("web")
        dep["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "envoy:1"})
        self.assertOk(self.k.apply(f"{DEP}/web", dep), 201)
        # kubectl set image / kubectl edit: the container named "web" changes, "sidecar" stays.
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}}
        body = self.assertOk(self.k.patch(f"{DEP}/web", patch, STRATEGIC, user_agent=KUBECTL_UA))
        self.assertEqual(body["spec"]["template"]["spec"]["containers"],
                         [{"name": "web", "image": "nginx:1.28"}, {"name": "sidecar", "image": "envoy:1"}])
        self.assertEqual(body["metadata"]["generation"], 2)
        # Lists are atomic for ownership here: the whole containers list moves.
        self.assertEqual(managed(body)[("kubectl", "Update")],
                         {"f:spec": {"f:template": {"f:spec": {"f:containers": {}}}}})
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
        body = self.assertOk(self.k.patch(f"{DEP}/web", patch, STRATEGIC, user_agent=KUBECTL_UA))
        self.assertEqual([c["name"] for c in body["spec"]["template"]["spec"]["containers"]], ["web"])
        # The same patch as a JSON merge patch replaces the list.
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "other", "image": "busybox"}]}}}}
        body = self.assertOk(self.k.patch(f"{DEP}/web", patch, MERGE, user_agent=KUBECTL_UA))
        self.assertEqual(body["spec"]["template"]["spec"]["containers"], [{"name": "other", "image": "busybox"}])

    def test_patch_errors(self):
        self.assertEqual(self.k.patch(f"{DEP}/web", {"spec": {"replicas": 1}})[0], 404)
        self.assertOk(self.k.apply(f"{DEP}/web", deployment("web")), 201)
        code, _, body = self.k.patch(f"{DEP}/web", {"metadata": {"name": "other"}})
        self.assertEqual(code, 400, body)
        code, _, body = self.k.patch(f"{DEP}/web", {"spec": {"replicas": -1}})
        self.assertEqual(code, 422, body)
        self.assertIn("spec.replicas", body["message"])
        code, _, body = self.k.request("PATCH", f"{DEP}/web?force=true", {"spec": {"replicas": 1}}, MERGE)
        self.assertEqual(code, 422, body)
        code, _, body = self.k.patch(f"{DEP}/web", [{"op": "replace", "path": "/spec/replicas", "value": 1}],
                                     "application/json-patch+json")
        self.assertEqual(code, 415, body)
        code, _, body = self.k.patch(f"{DEP}/web", {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 3}})
        self.assertEqual(code, 409, body)

    def test_updates_are_recorded_and_watched(self):
        applied = self.assertOk(self.k.apply(f"{DEP}/web", deployment("web")), 201)
        rv = applied["metadata"]["resourceVersion"]
        conn = http.client.HTTPConnection("127.0.0.1", self.k.port, timeout=5)
        conn.request("GET", f"{DEP}?watch=true&timeoutSeconds=5&resourceVersion={rv}")
        resp = conn.getresponse()
        self.assertOk(self.k.patch(f"{DEP}/web", {"spec": {"replicas": 4}}, manager="kubectl-scale"))
        event = json.loads(resp.readline())
        self.assertEqual((event["type"], event["object"]["spec"]["replicas"]), ("MODIFIED", 4))
        conn.close()
        self.assertOk(self.k.put(f"{DEP}/web", deployment("web", replicas=3), manager="kubectl-replace"))
        writes = [w for w in self.k.writes() if w["kind"] == "Deployment"]
        self.assertEqual([(w["method"], w["field_manager"], w["status"]) for w in writes],
                         [("PATCH", "stargate", 201), ("PATCH", "kubectl-scale", 200),
                          ("PUT", "kubectl-replace", 200)])
        self.assertEqual(writes[1]["object"], {"spec": {"replicas": 4}})
        with open(self.k.record) as f:
            self.assertEqual(len([line for line in f if '"Deployment"' in line]), 3)


class TokenTest(unittest.TestCase):
    def test_require_token(self):
        k = KubeApi("--require-token")
        try:
            code, _, body = k.get("/api/v1/namespaces/default")
            self.assertEqual(code, 401)
            self.assertEqual((body["kind"], body["reason"], body["code"]), ("Status", "Unauthorized", 401))
            code, _, _ = k.get("/api/v1/namespaces/default", token="t1")
            self.assertEqual(code, 200)
            code, _, _ = k.apply("/api/v1/namespaces/team-a", namespace("team-a"))
            self.assertEqual(code, 401)
            code, _, _ = k.apply("/api/v1/namespaces/team-a", namespace("team-a"), token="t2")
            self.assertEqual(code, 201)
            self.assertEqual([(w["token"], w["status"]) for w in k.writes()], [(None, 401), ("t2", 201)])
        finally:
            k.close()


class ProcessTest(unittest.TestCase):
    def test_flags_stdout_and_sigterm(self):
        k = KubeApi("--fail-writes", "1", "--reject-names", "a,b", "--rollout-ms", "5")
        try:
            cfg = k.request("GET", "/_control")[2]
            self.assertEqual((cfg["fail_writes"], cfg["reject_names"], cfg["rollout_ms"]), (1, ["a", "b"], 5))
            self.assertEqual(k.apply("/api/v1/namespaces/x", namespace("x"))[0], 500)
            k.proc.send_signal(signal.SIGTERM)
            self.assertEqual(k.proc.wait(10), 0)
            self.assertEqual(k.proc.stdout.read(), "")  # nothing after the "listening on" line
        finally:
            k.close()

    def test_write_kubeconfig(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "config")
            out = subprocess.run([sys.executable, SERVER, "--write-kubeconfig", path, "--context", "test",
                                  "--server", "http://127.0.0.1:1234", "--token", "tok"],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout, "")
            with open(path) as f:
                text = f.read()
            for line in ('current-context: "test"', 'server: "http://127.0.0.1:1234"', 'token: "tok"',
                         "apiVersion: v1", "kind: Config", "clusters:", "users:", "contexts:"):
                self.assertIn(line, text)
            try:
                import yaml  # not required; checks the YAML when PyYAML happens to be there
            except ImportError:
                return
            doc = yaml.safe_load(text)
            self.assertEqual(doc["clusters"][0]["cluster"]["server"], "http://127.0.0.1:1234")
            self.assertEqual(doc["users"][0]["user"]["token"], "tok")


if __name__ == "__main__":
    unittest.main()
