"""/v1/reports/page: the supervisor's follow-up page (PDCA's "Check"), HTML over the report API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from .. import auth, plans
from ..deps import SESSION_COOKIE, PrincipalDep, SessionDep, allow
from ..problems import responses
from ._inputs import IsoDate
from .reports import report_inputs, report_period
from .territories import last_published

router = APIRouter(tags=["followup"])
PAGE_PATH = "/v1/reports/page"


@router.get(PAGE_PATH, response_class=HTMLResponse, responses=responses(401, 403, 404, 422), **allow("admin", "supervisor"))
def followup_page(request: Request, session: SessionDep, principal: PrincipalDep,
                  from_: Annotated[IsoDate | None, Query(alias="from")] = None, to: IsoDate | None = None) -> HTMLResponse:
    """The supervisor's follow-up page (HTML; opens in a browser after /login), for ``from``
    to ``to`` (default the 7 days to today; a period picker on the page): the KPIs per rep,
    charts of the weekly visits made against planned, the coverage per rep and the formula's
    three factors per week (sales = stores covered x active rate x average order), the stores
    on a map coloured made / missed / not due, today per rep, the stores not visited (class A
    first) with their last visit, and the suggestions to apply or dismiss. It reads
    ``/v1/reports/*`` and ``/v1/suggestions`` with the page's cookie; a supervisor limited to a
    team sees its reps and their stores."""
    from maps.followup import followup_page as page

    period, today = report_period(request, session, from_, to)
    data = report_inputs(session, period, today, principal).data
    stores = [s for s in data.stores if data.active(s.id)]
    published = last_published(session)
    cookie = request.cookies.get(SESSION_COOKIE) if "authorization" not in request.headers else None
    team = "Your team" if principal.team is not None else "The team"
    config = {
        "today": today.isoformat(), "from": period.start.isoformat(), "to": period.end.isoformat(),
        "today_plan": plans.plan_of_day(session, today) is not None,
        "csrf": auth.csrf_token(cookie) if cookie else None, "classes": sorted(data.policy.classes), "team_label": team,
        "subtitle": f"{team}: {len(data.reps)} rep{'s' * (len(data.reps) != 1)}, {len(stores)} stores. "
                    f"Today is {today:%a %d %b %Y}.",
        "urls": {"visits": "/v1/reports/visits", "unvisited": "/v1/reports/unvisited", "today": "/v1/reports/today",
                 "suggestions": "/v1/suggestions"},
    }
    roads = request.app.state.road_network(published.network) if published is not None else None
    html = page(stores, data.reps, {s.id: data.store_rep(s) for s in stores}, config, roads=roads)
    # no-store: the page carries its CSRF token; never in a frame: its buttons must not be clicked through another page
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "Content-Security-Policy": "frame-ancestors 'none'",
                                       "X-Frame-Options": "DENY"})
