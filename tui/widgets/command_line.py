"""The command line: ``/long btc 0.1 10x iso``. Parses what is typed and posts it up.

A line that does not parse is explained here, in one line under the prompt, and stays for
fixing. One that parses goes up as :class:`tui.messages.CommandEntered`; whoever runs it
answers with :meth:`CommandLine.finish`: an error (shown, the line kept) or ``None`` (the line
closes). Until then further Enters are ignored, so a double Enter runs a command once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Static

from tui.commands import CommandError, complete, parse
from tui.messages import CommandEntered
from tui.widgets.plain import Plain

PLACEHOLDER = "long btc 0.1 10x iso   (Enter to run, Esc to close, /help)"


class CommandSuggester(Suggester):
    """Greyed-out completion of commands and market symbols (→ accepts it)."""

    def __init__(
        self,
        markets: Callable[[], Collection[str]],
        order_ids: Callable[[], Collection[int]] = tuple,
    ) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.markets = markets
        self.order_ids = order_ids

    async def get_suggestion(self, value: str) -> str | None:
        found = complete(value, self.markets(), self.order_ids())
        return found[0] if found else None


class CommandLine(Vertical):
    """A one-line prompt with its error line above it; hidden until :meth:`open`."""

    DEFAULT_CSS = """
    CommandLine { height: auto; display: none; }
    CommandLine.-open { display: block; }
    CommandLine #command-error { color: $error; padding: 0 1; height: auto; }
    CommandLine #command-error.-empty { display: none; }
    CommandLine #command-line { height: 1; background: $boost; }
    CommandLine #command-prompt { width: 2; padding: 0 0 0 1; color: $accent; text-style: bold; }
    CommandLine #command { border: none; height: 1; padding: 0 1 0 0; background: $boost; }
    """

    class Closed(Message):
        """The line closed (run, or Esc): the screen puts the focus back where it belongs."""

    def __init__(
        self,
        markets: Callable[[], Collection[str]],
        *,
        id: str | None = None,
        order_ids: Callable[[], Collection[int]] = tuple,
    ) -> None:
        super().__init__(id=id)
        self.markets = markets
        self.order_ids = order_ids
        self.running = False
        """A command went up and has not been answered yet."""

    def compose(self) -> ComposeResult:
        yield Plain("", id="command-error", classes="-empty")
        with Horizontal(id="command-line"):
            yield Plain("/", id="command-prompt")
            yield Input(
                placeholder=PLACEHOLDER,
                id="command",
                select_on_focus=False,  # focus can land after fast typing: keep the text
                suggester=CommandSuggester(self.markets, self.order_ids),
            )

    @property
    def input(self) -> Input:
        return self.query_one("#command", Input)

    def open(self) -> None:
        self.add_class("-open")
        self.display = True
        # Focus now, not after a refresh: keys typed right after "/" belong to the input.
        self.screen.set_focus(self.input)

    def close(self) -> None:
        self.remove_class("-open")
        self.display = False
        self.running = False
        self.show_error("")
        self.input.value = ""
        self.post_message(self.Closed())

    def show_error(self, message: str) -> None:
        error = self.query_one("#command-error", Static)
        error.update(message)
        error.set_class(not message, "-empty")

    def finish(self, error: str | None) -> None:
        """The answer to a :class:`CommandEntered`: show ``error``, or close when done."""
        self.running = False
        if error:
            self.show_error(error)
        else:
            self.close()

    @on(Input.Submitted, "#command")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.running or event.value != event.input.value:
            return  # a second Enter from the same read: the line already went up
        text = event.value.strip()
        if not text:
            self.close()
            return
        try:
            command = parse(text, list(self.markets()))
        except CommandError as exc:
            self.show_error(str(exc))
            return
        self.running = True
        self.post_message(CommandEntered(command, self))
