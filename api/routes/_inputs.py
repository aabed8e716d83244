"""What the stores and reps routers share: reading an upload, paging, the import options."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel, BeforeValidator, WithJsonSchema

from routing.errors import InputError, InputProblem

from .. import records
from ..problems import ProblemError

T = TypeVar("T", bound=BaseModel)


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def loads(text: str | bytes):
    """Strict JSON: NaN and Infinity (which Python's json accepts) are refused, and so is
    nesting too deep to read."""
    try:
        return json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _empty_is_none(value):
    return None if value == "" else value


#: A list's ``active`` filter: ``true`` (the default) the active rows, ``false`` the
#: deactivated ones, empty (``active=``) both.
ActiveFilter = Annotated[bool | None, BeforeValidator(_empty_is_none),
                         WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "string", "enum": [""]}]}),
                         Query(description="true (default): active ones; false: deactivated ones; empty (`active=`): both")]

def _iso_date(value):
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected a date YYYY-MM-DD")
    return value


#: A date in a query: ``2026-12-03`` only (pydantic alone would take ``0`` as 1970-01-01).
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]

def with_time_limit(body: T, max_plan_time_s: float) -> T:
    """A job's request with its time limit: the one asked (422 past the service's
    ``FIELDROUTE_MAX_PLAN_TIME_S``), else the default, lowered to that maximum if above it."""
    if "time_limit_s" not in body.model_fields_set:
        return body.model_copy(update={"time_limit_s": min(body.time_limit_s, max_plan_time_s)})
    if body.time_limit_s > max_plan_time_s:
        raise ProblemError(422, f"time_limit_s: at most {max_plan_time_s:g} s on this service, got {body.time_limit_s:g}")
    return body


UPLOAD_TYPES = ("application/json", "text/csv", "application/geo+json", "multipart/form-data")


async def read_upload(request: Request, source: str, *, geojson: bool) -> tuple[Any, str]:
    """The body of an import and its format ("json", "csv" or "geojson"), by content type; a
    multipart form's ``file`` field by its file name."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ProblemError(422, "a multipart upload needs the file in a field named 'file'")
        name = (upload.filename or "").lower()
        raw, content_type = await upload.read(), ("text/csv" if name.endswith(".csv") else "application/geo+json")
    else:
        raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([InputProblem(source, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    if content_type == "text/csv":
        return text, "csv"
    if content_type not in ("application/json", "application/geo+json"):
        raise ProblemError(415, f"send the rows as {', '.join(UPLOAD_TYPES[:3 if geojson else 2])} or a multipart 'file', "
                                f"not {content_type or 'no content type'}")
    try:
        data = loads(text)
    except ValueError as exc:
        raise InputError([InputProblem(source, None, None, f"not valid JSON: {exc}")]) from None
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        if not geojson:
            raise ProblemError(415, "reps are imported as CSV or a JSON list, not GeoJSON")
        return data, "geojson"
    return data, "json"


def run_import(session, kind, data, fmt: str, sync: bool, dry_run: bool):
    """The blocking part of an import (parsing, the database): run it off the event loop."""
    report = records.import_records(session, kind, data, fmt, sync=sync, dry_run=dry_run)
    session.commit()
    return report


async def read_object(request: Request, source: str) -> dict:
    """A JSON object body (a patch)."""
    try:
        data = loads(await request.body())
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InputError([InputProblem(source, None, None, f"not valid JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise InputError([InputProblem(source, None, None, "expected a JSON object")])
    return data


STORES_CSV = "id,name,lat,lon,class,opening_hours\nS1,Corner shop,43.73,7.42,A,Mo-Sa 08:00-19:00\n"


def upload_body(item_schema: dict, *, geojson: bool, example: str = STORES_CSV) -> dict:
    """OpenAPI requestBody of an import: a JSON list, CSV text (GeoJSON for stores) or a multipart file."""
    content = {
        "application/json": {"schema": {"type": "array", "items": item_schema}},
        "text/csv": {"schema": {"type": "string"}, "example": example},
        "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}},
                                           "required": ["file"]}},
    }
    if geojson:
        content["application/geo+json"] = {"schema": {"type": "object", "description": "a FeatureCollection of Points"}}
    return {"requestBody": {"required": True, "content": content}}


def patch_body(item_schema: dict) -> dict:
    schema = dict(item_schema, required=[])
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def csv_text(text: str) -> str:
    """Text a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
