import base64
import re

import pandas as pd

from custseg.layer3_stages.report.html import (
    Image,
    Section,
    TableColumn,
    data_uri,
    key_figures_html,
    render_page,
    table_html,
)

TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_data_uri_round_trips_the_png():
    uri = data_uri(TINY_PNG)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == TINY_PNG


def test_table_escapes_text_formats_numbers_and_lists_actions():
    frame = pd.DataFrame(
        {
            "segment": ["<Champions> & co"],
            "customers": [12345],
            "actions": ["Say <thanks>\nInvite"],
            "note": [None],
        }
    )
    html = table_html(
        frame,
        [
            TableColumn("segment", "Segment"),
            TableColumn("customers", "Customers", lambda v: f"{v:,}", numeric=True),
            TableColumn("actions", "Actions", lines=True),
            TableColumn("note", "Note"),
        ],
    )
    assert "<td>&lt;Champions&gt; &amp; co</td>" in html
    assert '<td class="number">12,345</td>' in html
    assert "<ul><li>Say &lt;thanks&gt;</li><li>Invite</li></ul>" in html
    assert html.endswith("<td></td></tr></tbody></table>")


def test_page_embeds_images_and_has_no_external_references_or_scripts():
    sections = [
        Section(
            "one",
            "First <section>",
            paragraphs=("Hello & welcome",),
            images=(Image("a.png", TINY_PNG, "alt text", "a caption"),),
        ),
        Section(
            "two",
            "Second",
            notes=("Nothing yet",),
            tables=(key_figures_html([("customers", "12")]),),
        ),
    ]
    page = render_page("Title", "Subtitle", sections, footer="made by tests")
    assert page.startswith("<!DOCTYPE html>")
    assert '<section id="one">' in page and "<h2>First &lt;section&gt;</h2>" in page
    assert f'src="{data_uri(TINY_PNG)}"' in page
    assert '<a href="#two">Second</a>' in page
    assert '<p class="note">Nothing yet</p>' in page
    assert "<b>12</b>customers" in page
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["'](https?:|//)""", page)
    assert "@import" not in page and "url(" not in page
