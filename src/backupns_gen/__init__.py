"""backupns-gen: compiles backupns.yaml into backup scripts and Kubernetes manifests."""

__version__ = "0.1.0"
