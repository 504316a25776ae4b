"""Authorization cases for the console's own API (see matrix.py): any signed-in caller."""

from __future__ import annotations

from tests.authz.matrix import Case, any_user_case

CASES: list[Case] = [
    any_user_case("GET", "/api/v1/console/config"),
    any_user_case(
        "GET",
        "/api/v1/console/basemap",
        success=404,
        note="the test platform configures no base map: basemap_not_available",
        absent_is_not_denial=True,
    ),
]
