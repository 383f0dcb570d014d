"""Every "§" reference in the code names a document in the repository and a section that document has.

A reference is written `<path>.md §N` or `<path>.md §N.M` (e.g. `docs/design.md §5`,
`docs/reference/bingx_api.md §9.3`). `§N.M` is a numbered subsection (`### N.M`) or item M of the numbered
list in section N.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"([\w./-]+\.md) §\s?(\d+)(?:\.(\d+))?")
ANY_SECTION_SIGN = re.compile(r"§")


def sources() -> list[Path]:
    return sorted([*REPO.glob("dolphin_nautilus/**/*.py"), *REPO.glob("tests/**/*.py")])


def sections(doc: Path) -> tuple[set[str], dict[str, int]]:
    """Numbered headings ("5", "5.3") and, per top section, how many numbered list items it has."""
    headings: set[str] = set()
    items: dict[str, int] = {}
    current = ""
    for line in doc.read_text().splitlines():
        heading = re.match(r"#{2,4} (\d+(?:\.\d+)*)[. ]", line)
        if heading:
            headings.add(heading.group(1))
            current = heading.group(1).split(".")[0]
            continue
        item = re.match(r"(\d+)\. ", line)
        if item and current:
            items[current] = max(items.get(current, 0), int(item.group(1)))
    return headings, items


def test_every_section_reference_points_into_a_document_of_the_repository():
    problems = []
    cache: dict[Path, tuple[set[str], dict[str, int]]] = {}
    for path in sources():
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            found = list(REFERENCE.finditer(line))
            if len(found) != line.count("§"):
                problems.append(f"{path.relative_to(REPO)}:{number}: a § without a document path: {line.strip()}")
            for match in found:
                doc = REPO / match.group(1)
                if not doc.is_file():
                    problems.append(f"{path.relative_to(REPO)}:{number}: no document {match.group(1)}")
                    continue
                headings, items = cache.setdefault(doc, sections(doc))
                top, sub = match.group(2), match.group(3)
                ok = top in headings and (sub is None or f"{top}.{sub}" in headings or int(sub) <= items.get(top, 0))
                if not ok:
                    problems.append(f"{path.relative_to(REPO)}:{number}: {match.group(0)} is not a section there")
    assert not problems, "\n".join(problems)


def test_the_checker_sees_a_bad_reference(tmp_path):
    doc = tmp_path / "d.md"
    doc.write_text("## 1. One\n\n1. item\n2. item\n\n### 1.5 Sub\n")
    headings, items = sections(doc)
    assert headings == {"1", "1.5"} and items == {"1": 2}
