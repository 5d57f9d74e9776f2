"""The README is a front door whose numbers link to the docs pages that measured them, and its tour is scripts/tour.sh.

The docs site itself is checked by ``mkdocs build --strict`` in ``scripts/test.sh`` (pages, links, anchors, API).
"""

import re
import shlex
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """The anchor Python-Markdown's toc extension (MkDocs) gives a heading, after dropping inline Markdown."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("*", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: Path) -> set[str]:
    lines, fenced = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        fenced ^= line.lstrip().startswith("```")
        if not fenced and line.startswith("#"):
            lines.append(_slug(line.lstrip("#")))
    return set(lines)


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else None]


def test_readme_is_a_front_door_of_at_most_200_lines():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200


def test_every_result_in_the_readme_links_to_the_docs_page_that_measured_it():
    text = README.read_text(encoding="utf-8")
    rows = [line for line in _section(text, "Results").splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) > 5
    for row in rows[1:]:  # the header has no numbers
        targets = LINK.findall(row)
        assert targets and all(t.startswith("docs/") for t in targets), f"a result without its docs page: {row}"
    for target in LINK.findall(text):  # every relative link of the README: the file exists, and so does its heading
        if "://" in target:
            continue
        path, _, anchor = target.partition("#")
        page = ROOT / path
        assert page.exists(), f"README links to {path}, which does not exist"
        if anchor:
            assert anchor in _anchors(page), f"README links to {target}: {path} has no heading with that anchor"


def _pdeops_commands(text: str) -> list[list[str]]:
    joined = text.replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.strip().startswith("pdeops ")]


def test_scripts_tour_runs_exactly_the_readme_tour():
    tour = _section(README.read_text(encoding="utf-8"), "A tour in minutes")
    block = tour[tour.index("```bash\n") + len("```bash\n") :]
    readme = _pdeops_commands(block[: block.index("```")])
    script = (ROOT / "scripts" / "tour.sh").read_text(encoding="utf-8").replace('"$DIR', '"tour')
    assert [c[:2] for c in readme] == [["pdeops", verb] for verb in ("generate", "info", "fit", "evaluate", "rollout")]
    assert _pdeops_commands(script) == readme
