"""How the console adapts to the terminal it draws on: no colour, fewer colours, ASCII only.

Each is a Textual `LineFilter` over every line a widget renders (borders, tables, sparklines,
text from logs alike), so no screen can slip a colour or a character past it.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from rich.cells import cell_len, split_graphemes
from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter, NoColor

from neural_tui.config import ColorMode

SPARK_RAMP = "_.,-=+*#"
"""The eight block heights of a sparkline (`▁` .. `█`), lowest first, in ASCII."""
ASCII_FOR: dict[int, str] = {
    **{ord(block): SPARK_RAMP[i] for i, block in enumerate("▁▂▃▄▅▆▇█")},
    **dict(zip(map(ord, (
        "\u00b7\u2022\u203a\u2039\u00bb\u00ab\u2026\u25b2\u25bc\u25b6"
        "\u25c0\u25ba\u25c4\u2191\u2193\u2192\u2190\u2014\u2013\u2010"
        "\u2212\u00d7\u2265\u2264\u2248\u00b1\u00b0\u00b5\u03bc\u2713"
        "\u2717\u2714\u2718\u201c\u201d\u2594\u2595\u258f\u258e\u258d"
        "\u258c\u2590\u2591\u2592\u2593\u2580\u258a\u258b\u2589\u25a0"
        "\u25a1\u25cf\u25cb\u25c6\u25c7\u00a0\u2018\u2019"
    )), (
        '-*><><~^v>'
        '<><^v><---'
        '-x><~+ouuv'
        'xvx""-||||'
        '||.:#-####'
        "ooo*o ''"
    ), strict=True)),
}
"""Characters the console draws, as one ASCII character each (so every line keeps its
width); box drawing and braille are handled by their Unicode blocks (`ascii_char`)."""


@lru_cache(maxsize=4096)
def ascii_char(char: str) -> str:
    """ASCII for `char`, as many cells wide as Textual measures it (a wide character gives
    two, a zero-width one none)."""
    known = ASCII_FOR.get(ord(char))
    if known is not None:
        return known
    code = ord(char)
    if 0x2500 <= code <= 0x257F:
        return _box_char(unicodedata.name(char, ""))
    if 0x2800 <= code <= 0x28FF:
        return "." if code == 0x2800 else "#"
    if 0x2580 <= code <= 0x259F:
        return "#"
    width = cell_len(char)
    if width == 0:
        return ""  # a combining mark, a zero-width space: what Textual measures as nothing
    decomposed = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return (decomposed[:1] or "?") * width


def _box_char(name: str) -> str:
    """`+` at corners and crossings, `-` for horizontal lines, `|` for vertical ones."""
    if "DIAGONAL" in name:
        return "/" if "UPPER RIGHT TO LOWER LEFT" in name else "\\"
    across = any(word in name for word in ("HORIZONTAL", "LEFT", "RIGHT"))
    upright = any(word in name for word in ("VERTICAL", " UP", " DOWN"))
    if across and not upright:
        return "-"
    if upright and not across:
        return "|"
    return "+"


@lru_cache(maxsize=4096)
def to_ascii(text: str) -> str:
    """`text` with every grapheme outside ASCII replaced by its first character's
    `ascii_char`, as many cells wide as Rich laid the grapheme out (an emoji sequence joined
    by zero-width joiners is one grapheme of 2 cells; a zero-width space takes none)."""
    if text.isascii():
        return text
    spans, _ = split_graphemes(text)
    return "".join(_ascii_grapheme(text[start:end], cells) for start, end, cells in spans)


def _ascii_grapheme(grapheme: str, cells: int) -> str:
    if grapheme.isascii():
        return grapheme
    first = grapheme[0]
    char = first if first.isascii() else ascii_char(first)[:1] or "?"
    return char * cells


class AsciiOnly(LineFilter):
    """Draws every character in ASCII: borders as `+-|`, sparklines as `_.,-=+*#`."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [Segment(to_ascii(text), style, control) for text, style, control in segments]


class FewerColors(LineFilter):
    """Draws with the 16 standard colours, or the 256 of the xterm palette: every colour
    becomes the nearest one of the palette."""

    def __init__(self, system: ColorSystem, enabled: bool = True) -> None:
        super().__init__(enabled=enabled)
        self.system = system

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [Segment(text, None if style is None else _downgraded(style, self.system), control)
                for text, style, control in segments]


@lru_cache(maxsize=1024)
def _downgraded(style: Style, system: ColorSystem) -> Style:
    color = style.color.downgrade(system) if style.color is not None else None
    bgcolor = style.bgcolor.downgrade(system) if style.bgcolor is not None else None
    return style + Style.from_color(color, bgcolor)


def line_filters(color: ColorMode, *, ascii_only: bool) -> list[LineFilter]:
    """The filters for `[console] color` and `ascii` (`auto` and `truecolor` need none: the
    terminal's colours, which Textual detects, and `NO_COLOR`, which Textual honours)."""
    filters: list[LineFilter] = []
    if color == "none":
        filters.append(NoColor())
    elif color == "16":
        filters.append(FewerColors(ColorSystem.STANDARD))
    elif color == "256":
        filters.append(FewerColors(ColorSystem.EIGHT_BIT))
    if ascii_only:
        filters.append(AsciiOnly())
    return filters
