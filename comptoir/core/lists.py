"""The reusable back office list page.

Given a queryset from a selector, columns, a django-filter FilterSet, search fields and sortable columns,
`ListPage(request, ...).response()` renders `manage/list.html` (or only its `results` partial for HTMX)
or streams the filtered list as CSV (`?export=csv`).

- Pagination is keyset ("cursor") pagination over (sort value, pk): an opaque signed cursor, the same
  cost at any depth, "next" / "previous" links. A bad or stale cursor is ignored (first page).
- Counts are exact up to settings.LIST_COUNT_LIMIT, then shown as "1 000+" (a COUNT over a LIMITed
  subquery, so its cost is bounded too).
- The number of SQL queries does not depend on the number of rows (the selector brings the related
  rows with select_related / prefetch_related; pinned in tests).

    def center_list(request):
        return ListPage(
            request,
            queryset=selectors.centers_for(request.user, request.organization),
            columns=[Column("name", _("Nom"), sort="name", link=True), Column("city", _("Ville"), sort="city")],
            filterset_class=CenterFilter,
            search_fields=["name", "code", "city"],
            default_sort="name",
            title=_("Centres"),
            export_name="centres",
        ).response()
"""

from __future__ import annotations

import csv
import datetime
import decimal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.template import Context
from django.template.loader import select_template
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from comptoir.core.forms import style_form
from comptoir.core.money import format_money

SORT_PARAM = "sort"
CURSOR_PARAM = "cursor"
SEARCH_PARAM = "q"
EXPORT_PARAM = "export"
RESULTS_ID = "list-results"
SORT_ANNOTATION = "list_sort_value"
EXPORT_CHUNK_SIZE = 2000
MAX_SEARCH_TERMS = 6
MAX_SEARCH_LENGTH = 100
_CURSOR_SALT = "comptoir.lists.cursor"
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One column of a list.

    key       name of the column (and of the `?sort=` value when sortable)
    label     header (French msgid)
    accessor  dotted attribute path ("user.email") or a callable(row); defaults to `key`
    sort      ORM path to sort by ("user__last_name"); None = not sortable. Use non-unique,
              single-valued paths (no to-many relations); ties are broken by pk.
    kind      text | bool | date | datetime | money | number | list | badge  (how the cell is shown)
    link      the cell links to the row's page
    template  a template for the cell (context: row, value, column)
    render    callable(row) giving the cell's HTML (a SafeString): a template's work without its cost
    data      the cell shows stored data (a name, a title, notes), not interface text: marked translate="no"
    export    callable(row) giving the CSV value; False leaves the column out of the CSV
    """

    key: str
    label: Promise | str
    accessor: str | Callable[[Any], Any] | None = None
    sort: str | None = None
    kind: str = "text"
    link: bool = False
    template: str | None = None
    export: Callable[[Any], Any] | bool | None = None
    true_label: Promise | str | None = None
    false_label: Promise | str | None = None
    css_class: str = ""
    data: bool = False
    render: Callable[[Any], SafeString] | None = None

    def value(self, row: Any) -> Any:
        if callable(self.accessor):
            return self.accessor(row)
        value = row
        for part in (self.accessor or self.key).split("."):
            if value is None:
                return None
            value = getattr(value, part)
            if isinstance(value, models.Manager):
                value = list(value.all())
            elif callable(value):
                value = value()
        return value

    @property
    def in_export(self) -> bool:
        return self.export is not False

    def export_value(self, row: Any) -> str:
        value = self.export(row) if callable(self.export) else self.value(row)
        if self.kind == "date" and isinstance(value, datetime.datetime):
            value = (timezone.localtime(value) if timezone.is_aware(value) else value).date()
        return plain_text(value, true_label=self.true_label, false_label=self.false_label)


def plain_text(value: Any, *, true_label: Any = None, false_label: Any = None) -> str:
    """A value as a spreadsheet cell: French dates and decimals, no formula injection."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(true_label or _("Oui")) if value else str(false_label or _("Non"))
    if isinstance(value, datetime.datetime):
        return formats.date_format(
            timezone.localtime(value) if timezone.is_aware(value) else value, "SHORT_DATETIME_FORMAT"
        )
    if isinstance(value, datetime.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, decimal.Decimal | float):
        return str(value).replace(".", formats.get_format("DECIMAL_SEPARATOR"))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple | set):
        return ", ".join(plain_text(item) for item in value)
    text = str(value)
    if text.startswith(_FORMULA_PREFIXES):
        text = "'" + text
    return text


