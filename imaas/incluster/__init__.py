"""Programs that run inside the cluster, not among the declarations: the tenant-configuration reconciler, which merges
each tenant's own configuration object into what Loki, Tempo, the trace collector and Grafana read at run time, the
Grafana organisation sync it drives, the collector's reload sidecar, and the promotion gate. Standard library only,
and no import of the rest of the package: each pod runs these files as the plan's ConfigMap holds them."""
