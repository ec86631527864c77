#!/usr/bin/env python3
"""Turns the comments that document tapegrad's public headers into Doxygen comments.

    python3 tools/doc_comments.py tapegrad            # every public header under tapegrad/ (not detail/)
    python3 tools/doc_comments.py --check tapegrad    # only report what would change (exit 1 if anything)
    python3 tools/doc_comments.py a.hpp b.hpp         # just these files

Doxygen reads `///` comments and ignores plain `//` ones. In the given headers this rewrites
  - the file's opening comment block into a `/// \\file` block (the file's documentation);
  - a run of `//` lines directly above a declaration (no blank line between) into `///` lines;
  - a trailing `// ...` after a member or declaration (and its continuation lines, aligned under it) into
    `///< ...`;
and leaves everything else alone: comments inside function bodies, comments separated from the next
declaration by a blank line, `}  // namespace x`, and `// ──` section banners (a banner stays a plain
comment; only the lines below the last banner of a run document the declaration). Code is never changed:
only the comment part of a line is rewritten.

What Doxygen would misread in a comment is made literal, so that the reference builds without warnings:
  - runs of indented lines (formulas, tables, examples: text indented two or more columns more than the
    rest of the block) are fenced with `~~~` lines, which Doxygen prints as written (as C++ when they look
    like a C++ example, else as plain text); indented lists (`- item`) stay Markdown lists;
  - elsewhere, outside `code spans` and "quoted strings", a `<` that would open an HTML/XML tag (<name>,
    optim.m.<param>; not Module<T> or <omp.h>) and a backslash, `@`, `#`, `::`, `%` or `&` that would start
    a Doxygen command, link or entity get a backslash;
  - in a block's first sentence (its brief), `e.g. ` and `i.e. ` become `e.g.\\ `, or the brief would end
    there.
Banners inside the file's opening block become `### Title` headings of the file's documentation (left as
plain comments they would split it, and the part below would document the next declaration instead).

Idempotent: a converted header converts to itself (`///` lines are never rewritten again).
Standard library only.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys

BANNER_RE = re.compile(r"^──")  # the text of a `// ── Section ──` banner starts with a box-drawing line
ACCESS_RE = re.compile(r"^(?:public|private|protected)\s*:(?!:)")
DECL_SCOPE_RE = re.compile(r'^(?:inline\s+)?(?:namespace\b|extern\s*"|(?:class|struct|union|enum)\b)')
TEMPLATE_HEAD_RE = re.compile(r"\btemplate\s*<")


# ── Reading a line: its code (string literals blanked), and its // comment ──


class Line:
    """One source line split into the code part and the `//` comment part (if any)."""

    def __init__(self, text: str):
        self.text = text
        self.code = ""          # code with string/char literal contents blanked (for brace counting)
        self.comment_col = -1   # column of the `//` that starts a line comment, -1 if none
        self.in_block = False   # the line starts inside a /* */ comment

    @property
    def stripped(self) -> str:
        return self.text.strip()

    @property
    def is_blank(self) -> bool:
        return not self.stripped

    @property
    def is_comment_only(self) -> bool:
        """Only a // comment on this line (nothing else, not inside a block comment)."""
        return self.comment_col >= 0 and not self.text[: self.comment_col].strip() and not self.in_block

    @property
    def is_preprocessor(self) -> bool:
        return self.stripped.startswith("#") and not self.in_block

    @property
    def comment(self) -> str:
        """The comment text after the slashes: `// x` -> ` x`, `/// x` -> ` x` (marker excluded)."""
        return self.text[self.comment_col :]

    @property
    def has_code(self) -> bool:
        return bool(self.code.strip())


def split_lines(text: str) -> list[Line]:
    """Splits into Lines, finding where each line's // comment starts (outside strings and /* */)."""
    out = []
    in_block = False
    for raw in text.split("\n"):
        line = Line(raw)
        line.in_block = in_block
        code = []
        i, n = 0, len(raw)
        quote = ""
        while i < n:
            c = raw[i]
            if in_block:
                if raw.startswith("*/", i):
                    in_block = False
                    code.append("  ")
                    i += 2
                else:
                    code.append(" ")
                    i += 1
            elif quote:
                if c == "\\" and i + 1 < n:
                    code.append("  ")
                    i += 2
                elif c == quote:
                    code.append(c)
                    quote = ""
                    i += 1
                else:
                    code.append(" ")
                    i += 1
            elif raw.startswith("//", i):
                line.comment_col = i
                break
            elif raw.startswith("/*", i):
                in_block = True
                code.append("  ")
                i += 2
            elif c in "\"'":
                # a digit separator (1'000) is not a character literal
                if c == "'" and i > 0 and raw[i - 1].isalnum() and i + 1 < n and raw[i + 1].isalnum():
                    code.append(" ")
                else:
                    quote = c
                    code.append(c)
                i += 1
            else:
                code.append(c)
                i += 1
        line.code = "".join(code)
        out.append(line)
    return out


