"""Dify's `metadata_condition` as a SearchFilter: the conditions cs_rag honours exactly, and an
error naming the first it cannot.

| name | operators | keeps |
|---|---|---|
| category | is, in | entries of that category (of one of those) |
| kind | is, in | faq, policy or passage entries |
| products | contains, in | entries about that product (one of those), and entries about no product |
| valid_on | is, = | entries valid on that day |
| valid_from + valid_to | before D + after D | entries valid on day D (both conditions, same day) |

Days are ISO dates ("2025-11-11") or Unix timestamps (Dify's time fields), read in `timezone`;
validity ends are included. `and` joins conditions on any fields; `or` joins conditions on one
of category, kind and products (a SearchFilter cannot ask for one field or another)."""

from __future__ import annotations

import datetime as dt
from typing import NoReturn
from zoneinfo import ZoneInfo

from cs_rag.index.base import SearchFilter
from cs_rag.service.dify import Condition, MetadataCondition
from cs_rag.service.responses import invalid
from cs_rag.types import DocumentKind

SUPPORTED = {"category": ("is", "in"), "kind": ("is", "in"), "products": ("contains", "in"),
             "valid_on": ("is", "="), "valid_from": ("before",), "valid_to": ("after",)}
_DAYS = ("valid_on", "valid_from", "valid_to")

Loc = tuple[str | int, ...]


def _unsupported(loc: Loc, message: str) -> NoReturn:
    """A 400 on Dify's route (a validation error) naming the condition at `loc`."""
    invalid(("body", *loc), "unsupported_condition", message)


def search_filter(condition: MetadataCondition | None, timezone: str | None = None) -> SearchFilter | None:
    """The SearchFilter meaning exactly `condition`; None when it has no conditions. A condition
    it cannot honour raises RequestValidationError naming it."""
    if condition is None or not condition.conditions:
        return None
    either = condition.logical_operator == "or"
    names: dict[str, set[str]] = {}
    days: dict[str, dt.date] = {}
    for i, cond in enumerate(condition.conditions):
        loc: Loc = ("metadata_condition", "conditions", i)
        name = _check_operator(cond, loc)
        if name in _DAYS:
            day = _day(cond.value, (*loc, "value"), timezone)
            if days.setdefault(name, day) != day:
                _unsupported(loc, f"{name} names two different days")
        elif name not in names:
            names[name] = _values(cond, name, loc)
        elif either:
            names[name] |= _values(cond, name, loc)
        elif name == "products" and names[name] != _values(cond, name, loc):
            _unsupported(loc, "cs_rag keeps entries about any one of the products "
                         "asked for; it cannot require several at once (use 'in')")
        else:
            names[name] &= _values(cond, name, loc)
    if either and len(names) + len(days) > 1:
        _unsupported(("metadata_condition", "logical_operator"),
                     "'or' joins conditions on one field of category, kind and "
                     "products only; conditions on different fields need 'and'")
    return SearchFilter(categories=names.get("category"), products=names.get("products"),
                        kinds={DocumentKind(k) for k in names["kind"]} if "kind" in names else None,
                        valid_on=_valid_on(days, condition))


def _check_operator(cond: Condition, loc: Loc) -> str:
    name = cond.name.strip()
    operators = SUPPORTED.get(name)
    if operators is None:
        _unsupported((*loc, "name"), f"cs_rag cannot filter on {cond.name!r}; it "
                     f"filters on {', '.join(SUPPORTED)}")
    if cond.comparison_operator not in operators:
        _unsupported((*loc, "comparison_operator"), f"cs_rag cannot filter {name} "
                     f"with {cond.comparison_operator!r}; it can with "
                     f"{', '.join(repr(o) for o in operators)}")
    return name


def _values(cond: Condition, name: str, loc: Loc) -> set[str]:
    """The names a condition allows: one for is / contains, a list (or comma-separated text) for in."""
    value, where = cond.value, (*loc, "value")
    if cond.comparison_operator == "in":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            _unsupported(where, "'in' needs a list of names")
    elif isinstance(value, str):
        items = [value]
    else:
        _unsupported(where, f"{cond.comparison_operator!r} needs one name (text)")
    found = {item.strip() for item in items if item.strip()}
    if not found:
        _unsupported(where, "no name given")
    if name == "kind":
        unknown = sorted(found - {k.value for k in DocumentKind})
        if unknown:
            _unsupported(where, f"unknown kind {unknown[0]!r}; kinds are "
                         f"{', '.join(k.value for k in DocumentKind)}")
    return found


def _day(value: object, loc: Loc, timezone: str | None) -> dt.date:
    """An ISO date or datetime, or a Unix timestamp (seconds) read in `timezone`."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, ZoneInfo(timezone) if timezone else None).date()
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip()).date()
        except ValueError:
            pass
    _unsupported(loc, f"not a day: {value!r} (give an ISO date such as "
                 "'2025-11-11' or a Unix timestamp)")


def _valid_on(days: dict[str, dt.date], condition: MetadataCondition) -> dt.date | None:
    """The one day the date conditions ask entries to be valid on."""
    ends = {name: days[name] for name in ("valid_from", "valid_to") if name in days}
    if len(ends) == 1:
        (name, _), = ends.items()
        other = "valid_to 'after'" if name == "valid_from" else "valid_from 'before'"
        _unsupported(_position(condition, name), f"cs_rag filters on the day an "
                     f"entry is valid: {name} needs {other} the same day beside it")
    if len(set(days.values())) > 1:
        _unsupported(_position(condition, "valid_to" if ends else "valid_on"),
                     "the date conditions name different days; cs_rag keeps the "
                     "entries valid on one day")
    return next(iter(days.values()), None)


def _position(condition: MetadataCondition, name: str) -> Loc:
    index = next(i for i, c in enumerate(condition.conditions) if c.name.strip() == name)
    return ("metadata_condition", "conditions", index)