@dataclass
class Header:
    column: Column
    url: str | None
    direction: str | None  # "asc" | "desc" | None (not the sort column)

    @property
    def aria_sort(self) -> str:
        return {"asc": "ascending", "desc": "descending"}.get(self.direction or "", "none")


@dataclass
class Cell:
    column: Column
    value: Any

    def html(self, url: str | None) -> SafeString | None:
        """The cell's content as HTML, or None for a column shown by its own template."""
        column = self.column
        if column.template:
            return None
        content = column.render(self.value) if column.render is not None else _cell_content(column, self.value)
        if column.data and self.value not in (None, ""):
            content = f'<span translate="no">{content}</span>'
        if column.link and url:
            content = f'<a class="row-link" href="{escape(url)}">{content}</a>'
        return mark_safe(content)  # every piece is escaped above or by _cell_content


_DASH = mark_safe('<span class="text-body-tertiary">—</span>')


def _local(value: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def _cell_content(column: Column, value: Any) -> SafeString:
    """What manage/list.html shows for each column kind, rendered here: a list page has hundreds of cells
    and the template engine would spend most of the page's time on them."""
    kind = column.kind
    if kind == "bool":
        if value:
            return format_html(
                '<span class="badge rounded-pill text-bg-success">{}</span>', column.true_label or _("Oui")
            )
        return format_html(
            '<span class="badge rounded-pill text-bg-secondary">{}</span>', column.false_label or _("Non")
        )
    if kind == "date" or kind == "datetime":
        if not value:
            return mark_safe("—")
        if isinstance(value, datetime.datetime):
            value = _local(value)
        return conditional_escape(
            formats.date_format(value, "SHORT_DATE_FORMAT" if kind == "date" else "SHORT_DATETIME_FORMAT")
        )
    if kind == "money":
        return conditional_escape(format_money(value) or "—")
    if kind == "list":
        return conditional_escape(", ".join(str(item) for item in value) if value else "—")
    if kind == "badge":
        return format_html('<span class="badge text-bg-light border">{}</span>', value)
    if value is None or value == "":
        return _DASH
    if isinstance(value, datetime.datetime):
        value = _local(value)
    return conditional_escape(formats.localize(value))


@dataclass
class Row:
    obj: Any
    url: str | None
    cells: list[Cell]

    def render(self, context: Context) -> SafeString:
        """The row's <td> cells: the `{% list_row %}` tag of manage/list.html. A column with a template is
        rendered as `{% include %}` would (the page's context, plus row, value and column)."""
        parts = []
        for cell in self.cells:
            column = cell.column
            content = cell.html(self.url)
            if content is None:
                template = context.template.engine.get_template(column.template)  # type: ignore[union-attr]
                with context.push(row=self.obj, value=cell.value, column=column):
                    content = template.render(context)
                if column.link and self.url:
                    content = format_html('<a class="row-link" href="{}">{}</a>', self.url, content)
            parts.append(f'<td class="{escape(column.css_class)}">{content}</td>')
        return mark_safe("".join(parts))  # contents are safe HTML, the class is escaped


@dataclass(frozen=True)
class Sort:
    key: str
    field: str
    descending: bool

    @property
    def param(self) -> str:
        return f"-{self.key}" if self.descending else self.key


# --------------------------------------------------------------------------------------------------
# Keyset pagination
# --------------------------------------------------------------------------------------------------
def _encode_value(value: Any) -> list[Any]:
    if isinstance(value, datetime.datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, datetime.date):
        return ["d", value.isoformat()]
    if isinstance(value, datetime.time):
        return ["t", value.isoformat()]
    if isinstance(value, decimal.Decimal):
        return ["dec", str(value)]
    if value is None or isinstance(value, bool | int | float | str):
        return ["v", value]
    return ["v", str(value)]


def _decode_value(tagged: Any) -> Any:
    tag, raw = tagged
    if tag == "dt":
        return datetime.datetime.fromisoformat(raw)
    if tag == "d":
        return datetime.date.fromisoformat(raw)
    if tag == "t":
        return datetime.time.fromisoformat(raw)
    if tag == "dec":
        return decimal.Decimal(raw)
    if tag == "v":
        return raw
    raise ValueError(tag)


def make_cursor(sort: Sort, direction: str, value: Any, pk: Any) -> str:
    """An opaque, signed cursor: the position (sort value, pk) of a row, and where to go from it."""
    return signing.dumps([sort.param, direction, _encode_value(value), pk], salt=_CURSOR_SALT, compress=True)


def read_cursor(raw: str, sort: Sort) -> tuple[str, Any, Any] | None:
    """(direction, value, pk), or None for a missing, forged, stale or malformed cursor."""
    if not raw:
        return None
    try:
        sort_param, direction, tagged, pk = signing.loads(raw, salt=_CURSOR_SALT)
        if sort_param != sort.param or direction not in ("n", "p") or not isinstance(pk, int | str):
            return None
        return direction, _decode_value(tagged), pk
    except (signing.BadSignature, ValueError, TypeError, decimal.InvalidOperation):
        return None


def sort_is_nullable(model: type[models.Model], path: str) -> bool:
    """Whether an ORM path can be NULL (a nullable field or relation on the way); unknown paths count as nullable."""
    opts = model._meta
    for part in path.split("__"):
        if part == "pk":
            return False
        try:
            field = opts.get_field(part)
        except FieldDoesNotExist:
            return True
        if getattr(field, "null", False) or field.many_to_many or field.one_to_many:
            return True
        if field.is_relation:
            opts = field.related_model._meta
    return False


def keyset_condition(field: str, value: Any, pk: Any, *, greater: bool, nullable: bool = True) -> Q:
    """Rows strictly after (value, pk) in ascending (`greater`) or descending order.

    NULL sorts highest, as PostgreSQL does natively (so its indexes serve both directions); for
    non-nullable sort fields no NULL clause is added at all.
    """
    if greater:
        if value is None:
            return Q(**{f"{field}__isnull": True, "pk__gt": pk})
        condition = Q(**{f"{field}__gt": value}) | Q(**{field: value, "pk__gt": pk})
        return condition | Q(**{f"{field}__isnull": True}) if nullable else condition
    if value is None:
        return Q(**{f"{field}__isnull": True, "pk__lt": pk}) | Q(**{f"{field}__isnull": False})
    return Q(**{f"{field}__lt": value}) | Q(**{field: value, "pk__lt": pk})


def keyset_ordering(field: str, *, ascending: bool, nullable: bool = True) -> list[Any]:
    if ascending:
        return [F(field).asc(nulls_last=True) if nullable else F(field).asc(), F("pk").asc()]
    return [F(field).desc(nulls_first=True) if nullable else F(field).desc(), F("pk").desc()]


@dataclass
class Page:
    rows: list[Any]
    has_next: bool
    has_previous: bool
    next_cursor: str | None
    previous_cursor: str | None


def keyset_page(queryset: QuerySet, sort: Sort, cursor: str | None, page_size: int) -> Page:
    """One page of `queryset` in `sort` order, from an opaque cursor: one query, at any depth."""
    nullable = sort_is_nullable(queryset.model, sort.field)
    queryset = queryset.annotate(**{SORT_ANNOTATION: F(sort.field)})
    position = read_cursor(cursor or "", sort)
    forward = position is None or position[0] == "n"
    greater = (not sort.descending) == forward
    if position is not None:
        _direction, value, pk = position
        queryset = queryset.filter(keyset_condition(SORT_ANNOTATION, value, pk, greater=greater, nullable=nullable))
    ordering = keyset_ordering(SORT_ANNOTATION, ascending=greater, nullable=nullable)
    rows = list(queryset.order_by(*ordering)[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    if not forward:
        rows.reverse()
    has_next = more if forward else True
    has_previous = position is not None if forward else more
    return Page(
        rows=rows,
        has_next=bool(rows) and has_next,
        has_previous=bool(rows) and has_previous,
        next_cursor=make_cursor(sort, "n", getattr(rows[-1], SORT_ANNOTATION), rows[-1].pk) if rows else None,
        previous_cursor=make_cursor(sort, "p", getattr(rows[0], SORT_ANNOTATION), rows[0].pk) if rows else None,
    )


def bounded_count(queryset: QuerySet, limit: int | None = None) -> tuple[int, bool]:
    """(count, exact): the exact count up to `limit` rows, else (limit, False). Counts a LIMITed subquery."""
    limit = settings.LIST_COUNT_LIMIT if limit is None else limit
    counted = queryset.order_by().values("pk")[: limit + 1].count()
    return (counted, True) if counted <= limit else (limit, False)


def count_label(count: int, exact: bool) -> str:
    label = formats.number_format(count, force_grouping=True)
    return label if exact else f"{label}+"


# --------------------------------------------------------------------------------------------------
# The list page
# --------------------------------------------------------------------------------------------------
class _Echo:
    """A file-like object for csv.writer: hands each line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


class ListPage:
    template_name = "manage/list.html"
    partial_name = "results"

    def __init__(
        self,
        request: HttpRequest,
        *,
        queryset: QuerySet,
        columns: Sequence[Column],
        title: Promise | str,
        default_sort: str,
        filterset_class: Any = None,
        search_fields: Sequence[str] = (),
        search_placeholder: Promise | str | None = None,
        page_size: int = 50,
        export_name: str | None = None,
        create_url: str | None = None,
        create_label: Promise | str | None = None,
        empty_message: Promise | str | None = None,
        row_url: Callable[[Any], str | None] | None = None,
        template_name: str | None = None,
        intro_template: str | None = None,
        extra_context: dict[str, Any] | None = None,
    ) -> None:
        self.request = request
        self.base_queryset = queryset
        self.columns = list(columns)
        self.title = title
        self.filterset_class = filterset_class
        self.search_fields = list(search_fields)
        self.search_placeholder = search_placeholder
        self.page_size = page_size
        self.export_name = export_name
        self.create_url = create_url
        self.create_label = create_label
        self.empty_message = empty_message
        self.row_url = row_url or (lambda obj: obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else None)
        if template_name:
            self.template_name = template_name
        self.intro_template = intro_template
        self.extra_context = extra_context or {}
        self.sortable = {column.key: column for column in self.columns if column.sort}
        self.default_sort = default_sort
        self.sort = self._resolve_sort(request.GET.get(SORT_PARAM, ""))
        raw_search = request.GET.get(SEARCH_PARAM, "").replace("\x00", "")  # PostgreSQL refuses NUL characters
        self.search = " ".join(raw_search.split())[:MAX_SEARCH_LENGTH]
        self.filterset = None
        if filterset_class is not None:
            data = request.GET if any(name in request.GET for name in filterset_class.base_filters) else None
            self.filterset = filterset_class(data, queryset=queryset, request=request)
            style_form(self.filterset.form)

    # -- the query -------------------------------------------------------------------------------
    def _resolve_sort(self, raw: str) -> Sort:
        for candidate in (raw, self.default_sort):
            descending = candidate.startswith("-")
            column = self.sortable.get(candidate[1:] if descending else candidate)
            if column is not None:
                return Sort(key=column.key, field=column.sort, descending=descending)  # type: ignore[arg-type]
        raise ValueError(f"default_sort {self.default_sort!r} is not a sortable column")

    def filtered_queryset(self) -> QuerySet:
        queryset = self.filterset.qs if self.filterset is not None else self.base_queryset
        for term in self.search.split()[:MAX_SEARCH_TERMS]:
            condition = Q()
            for name in self.search_fields:
                condition |= Q(**{f"{name}__icontains": term})
            queryset = queryset.filter(condition)
        return queryset

    @property
    def is_filtered(self) -> bool:
        if self.search:
            return True
        if self.filterset is None or not self.filterset.is_bound or not self.filterset.is_valid():
            return False
        return any(value not in (None, "", []) for value in self.filterset.form.cleaned_data.values())

    # -- URLs ------------------------------------------------------------------------------------
    def url_with(self, **changes: str | None) -> str:
        params: QueryDict = self.request.GET.copy()
        params.pop(EXPORT_PARAM, None)
        for key, value in changes.items():
            params.pop(key, None)
            if value:
                params[key] = value
        encoded = params.urlencode()
        return f"{self.request.path}?{encoded}" if encoded else self.request.path

    def headers(self) -> list[Header]:
        headers = []
        for column in self.columns:
            if not column.sort:
                headers.append(Header(column, None, None))
                continue
            current = column.key == self.sort.key
            direction = ("desc" if self.sort.descending else "asc") if current else None
            next_param = column.key if not current or self.sort.descending else f"-{column.key}"
            headers.append(Header(column, self.url_with(**{SORT_PARAM: next_param, CURSOR_PARAM: None}), direction))
        return headers

    # -- rendering -------------------------------------------------------------------------------
    def rows(self, objects: list[Any]) -> list[Row]:
        return [
            Row(obj, self.row_url(obj), [Cell(column, column.value(obj)) for column in self.columns]) for obj in objects
        ]

    def get_context(self) -> dict[str, Any]:
        queryset = self.filtered_queryset()
        count, exact = bounded_count(queryset)
        page = keyset_page(queryset, self.sort, self.request.GET.get(CURSOR_PARAM), self.page_size)
        context = {
            "page": self,
            "title": self.title,
            "headers": self.headers(),
            "rows": self.rows(page.rows),
            "count": count,
            "count_exact": exact,
            "count_label": count_label(count, exact),
            "has_next": page.has_next,
            "has_previous": page.has_previous,
            "next_url": self.url_with(**{CURSOR_PARAM: page.next_cursor}) if page.has_next else None,
            "previous_url": self.url_with(**{CURSOR_PARAM: page.previous_cursor}) if page.has_previous else None,
            "export_url": self.url_with(**{EXPORT_PARAM: "csv", CURSOR_PARAM: None}) if self.export_name else None,
            "reset_url": self.request.path,
            "is_filtered": self.is_filtered,
            "filter_form": self.filterset.form if self.filterset is not None else None,
            "search": self.search,
            "sort_param": self.sort.param,
            "results_id": RESULTS_ID,
        }
        context.update(self.extra_context)
        return context

    def response(self) -> HttpResponse:
        if self.request.GET.get(EXPORT_PARAM) == "csv" and self.export_name:
            return self.csv_response()
        htmx = getattr(self.request, "htmx", None)
        if htmx and not htmx.history_restore_request and htmx.target == RESULTS_ID:
            # A page extending manage/list.html without its own results partial uses the base one.
            template = select_template([f"{self.template_name}#{self.partial_name}",
                                        f"manage/list.html#{self.partial_name}"])  # fmt: skip
            return HttpResponse(template.render(self.get_context(), self.request))
        return render(self.request, self.template_name, self.get_context())

    # -- CSV export ------------------------------------------------------------------------------
    def export_queryset(self) -> QuerySet:
        queryset = self.filtered_queryset()
        nullable = sort_is_nullable(queryset.model, self.sort.field)
        queryset = queryset.annotate(**{SORT_ANNOTATION: F(self.sort.field)})
        return queryset.order_by(
            *keyset_ordering(SORT_ANNOTATION, ascending=not self.sort.descending, nullable=nullable)
        )

    def csv_lines(self) -> Iterator[str]:
        """The whole filtered list: a UTF-8 BOM and `;` so that a French Excel opens it as is."""
        columns = [column for column in self.columns if column.in_export]
        writer = csv.writer(_Echo(), delimiter=";")
        yield "\ufeff" + writer.writerow([str(column.label) for column in columns])
        for obj in self.export_queryset().iterator(chunk_size=EXPORT_CHUNK_SIZE):
            yield writer.writerow([column.export_value(obj) for column in columns])

    def csv_response(self) -> StreamingHttpResponse:
        language = translation.get_language()
        lines = self.csv_lines()

        def stream() -> Iterator[str]:
            with translation.override(language):
                yield from lines

        response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
        filename = f"{self.export_name}-{timezone.localdate():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response