# ── Scopes: which lines are in a namespace/class/enum body (declarations) or in a function body ──


def strip_template_heads(prefix: str) -> str:
    """Removes `template <...>` heads (balanced angle brackets) from a statement prefix."""
    while True:
        m = TEMPLATE_HEAD_RE.search(prefix)
        if not m:
            return prefix
        depth, j = 1, m.end()
        while j < len(prefix) and depth:
            if prefix[j] == "<":
                depth += 1
            elif prefix[j] == ">":
                depth -= 1
            j += 1
        prefix = prefix[: m.start()] + " " + prefix[j:]


def scope_opened(prefix: str) -> str:
    """What a `{` after this statement prefix opens: "enum", "decl" (namespace, class, struct, union,
    extern "C") or "code" (a function body, an initializer, a lambda)."""
    p = strip_template_heads(prefix).strip()
    while True:  # access specifiers and attributes before the declaration
        m = ACCESS_RE.match(p)
        if m:
            p = p[m.end() :].strip()
            continue
        if p.startswith("[["):
            end = p.find("]]")
            p = p[end + 2 :].strip() if end >= 0 else ""
            continue
        break
    if not DECL_SCOPE_RE.match(p):
        return "code"
    return "enum" if p.startswith("enum") else "decl"


def declaration_scopes(lines: list[Line]) -> tuple[list[bool], list[bool], list[bool]]:
    """For every line: is it in a declaration scope (file, namespace, class, enum) at its start, at its
    end, and is it in an enum's body at its end?"""
    stack: list[str] = []
    prefix = ""
    at_start, at_end, in_enum = [], [], []
    for line in lines:
        at_start.append("code" not in stack)
        if not line.is_preprocessor:
            for c in line.code:
                if c == "{":
                    stack.append("code" if "code" in stack else scope_opened(prefix))
                    prefix = ""
                elif c == "}":
                    if stack:
                        stack.pop()
                    prefix = ""
                elif c == ";":
                    prefix = ""
                else:
                    prefix += c
            prefix += " "
        at_end.append("code" not in stack)
        in_enum.append(bool(stack) and stack[-1] == "enum")
    return at_start, at_end, in_enum


# ── Making comment text literal for Doxygen ──

# Doxygen reads neither commands nor markup inside `code spans` and "double-quoted strings" (on one line).
PROTECTED_RE = re.compile(r'(`[^`]*`|"[^"]*")')
# `<name>`, `</name>`, `<name attr>`: an HTML/XML tag to Doxygen, which warns about the ones it does not
# know. After an identifier (`Module<T>`, `W<x>`) it is a template argument, which Doxygen leaves alone, and
# `<tapegrad/x.hpp>`, `<omp.h>` are not tags either.
TAG_RE = re.compile(r"(?<!\w)<(?=/?[A-Za-z_]\w*(?:\s[^<>]*)?/?>)")


def escape_doxygen(text: str) -> str:
    """Makes comment text literal where Doxygen would read a command, a link, an entity or a tag."""
    parts = PROTECTED_RE.split(text)
    for k in range(0, len(parts), 2):  # even parts are outside code spans and quotes
        s = parts[k]
        s = s.replace("\\", "\\\\")                   # \x: a command
        s = re.sub(r"@(?=\w)", r"\\@", s)              # @x: a command
        s = re.sub(r"#(?=[A-Za-z_])", r"\\#", s)        # #name: a link request
        s = re.sub(r"(?<![\w>)\]])::(?=\w)", r"\\::", s)  # ::name: a link request
        s = re.sub(r"%(?=[A-Za-z_])", r"\\%", s)        # %word: % is dropped
        s = re.sub(r"&(?=#?\w+;)", r"\\&", s)          # &name;: an entity
        s = TAG_RE.sub(r"\\<", s)                       # <name>: a tag
        parts[k] = s
    return "".join(parts)


# ── The rewrites ──


def comment_body(line: Line) -> str:
    """The text after `//`, e.g. ' x' for '// x'."""
    return line.comment[2:]


def is_banner(line: Line) -> bool:
    return BANNER_RE.match(comment_body(line).strip()) is not None


def is_doc(line: Line) -> bool:
    """Already a Doxygen comment (///, //!)."""
    return line.comment.startswith("///") or line.comment.startswith("//!")


def indent_of(body: str) -> int:
    return len(body) - len(body.lstrip(" "))


