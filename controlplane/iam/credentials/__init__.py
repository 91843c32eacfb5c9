"""Credentials users hold (access keys, passwords, MFA, SSH keys, certificates, service
credentials), the account password policy, and what is reported about their use."""
