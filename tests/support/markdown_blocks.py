"""The fenced code blocks of the project's Markdown (README.md, docs/*.md)."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")


def code_blocks(language, text=None, path=README):
    """[(line number of the block's first line, code)] of the ```language
    blocks of `text` (by default, of the file at `path`)."""
    if text is None:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    blocks, code, start = [], None, 0
    for number, line in enumerate(text.splitlines(), 1):
        if code is None and line.strip() == f"```{language}":
            code, start = [], number + 1
        elif code is not None and line.strip() == "```":
            blocks.append((start, "\n".join(code) + "\n"))
            code = None
        elif code is not None:
            code.append(line)
    return blocks
