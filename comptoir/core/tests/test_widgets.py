"""The Python-rendered select writes what Django's select template writes."""

import re

from django import forms

from comptoir.core.widgets import DataSelect, Select


def _normalized(html: str) -> str:
    return re.sub(r">\s+<", "><", html).strip()


class Choices(forms.Form):
    plain = forms.ChoiceField(
        choices=[("", "Tous"), ("a", "Atelier <b>&</b> co"), ("Groupe", [("b", "B"), ("c", "C")])], required=False
    )


def test_the_same_html_as_django_template_for_options_groups_and_selection():
    choices = Choices().fields["plain"].choices
    attrs = {"class": "form-select", "disabled": True, "data-x": False}
    for value in ("b", "", "zzz"):
        expected = forms.Select(attrs=attrs, choices=choices).render("plain", value, attrs={"id": "id_plain"})
        ours = Select(attrs=attrs, choices=choices).render("plain", value, attrs={"id": "id_plain"})
        assert _normalized(ours) == _normalized(expected)
    # the label is escaped, the selected option marked
    html = Select(choices=[("a", "Atelier <b>&</b> co")]).render("plain", "a")
    assert "Atelier &lt;b&gt;&amp;&lt;/b&gt; co" in html
    assert '<option value="a" selected>' in html


def test_data_options_are_not_translated_but_the_empty_label_is():
    html = DataSelect(choices=[("", "Tous"), ("1", "Centre Opéra")]).render("center", "")
    assert '<option value="" selected>Tous</option>' in html
    assert '<option value="1" translate="no">Centre Opéra</option>' in html
