#!/usr/bin/env python3
"""Writes grafana/dashboards/*.json, featmon's Grafana dashboards, from the
panel lists below: one place to read every query, and the same layout rules
for all four dashboards. Run it after changing a panel and commit both;
tests/deploy/grafana_test.py fails when the JSON and this script disagree, and
tests/deploy/observability_test.py runs every query against a real Prometheus
scraping a real featmond.

    /usr/bin/python3 grafana/build_dashboards.py
"""
import json
import os

SEL = 'job="$job",instance=~"$instance"'
MODEL_SEL = SEL + ',model="$model",model_version=~"$version"'
RATE = "[$__rate_interval]"

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def var_datasource():
    return {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1}


def var_query(name, label, query, multi=False, include_all=False):
    v = {"name": name, "label": label, "type": "query", "datasource": DATASOURCE,
         "query": {"query": query, "refId": f"{name}-variable"}, "definition": query,
         "refresh": 2, "sort": 1, "multi": multi, "includeAll": include_all, "current": {}, "hide": 0}
    if include_all:
        v["allValue"] = ".*"
    return v


COMMON_VARS = [
    var_datasource(),
    var_query("job", "Job", "label_values(featmon_build_info, job)"),
    var_query("instance", "Instance", 'label_values(featmon_build_info{job="$job"}, instance)', True, True),
]
MODEL_VARS = COMMON_VARS + [
    var_query("model", "Model", 'label_values(featmon_drift_score{job="$job"}, model)'),
    var_query("version", "Version", 'label_values(featmon_drift_score{job="$job",model="$model"}, model_version)',
              True, True),
]


def target(expr, legend="", instant=False, fmt="time_series"):
    t = {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend or "__auto", "range": not instant,
         "instant": instant, "format": fmt}
    return t


def panel(title, kind, targets, unit="short", description="", width=12, height=8, **extra):
    p = {"title": title, "type": kind, "datasource": DATASOURCE, "description": description,
         "targets": targets, "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
         "options": {}, "_w": width, "_h": height}
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}}
    p.update(extra)
    return p


def quantiles(metric, by, legend_prefix):
    return [target(f"histogram_quantile({q}, sum by ({by}le) (rate({metric}_bucket{{{SEL}}}{RATE})))",
                   f"{legend_prefix}p{str(q * 100).rstrip('0').rstrip('.')}")
            for q in (0.5, 0.99, 0.999)]


INGEST = ("featmon-ingest", "featmon / Ingest", COMMON_VARS, [], [
    panel("Events consumed per second, by topic", "timeseries",
          [target(f"sum by (topic) (rate(featmon_events_consumed_total{{{SEL}}}{RATE}))", "{{topic}}")],
          "ops", "Every message read from Kafka, valid or not."),
    panel("Rejected (dead-lettered) per second, by reason", "timeseries",
          [target(f"sum by (topic, reason) (rate(featmon_events_rejected_total{{{SEL}}}{RATE}))",
                  "{{topic}} {{reason}}")],
          "ops", "Messages copied to the dead-letter topic, with the reason featmond gave."),
    panel("Dead-letter share, by topic", "timeseries",
          [target(f"sum by (topic) (rate(featmon_events_rejected_total{{{SEL}}}{RATE}))"
                  f" / sum by (topic) (rate(featmon_events_consumed_total{{{SEL}}}{RATE}))", "{{topic}}")],
          "percentunit", "Alerted on above 1% (FeatmonDeadLetterRateHigh)."),
    panel("Consumer lag, by partition", "timeseries",
          [target(f"sum by (topic, partition) (featmon_consumer_lag_messages{{{SEL}}})", "{{topic}}/{{partition}}")],
          "short", "High watermark minus the next offset to process."),
    panel("Event-time lag, by partition", "timeseries",
          [target(f"max by (topic, partition) (featmon_event_time_lag_seconds{{{SEL}}})", "{{topic}}/{{partition}}")],
          "s", "Wall clock minus the newest event time processed: how far behind real time the features are."),
    panel("Read to visible in lookups", "timeseries", quantiles("featmon_read_to_visible_seconds", "", ""),
          "s", "From the poll that read an event to the moment lookups see it (http.isolation decides which)."),
    panel("Commit latency", "timeseries", quantiles("featmon_commit_duration_seconds", "", ""),
          "s", "One RocksDB WriteBatch of entity states and offsets."),
    panel("Commit failures", "timeseries",
          [target(f"sum(increase(featmon_commit_failures_total{{{SEL}}}{RATE}))", "failures")],
          "short", "Failed commits hold offsets and retry; nothing is lost."),
])

