"""`imaas preflight`: whether a live cluster can hold the platform, read with the official Kubernetes client. A layer
of its own: it reads a cluster, declares nothing, and never imports Pulumi."""
