"""Regional STS: self-contained session tokens, the STS Query API, session callers.

- :mod:`dataplane.sts.tokens`: sealing and opening tokens, deriving temporary secrets.
- :mod:`dataplane.sts.sessions`: a token as a caller, evaluated against the current state.
- :mod:`dataplane.sts.api`: the Query endpoint; one module per action family
  (:mod:`~dataplane.sts.assume_role`, :mod:`~dataplane.sts.federation`,
  :mod:`~dataplane.sts.identity`).
"""