SERVING = ("featmon-serving", "featmon / Serving", COMMON_VARS, [], [
    panel("Requests per second, by route", "timeseries",
          [target(f"sum by (route) (rate(featmon_http_request_duration_seconds_count{{{SEL}}}{RATE}))",
                  "{{route}}")], "reqps"),
    panel("Latency percentiles, by route", "timeseries",
          quantiles("featmon_http_request_duration_seconds", "route, ", "{{route}} "), "s",
          "Time to handle a request inside featmond (not the network)."),
    panel("Feature lookup latency p99", "stat",
          [target("histogram_quantile(0.99, sum by (le) (rate(featmon_http_request_duration_seconds_bucket"
                  f"{{{SEL},route=~\"features.*\"}}{RATE})))", "p99")], "s", width=6),
    panel("Up", "stat", [target('up{job="$job",instance=~"$instance"}', "{{instance}}")], "short", width=6),
    panel("Build", "table", [target(f"featmon_build_info{{{SEL}}}", "", instant=True, fmt="table")],
          "short", width=12),
])

FEATURES = ("featmon-features", "featmon / Features", COMMON_VARS, [], [
    panel("Entities in RocksDB", "timeseries",
          [target(f"sum by (instance) (featmon_store_entities{{{SEL}}})", "{{instance}}")], "short",
          "Approximate entity shards (user and item states per input partition)."),
    panel("Entities cached between commits", "timeseries",
          [target(f"sum by (instance) (featmon_cache_entities{{{SEL}}})", "{{instance}}")], "short"),
    panel("State on disk", "timeseries",
          [target(f"sum by (instance) (featmon_store_disk_bytes{{{SEL}}})", "{{instance}}")], "bytes"),
    panel("Bytes written to disk per event, by kind", "timeseries",
          [target(f"sum by (kind) (rate(featmon_store_written_bytes_total{{{SEL}}}{RATE}))"
                  f" / scalar(sum(rate(featmon_events_consumed_total{{{SEL}}}{RATE})))", "{{kind}}")],
          "bytes", "RocksDB's WAL, flush and compaction writes over events consumed: the state layout's write amplification."),
    panel("Late events dropped per second, by topic", "timeseries",
          [target(f"sum by (topic) (rate(featmon_events_late_dropped_total{{{SEL}}}{RATE}))", "{{topic}}")],
          "ops", "Events older than every window that could count them."),
    panel("Events off their user's default partition per second, by topic", "timeseries",
          [target(f"sum by (topic) (rate(featmon_events_off_partition_total{{{SEL}}}{RATE}))", "{{topic}}")],
          "ops", "Events on another partition than Kafka's default partitioner (murmur2) gives their user_id: "
                 "lookups routed by that rule miss those users. 0 when producers key by user with murmur2."),
    panel("Late predictions (monitoring) per second", "timeseries",
          [target(f"sum(rate(featmon_monitor_late_predictions_total{{{SEL}}}{RATE}))", "late predictions")],
          "ops", "Predictions behind the monitoring watermark: counted in later windows only."),
    panel("Predictions not monitored, by limit", "timeseries",
          [target(f"sum by (reason) (rate(featmon_monitor_dropped_total{{{SEL}}}{RATE}))", "{{reason}}")],
          "ops", "max_models or max_pending_labels reached."),
])

RETRAIN_ANNOTATION = {
    "name": "Retrain requests", "datasource": DATASOURCE, "enable": True, "iconColor": "red",
    "expr": f'sum by (model, reason) (increase(featmon_retrain_requests_total{{{SEL},model="$model"}}[1m])) > 0',
    "step": "1m", "titleFormat": "retrain requested", "textFormat": "{{model}}: {{reason}}", "tagKeys": "reason",
}

