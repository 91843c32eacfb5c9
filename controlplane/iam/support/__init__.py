"""What many IAM actions share: IAM's error codes, List* pagination and tagging."""
