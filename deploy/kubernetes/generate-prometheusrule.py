#!/usr/bin/env python3
"""Writes deploy/kubernetes/prometheusrule.yaml, the Prometheus Operator's
PrometheusRule, from deploy/prometheus/featmond.rules.yml, the one source of
featmond's alerting rules. Run it after changing the rules and commit both;
tests/deploy/kubernetes_test.py fails when they disagree.

    /usr/bin/python3 deploy/kubernetes/generate-prometheusrule.py
"""
import os

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "prometheus", "featmond.rules.yml")
TARGET = os.path.join(HERE, "prometheusrule.yaml")

HEADER = """\
# GENERATED from deploy/prometheus/featmond.rules.yml by
# deploy/kubernetes/generate-prometheusrule.py; edit the rules there.
"""


def render():
    with open(SOURCE) as f:
        rules = yaml.safe_load(f)
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "featmond"},
        "spec": {"groups": rules["groups"]},
    }
    return HEADER + yaml.safe_dump(rule, sort_keys=False, width=1000, allow_unicode=True)


if __name__ == "__main__":
    with open(TARGET, "w") as f:
        f.write(render())
    print("wrote deploy/kubernetes/prometheusrule.yaml")
