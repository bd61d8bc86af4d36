"""Programs that run inside the cluster, not among the declarations. Standard library only, and no import of the rest
of the package: each pod runs its file as the plan's ConfigMap holds it."""
