"""The control plane's HTTP edge: the IAM Query API."""
