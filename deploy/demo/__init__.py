"""``iam-planes demo``: the story of IAM's eventual consistency, told with real processes."""

from deploy.demo.story import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
