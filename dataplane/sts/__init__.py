"""Regional STS and IMDS: the STS Query API and the instance metadata service.

- :mod:`dataplane.sts.api`: the Query endpoint; one module per action family
  (:mod:`~dataplane.sts.assume_role`, :mod:`~dataplane.sts.federation`,
  :mod:`~dataplane.sts.caller_identity`, ...), each a function of an
  :class:`~dataplane.sts.call.StsCall`.
- :mod:`dataplane.sts.instance_metadata`: IMDS, handing instance-profile sessions to EC2.

Sessions and their tokens are callers like any other: they live in :mod:`dataplane.identity`.
"""