# A fenced block: Doxygen shows its lines as written (no commands, no markup); C++ highlighted and linked
# when the lines look like a C++ example, plain text otherwise (formulas, layouts, messages). Not
# \\verbatim: Doxygen 1.9.4 loses track of a \\verbatim block that follows a blank line and an earlier
# one ("unexpected command endverbatim").
FENCE_CODE, FENCE_TEXT, FENCE_END = "~~~{.cpp}", "~~~{.unparsed}", "~~~"


def looks_like_code(bodies: list[str]) -> bool:
    """C++ example lines: ASCII (formulas use ·, ×, ←, Σ) and the last one ends a statement or a block (its
    own // comment aside)."""
    rows = [re.sub(r"\s//.*$", "", b).strip() for b in bodies]
    rows = [r for r in rows if r]
    return bool(rows) and all(r.isascii() for r in rows) and rows[-1].endswith((";", "{", "}"))


ABBREVIATION_RE = re.compile(r"\b(e\.g\.|i\.e\.|etc\.|vs\.) ")
SENTENCE_END_RE = re.compile(r"[.?!](?:\s|$)")


def protect_brief(body: str) -> tuple[str, bool]:
    """In the first sentence of a block (its brief, JAVADOC_AUTOBRIEF), `e.g. ` would end the brief: make
    it `e.g.\\ `. Returns the body and whether the first sentence ended on this line."""
    body = ABBREVIATION_RE.sub(lambda m: m.group(1) + "\\ ", body)
    plain = ABBREVIATION_RE.sub("", body.replace("\\ ", " "))
    return body, SENTENCE_END_RE.search(PROTECTED_RE.sub("", plain)) is not None


def rewrite_block(lines: list[Line], idx: list[int]) -> dict[int, list[str]]:
    """`//` lines idx (none a banner) → `///` lines: indented runs fenced (~~~), lists left as Markdown,
    the rest escaped. Returns, for each line index, its replacement lines."""
    lead = {i: lines[i].text[: lines[i].comment_col] for i in idx}
    bodies = {i: comment_body(lines[i]) for i in idx}
    base = min((indent_of(b) for b in bodies.values() if b.strip()), default=1)
    indented = {i: bool(bodies[i].strip()) and indent_of(bodies[i]) >= base + 2 for i in idx}
    out: dict[int, list[str]] = {}
    in_brief = True
    k = 0
    while k < len(idx):
        i = idx[k]
        if not indented[i]:
            body = escape_doxygen(bodies[i])
            if in_brief and body.strip():
                body, ended = protect_brief(body)
                in_brief = not ended
            elif not body.strip():
                in_brief = False  # a blank line ends the first paragraph
            out[i] = [lead[i] + "///" + body]
            k += 1
            continue
        in_brief = False
        # The run: consecutive indented lines, and blank lines between two of them.
        end = k
        while end + 1 < len(idx) and idx[end + 1] == idx[end] + 1:
            nxt = idx[end + 1]
            if indented[nxt] or (
                not bodies[nxt].strip() and end + 2 < len(idx) and idx[end + 2] == nxt + 1 and indented[idx[end + 2]]
            ):
                end += 1
            else:
                break
        run = idx[k : end + 1]
        if re.match(r"^(?:[-*+]|\d+\.)\s", bodies[i].strip()):  # a list reads well as Markdown
            for j in run:
                out[j] = [lead[j] + "///" + escape_doxygen(bodies[j])]
        else:
            fence = FENCE_CODE if looks_like_code([bodies[j] for j in run]) else FENCE_TEXT
            for n, j in enumerate(run):
                rows = [lead[j] + "///" + bodies[j]]
                if n == 0:
                    rows.insert(0, lead[j] + "/// " + fence)
                if n == len(run) - 1:
                    rows.append(lead[j] + "/// " + FENCE_END)
                out[j] = rows
        k = end + 1
    return out


