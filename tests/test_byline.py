"""The visible byline reader (pipelines/extract/byline.py): strict byline lines, and their removal from the text."""
from __future__ import annotations

import pytest
from lxml.html import fromstring

from pipelines.extract.byline import byline_names, drop_byline_lines, name_line, visible_byline


@pytest.mark.parametrize(("line", "expected"), [
    ("Par Claire Dubois", ["Claire Dubois"]),
    ("Posted on March 3, 2024 by Sam Whitaker", ["Sam Whitaker"]),
    ("Von Anna Berger und Jan Roe, 12.03.2024", ["Anna Berger", "Jan Roe"]),
    ("di Mario Rossi", ["Mario Rossi"]),
    ("door Haye Kesteloo", ["Haye Kesteloo"]),
    ("By Jane Roe | Staff Writer", ["Jane Roe"]),
    ("Autorin/Autor Roman Goncharenko", ["Roman Goncharenko"]),
    ("By Reuters", ["Reuters"]),  # after "by", a single name (an agency) is a byline too
    # sentences and names that start with a byline word are not bylines
    ("Par ailleurs, le gouvernement a annoncé un plan", []),
    ("Von Montag an gilt die neue Regel", []),
    ("Di Maio", []),  # "di" is a surname particle here: one word after an ambiguous byline word is no byline
    ("By the way, the council met", []),
    ("By " + "Jane Roe " * 40, []),  # too long for a byline line
])
def test_byline_names(line: str, expected: list[str]) -> None:
    assert byline_names(line) == expected


def test_visible_byline_reads_the_word_and_the_name_in_separate_elements() -> None:
    tree = fromstring("<html><body><article><h1>Title</h1><p><span>By</span> <a href='/p/jr'>Jane Roe</a></p>"
                      "<p>By the way, this is a long paragraph of the article that starts like a byline.</p>"
                      "</article></body></html>")
    assert visible_byline(tree) == ["Jane Roe"]


def test_name_line_needs_names_alone_in_bold() -> None:
    tree = fromstring("<html><body><p><strong>Mathatisi Sebusi/Mohalenyane Phakela</strong></p>"
                      "<p>A Chinese-owned quarry has come under fire.</p></body></html>")
    text = "Mathatisi Sebusi/Mohalenyane Phakela\nA Chinese-owned quarry has come under fire."
    assert name_line(tree, text) == ["Mathatisi Sebusi", "Mohalenyane Phakela"]
    plain = fromstring("<html><body><p>Mathatisi Sebusi/Mohalenyane Phakela</p><p>A quarry.</p></body></html>")
    assert name_line(plain, text) == []  # not shown in bold alone: a line of the text
    assert name_line(tree, "Key points of the plan\nA quarry.") == []


def test_drop_byline_lines_only_when_the_names_are_the_authors() -> None:
    text = "Par Claire Dubois\nLe conseil municipal a adopté le plan.\nSuite."
    assert drop_byline_lines(text, ["Claire Dubois"]) == "Le conseil municipal a adopté le plan.\nSuite."
    assert drop_byline_lines(text, ["Jean Martin"]) == text  # another byline: kept, the authors came elsewhere
    assert drop_byline_lines(text, []) == text
    # roles beside the name in the line do not keep it; a byline below the first three lines stays
    assert drop_byline_lines("By Jane Roe, Staff Writer\nText.", ["Jane Roe"]) == "Text."
    assert drop_byline_lines("A\nB\nC\nBy Jane Roe", ["Jane Roe"]) == "A\nB\nC\nBy Jane Roe"
    # the names alone as the first line
    assert drop_byline_lines("Mohloai Mpesi\nIN the heart of Lesotho.", ["Mohloai Mpesi"]) == "IN the heart of Lesotho."
