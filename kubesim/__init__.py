"""kubesim: a small Kubernetes API simulator that the real kubectl talks to (test-only)."""