def convert(text: str) -> tuple[str, dict[str, int]]:
    lines = split_lines(text)
    at_start, at_end, in_enum = declaration_scopes(lines)
    replace: dict[int, list[str]] = {}
    counts = {"file comment": 0, "declaration comments": 0, "trailing comments": 0}
    n = len(lines)

    # 1. The file's opening comment block.
    first = 0
    while first < n and lines[first].is_blank:
        first += 1
    opening_end = first
    while opening_end < n and lines[opening_end].is_comment_only:
        opening_end += 1
    opening = list(range(first, opening_end))
    if opening and not any("\\file" in lines[i].comment for i in opening if is_doc(lines[i])):
        plain = [i for i in opening if not is_doc(lines[i]) and not is_banner(lines[i])]
        block = rewrite_block(lines, plain) if plain else {}
        for i in opening:
            if is_banner(lines[i]):
                title = comment_body(lines[i]).strip().strip("─").strip()
                replace[i] = [lines[i].text[: lines[i].comment_col] + "/// ### " + escape_doxygen(title)]
            elif i in block:
                replace[i] = block[i]
        lead = lines[first].text[: lines[first].comment_col]
        replace[first] = [lead + "/// \\file"] + replace.get(first, [lines[first].text])
        counts["file comment"] += 1

    # 2. Trailing comments after a declaration, with their aligned continuation lines.
    continuation: set[int] = set()
    for i, line in enumerate(lines):
        if i < opening_end or line.comment_col < 0 or line.in_block or not line.has_code:
            continue
        code = line.code.strip()
        if is_doc(line) or is_banner(line) or not comment_body(line).strip():
            continue
        if line.is_preprocessor or code.startswith("}") or code.endswith("{") or ACCESS_RE.match(code):
            continue
        # a declaration ends here (or an enumerator: the last one has no comma)
        if not (at_start[i] and at_end[i]) or not (code[-1] in ";,}" or (in_enum[i] and (code[-1].isalnum() or code[-1] == "_"))):
            continue
        col = line.comment_col
        replace[i] = [line.text[:col] + "///<" + escape_doxygen(comment_body(line))]
        counts["trailing comments"] += 1
        j = i + 1
        while j < n and lines[j].is_comment_only and lines[j].comment_col == col and not is_doc(lines[j]):
            if is_banner(lines[j]):
                break
            replace[j] = [lines[j].text[:col] + "///<" + escape_doxygen(comment_body(lines[j]))]
            continuation.add(j)
            j += 1

    # 3. Comment runs directly above a declaration.
    i = opening_end
    while i < n:
        if not lines[i].is_comment_only or i in continuation:
            i += 1
            continue
        start = i
        while i < n and lines[i].is_comment_only and i not in continuation:
            i += 1
        end = i  # lines[start:end] is the run; lines[end] follows it
        if end >= n or lines[end].is_blank or lines[end].is_preprocessor or lines[end].is_comment_only:
            continue
        nxt = lines[end].code.strip()
        if not at_start[end] or not nxt or nxt.startswith("}") or nxt.startswith("{") or ACCESS_RE.match(nxt):
            continue
        run = list(range(start, end))
        banners = [k for k in run if is_banner(lines[k])]
        if banners:  # only the lines below the last banner document the declaration
            run = [k for k in run if k > banners[-1]]
        plain = [k for k in run if not is_doc(lines[k])]
        if not plain:
            continue
        had_doc = len(plain) != len(run)
        block = rewrite_block(lines, plain) if not had_doc else {
            k: [lines[k].text[: lines[k].comment_col] + "///" + escape_doxygen(comment_body(lines[k]))] for k in plain
        }  # a block partly converted by hand: its new lines only, as they are
        replace.update(block)
        counts["declaration comments"] += 1

    if not replace:
        return text, counts
    out = []
    for k, line in enumerate(lines):
        out.extend(replace.get(k, [line.text]))
    return "\n".join(out), counts


# ── Safety checks, run on every file before it is written ──


def code_of(text: str) -> list[str]:
    """The code of a text: every line but comment-only ones, each without its // comment."""
    return [
        (l.text[: l.comment_col] if l.comment_col >= 0 else l.text).rstrip()
        for l in split_lines(text)
        if not l.is_comment_only
    ]


def check_conversion(before: str, after: str) -> str:
    """'' when `after` has exactly `before`'s code and converts to itself; else what is wrong."""
    if code_of(before) != code_of(after):
        return "the conversion would change code (a bug in doc_comments.py): file left as it was"
    if convert(after)[0] != after:
        return "the conversion is not idempotent here (a bug in doc_comments.py): file left as it was"
    return ""


# ── Files ──


def public_headers(paths: list[str]) -> list[pathlib.Path]:
    files = []
    for p in map(pathlib.Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*.hpp") if "detail" not in f.relative_to(p).parts[:-1])
        elif p.is_file():
            files.append(p)
        else:
            sys.exit(f"doc_comments: {p}: no such file or directory")
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", help="headers, or folders to search for *.hpp (detail/ folders skipped)")
    ap.add_argument("--check", action="store_true", help="change nothing; list the files that would change, exit 1 if any")
    args = ap.parse_args()
    changed = failed = 0
    for f in public_headers(args.paths):
        before = f.read_text(encoding="utf-8")
        after, counts = convert(before)
        if after == before:
            continue
        problem = check_conversion(before, after)
        if problem:
            print(f"{f}: {problem}", file=sys.stderr)
            failed += 1
            continue
        changed += 1
        what = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        if args.check:
            print(f"{f}: would convert ({what})")
        else:
            f.write_text(after, encoding="utf-8")
            print(f"{f}: converted ({what})")
    if failed:
        return 2
    if args.check and changed:
        return 1
    if not changed:
        print("doc_comments: nothing to convert")
    return 0


if __name__ == "__main__":
    sys.exit(main())
