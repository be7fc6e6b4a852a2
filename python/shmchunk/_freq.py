"""An index freq as stored in a segment: pandas' freqstr ("D", "-2h", "W-SUN", "QE-DEC").

to_offset parses every freqstr back to its offset but one: Week(weekday=None), whose
freqstr "W" / "<n>W" parses as W-SUN. Both directions go through here, so that one
exception is written once (the C pickle writer's weekless() mirrors it for unpack).
"""

from __future__ import annotations

import re

_WEEKLESS = re.compile(r"(-?[0-9]{0,9})W")  # |n| < 1e9, as pack reads offsets


def offset_of(text: str):
    """The pandas offset a stored freq string stands for (ValueError if pandas has none)."""
    import pandas as pd
    from pandas.tseries.frequencies import to_offset
    m = _WEEKLESS.fullmatch(text)
    if m and m.group(1) not in ("-", "-0", "0"):
        return pd.offsets.Week(int(m.group(1) or 1), weekday=None)
    return to_offset(text)
