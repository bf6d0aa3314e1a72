"""The footer of every screen: the keys that fit its width, each whole, quit and help always."""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

ALWAYS_SHOWN = frozenset({"quit", "help"})
"""The actions whose keys no width leaves out: with `?`, every other key is one press away."""


class KeyFooter(Footer):
    """Textual's compact footer, which cuts the row at its width (mid-word at 80 columns), with
    the keys that do not fit left out whole: the later first, never quit's or help's.

    The help (`?`) lists every key, so a key left out here is only a press away.
    """

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)

    async def recompose(self) -> None:
        """Textual recomposes the footer each time the bindings change (its first compose,
        before they are known, is empty); the keys are fitted before the next frame."""
        await super().recompose()
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Keeps the keys in their order, quit and help first served; a key too wide for the
        room left is left out, and a later, narrower one may still fit."""
        keys = list(self.query_children(FooterKey))
        room = self.size.width - sum(_width(key) for key in keys if key.action in ALWAYS_SHOWN)
        for key in keys:
            if key.action in ALWAYS_SHOWN:
                continue
            key.display = _width(key) <= room
            if key.display:
                room -= _width(key)


def _width(key: FooterKey) -> int:
    """Columns the key takes in the row, its margin included (so that the row never scrolls)."""
    return key.render().cell_len + key.styles.margin.width
