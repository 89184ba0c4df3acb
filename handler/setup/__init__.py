"""What must exist before documents arrive, and what makes them usable: the index template, the retention
policy, the security roles and their mapping, the Dashboards objects. Used by `rdsaudit setup`, the CDK custom
resource, and (template only) every cold start."""

from handler.setup.cluster import Change, ClusterSetup
from handler.setup.run import SetupOptions, run_setup

__all__ = ["Change", "ClusterSetup", "SetupOptions", "run_setup"]
