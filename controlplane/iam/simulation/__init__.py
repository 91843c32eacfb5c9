"""The policy simulator: SimulatePrincipalPolicy, SimulateCustomPolicy and the context keys
policies reference. The data plane decides; these modules build its queries and shape the
answers."""
