"""Cost of a call from a price table: USD per one million input and output tokens.

The built-in table is a starting point with list prices; `gateway.prices` in the config
overrides or adds models. Unknown models cost None (not zero) so that nobody mistakes
"unknown" for "free".
"""

from __future__ import annotations

PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-3.5-turbo": (0.50, 1.50),
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
}


def cost_usd(model: str | None, input_tokens: int | None, output_tokens: int | None,
             table: dict[str, tuple[float, float]] | None = None) -> float | None:
    """USD for one call, matching the longest known model-name prefix."""
    if not model:
        return None
    prices = {**PRICES, **(table or {})}
    name = max((k for k in prices if model == k or model.startswith(k + "-")), key=len,
               default=None)
    if name is None:
        return None
    pin, pout = prices[name]
    return round(((input_tokens or 0) * pin + (output_tokens or 0) * pout) / 1e6, 8)