MODEL_HEALTH = ("featmon-model-health", "featmon / Model health", MODEL_VARS, [RETRAIN_ANNOTATION], [
    panel("Input features drifting", "state-timeline",
          [target(f'max by (feature) (featmon_drift_detected{{{MODEL_SEL},signal="data"}})', "{{feature}}")],
          "short", "1 while a feature alerts (drifting for consecutive evaluations).", width=24,
          fieldConfig={"defaults": {"unit": "short", "mappings": [
              {"type": "value", "options": {"0": {"text": "stable", "color": "green"},
                                            "1": {"text": "drift", "color": "red"}}}]}, "overrides": []}),
    panel("Drift score per feature (last evaluation)", "table",
          [target(f'featmon_drift_score{{{MODEL_SEL},signal="data"}}', "", instant=True, fmt="table")],
          "short", "Every statistic of every input feature, reference vs current window.", width=24,
          transformations=[{"id": "organize", "options": {
              "excludeByName": {"Time": True, "__name__": True, "job": True, "instance": True, "signal": True},
              "renameByName": {"Value": "score"}}}]),
    panel("Prediction drift (scores)", "timeseries",
          [target(f'featmon_drift_score{{{MODEL_SEL},signal="prediction"}}', "{{model_version}} {{statistic}}")],
          "short", "The model's score distribution against its reference window."),
    panel("Label drift (click rate)", "timeseries",
          [target(f'featmon_drift_score{{{MODEL_SEL},signal="label"}}', "{{model_version}} {{statistic}}")],
          "short"),
    panel("Log loss", "timeseries",
          [target(f"featmon_model_logloss{{{MODEL_SEL}}}", "{{model_version}}")], "short",
          "On matured labels of the last evaluated window.", width=6),
    panel("Normalized entropy", "timeseries",
          [target(f"featmon_model_normalized_entropy{{{MODEL_SEL}}}", "{{model_version}}")], "short",
          "Log loss over the entropy of the window's click rate; below 1 is better than the base rate.", width=6),
    panel("Calibration (predicted / observed clicks)", "timeseries",
          [target(f"featmon_model_calibration_ratio{{{MODEL_SEL}}}", "{{model_version}}")], "short", width=6),
    panel("AUC", "timeseries", [target(f"featmon_model_auc{{{MODEL_SEL}}}", "{{model_version}}")], "short", width=6),
    panel("Labels matured per second", "timeseries",
          [target(f'sum by (label) (rate(featmon_labels_matured_total{{{SEL},model="$model"}}{RATE}))', "{{label}}")],
          "ops"),
    panel("Retrain requests", "timeseries",
          [target(f'sum by (reason) (featmon_retrain_requests_total{{{SEL},model="$model"}})', "{{reason}}")],
          "short", "Requests raised since featmond started, by reason."),
    panel("Monitoring watermark delay", "timeseries",
          [target(f"time() - max(featmon_monitor_watermark_seconds{{{SEL}}})", "behind wall clock")], "s",
          "How far event-time evaluation trails now (allowed lateness included)."),
    panel("Predictions awaiting their label", "timeseries",
          [target(f"sum(featmon_monitor_pending_labels{{{SEL}}})", "pending")], "short"),
])

DASHBOARDS = [INGEST, SERVING, FEATURES, MODEL_HEALTH]


def layout(panels):
    out, x, y, row_h = [], 0, 0, 0
    for i, p in enumerate(panels, start=1):
        w, h = p.pop("_w"), p.pop("_h")
        if x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        p["id"] = i
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        for ref, t in enumerate(p["targets"]):
            t["refId"] = chr(ord("A") + ref)
        x += w
        row_h = max(row_h, h)
        out.append(p)
    return out


def dashboard(uid, title, variables, annotations, panels):
    return {
        "uid": uid, "title": title, "tags": ["featmon"], "timezone": "browser", "editable": True,
        "schemaVersion": 38, "version": 1, "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": variables},
        "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                  "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                  "name": "Annotations & Alerts", "type": "dashboard"}] + annotations},
        "links": [{"title": "featmon", "type": "dashboards", "tags": ["featmon"], "asDropdown": True}],
        "panels": layout(panels),
    }


def render():
    """{file name: JSON text} of every dashboard."""
    return {f"{uid}.json": json.dumps(dashboard(uid, title, vars_, ann, [dict(p) for p in panels]), indent=2) + "\n"
            for uid, title, vars_, ann, panels in DASHBOARDS}


if __name__ == "__main__":
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboards")
    for name, text in render().items():
        with open(os.path.join(out_dir, name), "w") as f:
            f.write(text)
        print("wrote", os.path.join("grafana/dashboards", name))
