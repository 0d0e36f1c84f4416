"""Characters to X keysyms: Latin-1 are their code points, the rest Unicode keysyms."""

import pytest
from Xlib import XK

from kimicua.env.keysym_typer import keysym_of


@pytest.mark.parametrize("char, sym", [
    ("a", 0x61), ("<", XK.XK_less), (">", XK.XK_greater), ("~", XK.XK_asciitilde),
    ("é", XK.XK_eacute), ("\xa0", XK.XK_nobreakspace),
    ("€", 0x010020AC), ("日", 0x010065E5), ("😀", 0x0101F600),
    ("\n", XK.XK_Return), ("\r", XK.XK_Return), ("\t", XK.XK_Tab),
    ("\b", XK.XK_BackSpace), ("\x1b", XK.XK_Escape),
])
def test_keysym_of(char, sym):
    assert keysym_of(char) == sym


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x7f", "\x85"])
def test_control_characters_without_a_key_are_refused(char):
    with pytest.raises(ValueError, match="control character"):
        keysym_of(char)
