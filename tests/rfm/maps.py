"""Segment maps for the RFM tests: the classic map as pandas users write it, a 3-bin map."""

from __future__ import annotations

import re

# The classic R x F map as the pandas recipe writes it: regex over the "RF" score string.
CLASSIC = {
    r"[1-2][1-2]": "Hibernating",
    r"[1-2][3-4]": "At Risk",
    r"[1-2]5": "Can't Lose",
    r"3[1-2]": "About to Sleep",
    r"33": "Need Attention",
    r"[3-4][4-5]": "Loyal Customers",
    r"41": "Promising",
    r"51": "New Customers",
    r"[4-5][2-3]": "Potential Loyalist",
    r"5[4-5]": "Champions",
}


def classic_segment(r: int, f: int) -> str:
    return next(name for pattern, name in CLASSIC.items() if re.fullmatch(pattern, f"{r}{f}"))


THREE_BIN_MAP = """
bins: 3
segments:
  - {name: Best, r: 3, f: "2-3", description: recent and frequent, actions: [reward]}
  - {name: New, r: 3, f: 1, description: recent first order, actions: [welcome]}
  - {name: Cooling, r: 2, f: 1-3, description: middle recency, actions: [remind]}
  - {name: Lost, r: 1, f: "1-3", description: long gone, actions: [win back]}
"""
