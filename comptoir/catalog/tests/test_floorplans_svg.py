"""The floor plan's SVG: a pure function of the plan, its spaces, their states and the URL builders."""

from xml.etree import ElementTree

from comptoir.catalog import occupancy, svg
from comptoir.catalog.models import FloorPlan, Space

NS = {"svg": "http://www.w3.org/2000/svg"}


def square(x: float, y: float, size: float = 100) -> list[list[float]]:
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size]]


def make(names_states, *, with_shape=True):
    spaces, states = [], {}
    for index, (name, state) in enumerate(names_states, start=1):
        spaces.append(Space(pk=index, name=name, shape=square(index * 110, 50) if with_shape else None))
        states[index] = state
    return spaces, states


def plan(**kwargs) -> FloorPlan:
    return FloorPlan(name=kwargs.pop("name", "Rez-de-chaussée"), width=1000, height=600, **kwargs)


def parse(image: str) -> ElementTree.Element:
    return ElementTree.fromstring(image)  # well-formed: every text was escaped


def test_viewbox_polygons_links_colors_and_titles():
    spaces, states = make(
        [("Bureau 1", occupancy.FREE), ("Bureau 2", occupancy.OCCUPIED), ("Bureau 3", occupancy.RESERVED),
         ("Bureau 4", occupancy.UNAVAILABLE)]
    )  # fmt: skip
    image = svg.render(plan(), spaces, states, space_url=lambda s: f"/spaces/{s.pk}/")
    root = parse(image)

    assert root.get("viewBox") == "0 0 1000 600"
    links = root.findall("svg:a", NS)
    assert [link.get("href") for link in links] == ["/spaces/1/", "/spaces/2/", "/spaces/3/", "/spaces/4/"]
    polygons = root.findall("svg:a/svg:polygon", NS)
    assert len(polygons) == 4
    assert [p.get("fill") for p in polygons] == ["#198754", "#dc3545", "#fd7e14", "#6c757d"]
    assert polygons[0].get("points") == "110,50 210,50 210,150 110,150"
    titles = [link.find("svg:title", NS).text for link in links]
    assert titles == ["Bureau 1 — Libre", "Bureau 2 — Occupé", "Bureau 3 — Réservé", "Bureau 4 — Indisponible"]
    labels = root.findall("svg:a/svg:text", NS)
    assert labels[0].text == "Bureau 1" and (labels[0].get("x"), labels[0].get("y")) == ("160", "100")


def test_legend_counts_each_state():
    spaces, states = make([("A", occupancy.FREE), ("B", occupancy.FREE), ("C", occupancy.OCCUPIED)])
    root = parse(svg.render(plan(), spaces, states, space_url=lambda s: None))
    legend = root.find("svg:g[@class='legend']", NS)
    texts = [text.text for text in legend.findall("svg:text", NS)]
    assert texts == ["Libre (2)", "Occupé (1)", "Réservé (0)", "Indisponible (0)"]


def test_names_are_escaped():
    spaces, states = make([('<script>alert("x")</script>', occupancy.FREE)])
    image = svg.render(
        plan(name="<b>Plan</b> & co"), spaces, states, space_url=lambda s: '/x/?a=1&b="2"',
        background_url="/bg/?v=1&x=<y>",
    )  # fmt: skip
    assert "<script>" not in image and "<b>" not in image
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in image
    root = parse(image)
    assert root.find("svg:title", NS).text == "<b>Plan</b> & co"
    assert root.find("svg:a", NS).get("href") == '/x/?a=1&b="2"'
    assert root.find("svg:image", NS).get("href") == "/bg/?v=1&x=<y>"


def test_spaces_without_shape_are_not_drawn_and_an_empty_plan_says_so():
    spaces, states = make([("A", occupancy.FREE)], with_shape=False)
    root = parse(svg.render(plan(), spaces, states, space_url=lambda s: "/s/"))
    assert root.findall(".//svg:polygon", NS) == []
    assert root.find("svg:g[@class='legend']", NS) is None
    assert root.find("svg:text[@class='empty']", NS).text == "Aucun espace n’est encore dessiné sur ce plan."


def test_no_link_when_the_url_builder_gives_none():
    spaces, states = make([("A", occupancy.FREE)])
    root = parse(svg.render(plan(), spaces, states, space_url=lambda s: None))
    assert root.findall("svg:a", NS) == [] and len(root.findall("svg:g/svg:polygon", NS)) == 1


def test_centroid_of_an_l_shape_lies_in_its_mass():
    x, y = svg.centroid([[0, 0], [200, 0], [200, 100], [100, 100], [100, 200], [0, 200]])
    assert round(x, 3) == round(y, 3) == round(500 / 6, 3)
    assert svg.centroid([[0, 0], [10, 0], [20, 0]]) == (10, 0)  # degenerate: the mean


def test_coordinates_are_written_short():
    space = Space(pk=1, name="A", shape=[[0.0, 10.5], [100.126, 0], [-0.001, 50]])
    root = parse(svg.render(plan(), [space], {1: occupancy.FREE}, space_url=lambda s: None))
    assert root.find("svg:g/svg:polygon", NS).get("points") == "0,10.5 100.13,0 0,50"
