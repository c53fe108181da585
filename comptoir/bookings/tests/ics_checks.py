"""Strict checks of the .ics we produce (../shared/validators/README.md, « iCalendar »): no Python package fully
validates RFC 5545, so each document goes through three parsers and our own rules:

(a) `icalendar`: parsed, no `errors` on any walked component, every DTSTART / DTEND decoded;
(b) `ical` (pydantic, strict on value types);
(c) `vobject.readOne(...).validate()` (required properties: VERSION, PRODID, UID, DTSTAMP);
(d) our own: CRLF line ends, lines folded at 75 octets, UID and DTSTAMP in every VEVENT, DTEND after DTSTART.

`ical` and `vobject` are dev dependencies; without them the tests that use this module are skipped.
"""

from __future__ import annotations

import datetime
from typing import Any


def unfolded(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    lines: list[str] = []
    for line in text.split("\r\n"):
        if line.startswith((" ", "\t")) and lines:
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return [line for line in lines if line]


def own_checks(data: bytes) -> None:
    assert data.endswith(b"\r\n"), "the document ends with CRLF"
    raw_lines = data.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in raw_lines), "every line ends with CRLF"
    too_long = [line for line in raw_lines if len(line) > 75]
    assert not too_long, f"lines longer than 75 octets: {too_long[:3]}"
    for line in raw_lines:  # a fold never splits a UTF-8 character
        line.decode("utf-8")
    lines = unfolded(data)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    event: dict[str, str] | None = None
    for line in lines:
        if line == "BEGIN:VEVENT":
            event = {}
        elif line == "END:VEVENT":
            assert event is not None
            assert event.get("UID"), "every VEVENT has a UID"
            assert event.get("DTSTAMP", "").endswith("Z"), "every VEVENT has a DTSTAMP in UTC"
            start, end = _instant(event["DTSTART"]), _instant(event["DTEND"])
            assert end > start, "DTEND is after DTSTART"
            event = None
        elif event is not None:
            name = line.split(":", 1)[0].split(";", 1)[0]
            event.setdefault(name, line.split(":", 1)[1])


def _instant(value: str) -> datetime.datetime:
    return datetime.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)


def strict_parse(data: bytes) -> Any:
    """Run every check; returns the icalendar Calendar."""
    import icalendar
    import vobject
    from ical import calendar_stream as ical_stream

    own_checks(data)
    calendar = icalendar.Calendar.from_ical(data)
    errors = [(component.name, component.errors) for component in calendar.walk() if component.errors]
    assert not errors, errors
    for event in calendar.walk("VEVENT"):
        assert event.decoded("DTEND") > event.decoded("DTSTART")
    ical_stream.IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    parsed = vobject.readOne(data.decode("utf-8"))
    parsed.validate(raiseException=True, complainUnrecognized=False)
    for event in getattr(parsed, "vevent_list", []):
        assert event.dtstart.value < event.dtend.value
    return calendar
