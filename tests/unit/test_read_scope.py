from __future__ import annotations

from handler.read.period import make_period
from handler.read.queries import Scope, in_period

PERIOD = make_period("2026-07-01", "2026-10-01")


def test_scope_filters_by_cluster_account_and_region_together() -> None:
    scope = Scope(PERIOD, ["prod"], accounts=["111111111111", "222222222222"], regions=["eu-west-1"])
    assert scope.filters() == [
        in_period(PERIOD),
        {
            "bool": {
                "should": [{"terms": {"cluster": ["prod"]}}, {"terms": {"instance": ["prod"]}}],
                "minimum_should_match": 1,
            }
        },
        {"terms": {"owner": ["111111111111", "222222222222"]}},
        {"terms": {"region": ["eu-west-1"]}},
    ]
    assert scope.describe() == " for prod in 111111111111, 222222222222 in eu-west-1"


def test_an_empty_scope_is_the_period_alone() -> None:
    scope = Scope(PERIOD)
    assert scope.filters() == [in_period(PERIOD)] and scope.describe() == ""
    assert scope.query({"term": {"user": "x"}}) == {"bool": {"filter": [in_period(PERIOD), {"term": {"user": "x"}}]}}
