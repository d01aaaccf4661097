"""docs/webhooks.md lists the event types as the registry has them."""

from pathlib import Path

from webhooks.event_types import EVENT_TYPES

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def test_the_table_of_event_types_is_the_registry():
    text = DOC.read_text()
    table = text.split("<!-- event types: begin -->")[1].split("<!-- event types: end -->")[0]
    rows = [line.split("|")[1:4] for line in table.strip().splitlines()[2:]]
    documented = {name.strip().strip("`"): (when.strip(), member.strip()) for name, when, member in rows}
    assert documented == {name: (t.description, "yes" if t.membership else "") for name, t in EVENT_TYPES.items()}
