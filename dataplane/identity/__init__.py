"""Who is calling and which policies apply: the one home of callers in the data plane.

- :mod:`~dataplane.identity.authentication`: SigV4 and access-key lookup, into a caller.
- :mod:`~dataplane.identity.callers`: the :class:`Caller` protocol and the one PolicySet builder.
- :mod:`~dataplane.identity.long_term`: IAM users and root, by access key or ARN.
- :mod:`~dataplane.identity.sessions` and :mod:`~dataplane.identity.tokens`: temporary
  credentials, sealed in self-contained session tokens.
- :mod:`~dataplane.identity.policy_index`: compiled policies and principals, cached per
  entity version.
- :mod:`~dataplane.identity.requests`: the one builder of the engine's Request.

It sits below every request handler (``/authorize``, STS, IMDS, the service gateway) and
above the evaluation engine only.
"""
