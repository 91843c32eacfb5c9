"""IAM resources that are neither principals, policies nor credentials: identity providers,
instance profiles and server certificates."""
