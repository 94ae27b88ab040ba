"""The gate's leads part: the ``lead_stages`` mart's rows of the leads in scope.

Which leads a scope holds (docs/funnel-design.md, "The gate"):

- **region**: the lead's own region (its latest import's, as ``lead_stages`` gives it), against the regions the
  user may see and the region filter (:meth:`analytics.scope.Scope.visible_regions`): a sales manager sees the
  leads of their regions only. A lead **without a region** is seen only by a user who sees every region
  (``allowed_regions`` None: never a sales manager, even one whose list names every region) with no region filter;
- **segment and tier filters**: through the lead's linked customer (``customer_id``): the customer's segment
  (``customer_summary``) and tier over the tier window, as every customer is filtered. A lead **without a
  customer** has neither, so it is kept only when neither filter is set;
- **channels** do not apply: a lead has no sales channel (its ``source`` is a group of the funnel, not a filter);
- the **period** does not apply here: the funnel picks its cohort by the lead's created date.

A lead's linked customer counts for the lead whatever the customer's home region: the lead is the user's, and
the funnel shows only when its customer first bought, bought again and became loyal (never the customer's rows).
"""

from __future__ import annotations

from analytics.scope import Rows, Scope, _in, _segment_test, _tier_test


def leads(scope: Scope) -> Rows:
    """The rows of ``lead_stages`` (every column: one row per lead and stage evidence) of the leads in ``scope``
    (module docstring): all of a lead's rows or none."""
    params: list = []
    where = [_in("l.region", scope.visible_regions(), params), _segment_test("l", scope, params),
             _tier_test("l.customer_id", scope, params)]
    return Rows(f"select l.* from lead_stages l where {' and '.join(where)}", tuple(params))
