"""The documentation holds together: the README is a short landing page that still declares the Space, every
relative link and #anchor in it, in docs/ and in tests/README.md lands on a file or heading of the repository,
and docs/architecture.md's layout names every module of the engine and the UI."""

import re
from pathlib import Path

from testkit.tiny import REPO

README_MAX_LINES = 250
LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def documents() -> list[Path]:
    return [REPO / "README.md", REPO / "tests" / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, each with its inline code removed (links there are not links)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(INLINE_CODE.sub("", line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (word characters, spaces and hyphens kept),
    spaces turned into hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading anchors by its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor in a Markdown file; a repeated heading gets -1, -2, … as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(path.read_text()):
        if match := HEADING.match(line):
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(path: Path, root: Path = REPO) -> list[str]:
    """The relative links of one Markdown file that point at no file under `root`, or at no heading of it."""
    broken = []
    for line in prose_lines(path.read_text()):
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto: — not ours to check
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.is_relative_to(root.resolve()) or not linked.exists():
                broken.append(f"{target}: not a file in the repository")
            elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
                broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    return broken


def test_every_relative_link_and_anchor_resolves():
    assert len(documents()) >= 6  # the README, tests/README.md and at least 4 pages in docs/
    for path in documents():
        assert not broken_links(path), (path.relative_to(REPO), broken_links(path))


def test_the_link_check_catches_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# A page\n\n## What it holds: the parts\n")
    (tmp_path / "README.md").write_text(
        "# Landing\n\n[fine](docs/page.md#what-it-holds-the-parts) [self](#landing) [web](https://example.org/x)\n"
        "`[code](not/checked.md)`\n\n```\n[fenced](not/checked.md)\n```\n"
        "[gone](docs/missing.md) [wrong](docs/page.md#the-parts) [outside](../../etc/hosts)\n"
    )
    assert broken_links(tmp_path / "README.md", root=tmp_path) == [
        "docs/missing.md: not a file in the repository", "docs/page.md#the-parts: no heading #the-parts in page.md",
        "../../etc/hosts: not a file in the repository",
    ]


def test_anchors_follow_githubs_rule():
    assert slug("Exact toy worlds: proof that the engine samples the paper's algorithm") == (
        "exact-toy-worlds-proof-that-the-engine-samples-the-papers-algorithm")
    assert slug("Int8's gain by batch width") == "int8s-gain-by-batch-width"
    assert slug("`python -m gsi_core` and [its options](cli.md)") == "python--m-gsi_core-and-its-options"


def test_the_readme_is_a_short_landing_page_that_still_declares_the_space():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move material to docs/"
    end = lines.index("---", 1)
    front = dict(line.split(": ", 1) for line in lines[1:end])
    gradio_pin = re.search(r"^gradio==(\S+)$", (REPO / "requirements.txt").read_text(), re.MULTILINE).group(1)
    assert lines[0] == "---" and front["sdk"] == "gradio" and front["app_file"] == "app.py"
    assert front["sdk_version"] == gradio_pin  # Spaces installs this gradio; it must be the one the app is tested on
    for command in ("make app", "make test", "make run"):  # the landing page's commands, one a line
        assert any(line.startswith(command + " ") for line in lines), command


def test_the_layout_names_every_module():
    text = (REPO / "docs" / "architecture.md").read_text()
    layout = text[text.index("## Layout"):]
    layout = layout[layout.index("```") + 3:]
    layout = layout[:layout.index("```")]
    named = set(re.findall(r"^\s*([\w./]+)", layout, re.MULTILINE))
    modules = [p for folder in ("gsi_core", "gsi_ui") for p in (REPO / folder).glob("*.py")
               if not p.name.startswith("__")]
    packages = [p.parent for p in (REPO / "gsi_core").glob("*/__init__.py")]
    assert modules and packages
    missing = [str(p.relative_to(REPO)) for p in modules if p.name not in named]
    missing += [str(p.relative_to(REPO)) for p in packages if f"{p.name}/" not in named]
    assert not missing, f"docs/architecture.md's layout does not name: {missing}"
