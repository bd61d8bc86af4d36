"""What the platform declares, as plain data free of Pulumi: every object body, rule table, name and chart value the
components create resources from, and that the guardrails, the policy pack, the checks and the tests read, one
definition for all. One module per concept:

- names: naming, namespace_objects, types;
- a tenant's fence: isolation (namespace, quota, limits, NetworkPolicy, priority classes), roles (RBAC), connections
  (egress), admission, app_project, capacity, safety (what is never deleted);
- delivery: delivery (CI trust, registries, rulesets), iam, applications, promotion, workload, guide, images;
- what services need at run time: secrets, exposure, storage;
- the shared releases and observability: charts, chart_values, argocd, prometheus, alerts, dashboards, grafana,
  telemetry, traces, log_routing, store_auth, store_clients, fence (the observability namespace's), tenant_config.

The programs that run inside the cluster are not declarations: they are in imaas/incluster, which tenant_config ships
in a ConfigMap."""
