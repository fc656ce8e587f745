"""Where a solution stops and what its final answer is: the last `\\boxed{…}` with balanced braces."""

from __future__ import annotations

_BOX_COMMANDS = ("\\boxed", "\\fbox")


def _boxed_contents(text: str) -> list[str]:
    found = []
    for command in _BOX_COMMANDS:
        start = text.find(command)
        while start != -1:
            i = start + len(command)
            while i < len(text) and text[i] == " ":
                i += 1
            if i < len(text) and text[i] == "{":
                depth, j = 0, i
                while j < len(text):
                    depth += {"{": 1, "}": -1}.get(text[j], 0)
                    if depth == 0:
                        found.append((start, text[i + 1 : j]))
                        break
                    j += 1
            start = text.find(command, start + 1)
    return [content for _, content in sorted(found)]


def extract_boxed_answer(text: str) -> str | None:
    """The content of the last complete `\\boxed{…}` (or `\\fbox{…}`), stripped; None if there is none."""
    contents = _boxed_contents(text)
    return contents[-1].strip() if contents else None


def has_boxed_answer(text: str) -> bool:
    return bool(_boxed_contents(text))

