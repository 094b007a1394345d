"""The Kubernetes manifests as `kubectl kustomize` renders them: the kinds,
and that probes, ports, paths, mounts and the config agree with each other
and with the daemon. The last test runs featmond with the container's own
arguments and the rendered ConfigMap (mounts mapped to temporary
directories) and calls the probe and scrape paths on it."""
import importlib.util
import json
import os
import subprocess
import tempfile
import unittest

import yaml

from deploytest import BUILD, SOURCE, Featmond, free_port, http_get, http_json, wait_for

KUSTOMIZE_DIR = os.path.join(SOURCE, "deploy", "kubernetes")
CLUSTER_DIR = os.path.join(SOURCE, "deploy", "kubernetes-cluster")


def render(directory=KUSTOMIZE_DIR):
    out = subprocess.run(["kubectl", "kustomize", directory], check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


class KubernetesTest(unittest.TestCase):
    """deploy/kubernetes: every pod a full copy (read replicas)."""
    DIRECTORY = KUSTOMIZE_DIR

    @classmethod
    def setUpClass(cls):
        cls.objects = render(cls.DIRECTORY)
        cls.by_kind = {}
        for o in cls.objects:
            cls.by_kind.setdefault(o["kind"], []).append(o)
        cls.sts = cls.by_kind["StatefulSet"][0]
        cls.pod = cls.sts["spec"]["template"]["spec"]
        cls.container = cls.pod["containers"][0]
        cls.configmap = cls.by_kind["ConfigMap"][0]
        cls.config = yaml.safe_load(cls.configmap["data"]["featmon.yaml"])
        cls.args = dict(a[2:].split("=", 1) for a in cls.container["args"])

    def test_kinds(self):
        self.assertEqual(sorted(o["kind"] for o in self.objects),
                         ["ConfigMap", "PodDisruptionBudget", "PrometheusRule", "Service", "Service",
                          "ServiceMonitor", "StatefulSet"])

    def test_probes_and_ports_match_the_daemons_config(self):
        port = {p["name"]: p["containerPort"] for p in self.container["ports"]}["http"]
        self.assertEqual(int(self.config["http"]["listen"].rsplit(":", 1)[1]), port)
        self.assertFalse(self.config["http"]["listen"].startswith("127."), "probes cannot reach loopback")
        self.assertEqual(self.container["livenessProbe"]["httpGet"], {"path": "/healthz", "port": "http"})
        self.assertEqual(self.container["readinessProbe"]["httpGet"], {"path": "/readyz", "port": "http"})
        self.assertEqual(self.container["startupProbe"]["httpGet"]["path"], "/healthz")
        for svc in self.by_kind["Service"]:
            for p in svc["spec"]["ports"]:
                self.assertEqual(p["targetPort"], "http")
                self.assertEqual(p["port"], port)

    def test_state_on_a_claim_per_pod_config_from_the_configmap(self):
        mounts = {m["name"]: m["mountPath"] for m in self.container["volumeMounts"]}
        claims = [c["metadata"]["name"] for c in self.sts["spec"]["volumeClaimTemplates"]]
        self.assertEqual(claims, ["data"])
        self.assertEqual(self.sts["spec"]["volumeClaimTemplates"][0]["spec"]["accessModes"], ["ReadWriteOnce"])
        self.assertTrue(self.args["data-dir"].startswith(mounts["data"] + "/"))
        self.assertEqual(self.args["data-dir"], self.config["store"]["data_dir"])
        volumes = {v["name"]: v for v in self.pod["volumes"]}
        self.assertEqual(volumes["config"]["configMap"]["name"], self.configmap["metadata"]["name"])
        self.assertEqual(os.path.dirname(self.args["config"]), mounts["config"])
        self.assertIn(os.path.basename(self.args["config"]), self.configmap["data"])

    def test_pod_is_non_root_read_only_bounded_and_stops_gracefully(self):
        self.assertTrue(self.pod["securityContext"]["runAsNonRoot"])
        self.assertNotEqual(self.pod["securityContext"]["runAsUser"], 0)
        sc = self.container["securityContext"]
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        for kind in ("requests", "limits"):
            self.assertEqual(set(self.container["resources"][kind]), {"cpu", "memory"})
        pre_stop = self.container["lifecycle"]["preStop"]["exec"]["command"]
        self.assertEqual(pre_stop[0], "sleep")
        # preStop, then the final commit and leaving the groups (seconds), with room to spare.
        self.assertGreaterEqual(self.pod["terminationGracePeriodSeconds"], int(pre_stop[1]) + 30)

    def test_pdb_and_servicemonitor_select_what_they_should(self):
        pod_labels = self.sts["spec"]["template"]["metadata"]["labels"]
        pdb = self.by_kind["PodDisruptionBudget"][0]["spec"]
        self.assertTrue(set(pdb["selector"]["matchLabels"].items()) <= set(pod_labels.items()))
        # A drain may take a pod, and never all of them.
        if "minAvailable" in pdb:
            self.assertLess(pdb["minAvailable"], self.sts["spec"]["replicas"])
        else:
            self.assertGreaterEqual(pdb["maxUnavailable"], 1)
            self.assertLess(pdb["maxUnavailable"], self.sts["spec"]["replicas"])
        monitor = self.by_kind["ServiceMonitor"][0]["spec"]
        scraped = [s for s in self.by_kind["Service"]
                   if set(monitor["selector"]["matchLabels"].items()) <= set(s["metadata"]["labels"].items())]
        # Exactly one Service: the headless one would scrape every pod twice.
        self.assertEqual([s["metadata"]["name"] for s in scraped], ["featmond"])
        self.assertEqual(monitor["endpoints"][0]["port"], "http")
        self.assertEqual(monitor["endpoints"][0]["path"], "/metrics")

    def test_prometheusrule_holds_the_same_rules_as_deploy_prometheus(self):
        with open(os.path.join(SOURCE, "deploy", "prometheus", "featmond.rules.yml")) as f:
            rules = yaml.safe_load(f)
        self.assertEqual(self.by_kind["PrometheusRule"][0]["spec"]["groups"], rules["groups"])
        spec = importlib.util.spec_from_file_location("gen", os.path.join(KUSTOMIZE_DIR, "generate-prometheusrule.py"))
        gen = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gen)
        with open(os.path.join(KUSTOMIZE_DIR, "prometheusrule.yaml")) as f:
            self.assertEqual(f.read(), gen.render(), "run deploy/kubernetes/generate-prometheusrule.py")

    def test_featmond_runs_with_the_containers_arguments_and_answers_the_probes(self):
        with tempfile.TemporaryDirectory() as tmp:
            mounts = {m["mountPath"]: f"{tmp}/{m['name']}" for m in self.container["volumeMounts"]}
            for d in mounts.values():
                os.makedirs(d)
            port = free_port()
            config = dict(self.config, http=dict(self.config["http"], listen=f"127.0.0.1:{port}"))
            with open(os.path.join(mounts["/etc/featmon"], "featmon.yaml"), "w") as f:
                yaml.safe_dump(config, f)

            def mapped(arg):
                # The pod's DNS name stands for 127.0.0.1 here, so its URL check can pass.
                if arg.startswith("--advertised-url="):
                    return f"--advertised-url=http://127.0.0.1:{port}"
                arg = arg.replace("$(POD_NAME)", "featmond-0")
                flag, _, value = arg.partition("=")
                for path, local in mounts.items():
                    if value.startswith(path + "/"):
                        return f"{flag}={local}{value[len(path):]}"
                return arg
            argv = [os.path.join(BUILD, "daemon", "featmond")] + [mapped(a) for a in self.container["args"]]
            # No Kafka here: the embedded broker stands in for kafka.brokers.
            with Featmond(argv + ["--embedded-kafka"], f"{tmp}/featmond.log") as featmond:
                probes = [self.container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")]
                self.assertTrue(featmond.serves(port, probes), f"probes {probes} never all answered 200")
                status, metrics = http_get(port, self.by_kind["ServiceMonitor"][0]["spec"]["endpoints"][0]["path"])
                self.assertEqual(status, 200)
                self.assertIn("featmon_build_info", metrics)
                self.assertTrue(os.path.exists(mounts["/var/lib/featmon"] + "/data/CURRENT"))
                if "advertised-url" in self.args:
                    self.assertTrue(wait_for(lambda: (http_json(port, "/v1/cluster") or {}).get("member", {}).get(
                        "announced"), 40), f"it never announced itself: {http_json(port, '/v1/cluster')}")
                self.assertEqual(featmond.stop(), 0)
                lines = featmond.log_lines()
            # --log-format=json: every line is an object with a component.
            self.assertTrue(lines)
            for line in lines:
                self.assertIn("component", json.loads(line), line)

class ClusterOverlayTest(KubernetesTest):
    """deploy/kubernetes-cluster: the pods form one cluster (issue 13). Every
    check above holds for it too (the probes, mounts, config and a run of
    featmond with its arguments); these are its own."""
    DIRECTORY = CLUSTER_DIR

    def test_only_the_group_and_the_cluster_flags_differ_from_the_base(self):
        # The overlay restates the container's arguments (a list is patched
        # whole): one the base gains must not be lost here.
        base = render(KUSTOMIZE_DIR)
        container = [o for o in base if o["kind"] == "StatefulSet"][0]["spec"]["template"]["spec"]["containers"][0]
        base_args = dict(a[2:].split("=", 1) for a in container["args"])
        self.assertEqual({k: v for k, v in self.args.items() if k not in ("kafka-group-instance-id", "advertised-url")},
                         dict(base_args, **{"kafka-group-id": self.config["kafka"]["group_id"]}))

    def test_one_group_static_ids_and_urls_the_others_reach(self):
        self.assertNotIn("$(", self.args["kafka-group-id"], "one group for every pod")
        self.assertEqual(self.args["kafka-group-instance-id"], "$(POD_NAME)")
        env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in self.container["env"]}
        self.assertEqual(env, {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"})
        port = {p["name"]: p["containerPort"] for p in self.container["ports"]}["http"]
        headless = [s for s in self.by_kind["Service"] if s["spec"].get("clusterIP") == "None"][0]
        self.assertEqual(headless["metadata"]["name"], self.sts["spec"]["serviceName"])
        self.assertEqual(self.args["advertised-url"],
                         f"http://$(POD_NAME).{headless['metadata']['name']}.$(POD_NAMESPACE).svc:{port}")
        # A pod checks its URL before it is ready: its DNS name must resolve by then.
        self.assertTrue(headless["spec"]["publishNotReadyAddresses"])

    def test_state_moves_through_a_changelog_and_a_drain_takes_one_pod(self):
        self.assertTrue(self.config["kafka"]["changelog_topic"])
        self.assertTrue(self.config["kafka"]["members_topic"])
        # Monitoring once for the cluster, its state moving with the owner.
        self.assertTrue(self.config["kafka"]["monitor_changelog_topic"])
        # Each item in one pod: a lookup asks one pod.
        self.assertTrue(self.config["kafka"]["item_repartition_topic"])
        self.assertGreaterEqual(self.sts["spec"]["replicas"], 3)
        pdb = self.by_kind["PodDisruptionBudget"][0]["spec"]
        self.assertEqual(pdb.get("maxUnavailable"), 1)
        self.assertNotIn("minAvailable", pdb)


if __name__ == "__main__":
    unittest.main()
