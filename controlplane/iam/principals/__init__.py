"""The principals IAM stores: users, groups and roles (with role trust policies)."""
